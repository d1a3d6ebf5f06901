"""Errors as GraphQL sees them: the ``OkPayError`` type and the code mapping.

Mutations return ``errors: [OkPayError!]!`` (field, message, code), the
Saleor convention. Queries raise :class:`CodedError`; the view puts its code
in the error's ``extensions.code``. Messages are the core's ``user_message``
texts, never OKPAY's raw fault text.
"""

from __future__ import annotations

from dataclasses import dataclass

import graphene

from okpay_gateway import exceptions, payments

from .enums import OkPayErrorCode


class OkPayError(graphene.ObjectType):
    """One problem with a request."""

    field = graphene.String(description="The argument it is about, if any.")
    message = graphene.String(required=True)
    code = graphene.Field(OkPayErrorCode, required=True)


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """The Python side of an ``OkPayError``."""

    code: str
    message: str
    field: str | None = None


PERMISSION_MESSAGE = "You do not have permission for this."


class CodedError(Exception):
    """Raised by query resolvers; ``graphql_code`` becomes ``extensions.code``."""

    graphql_code = "INVALID"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.graphql_code = code


class PermissionDenied(CodedError):
    graphql_code = "PERMISSION_DENIED"

    def __init__(self, message: str = PERMISSION_MESSAGE) -> None:
        super().__init__(message)


# Core exception → error code; the first matching class wins.
_CODES: tuple[tuple[type[exceptions.OkPayError], str], ...] = (
    (exceptions.ConfigurationError, "NOT_CONFIGURED"),
    (exceptions.OutcomeUnknown, "OUTCOME_UNKNOWN"),
    (exceptions.LimitExceeded, "LIMIT_EXCEEDED"),
    (exceptions.InsufficientFunds, "INSUFFICIENT_FUNDS"),
    (exceptions.OperationNotAllowed, "NOT_ALLOWED"),
    (exceptions.InvalidTransition, "NOT_ALLOWED"),
    (exceptions.RenewalConflict, "INVALID"),
    (exceptions.InvalidRequest, "INVALID"),
    (exceptions.LinkError, "INVALID"),
)

# Payment.decline_code (an exception ``code``) → error code.
_DECLINE_CODES = {
    exceptions.LimitExceeded.code: "LIMIT_EXCEEDED",
    exceptions.InsufficientFunds.code: "INSUFFICIENT_FUNDS",
}


def error_for(exc: exceptions.OkPayError, field: str | None = None) -> ErrorItem:
    """The error a core exception stands for."""
    code = next(
        (code for cls, code in _CODES if isinstance(exc, cls)), "PROVIDER_ERROR"
    )
    return ErrorItem(code=code, message=exc.user_message, field=field)


def decline_error(decline_code: str, field: str | None = None) -> ErrorItem:
    """The error for a payment OKPAY declined (``Payment.decline_code``)."""
    return ErrorItem(
        code=_DECLINE_CODES.get(decline_code, "DECLINED"),
        message=payments.decline_message(decline_code),
        field=field,
    )


def not_found(field: str, what: str) -> ErrorItem:
    return ErrorItem(code="NOT_FOUND", message=f"{what} was not found.", field=field)


def permission_denied(field: str | None = None) -> ErrorItem:
    return ErrorItem(code="PERMISSION_DENIED", message=PERMISSION_MESSAGE, field=field)


def invalid(field: str | None, message: str) -> ErrorItem:
    return ErrorItem(code="INVALID", message=message, field=field)
