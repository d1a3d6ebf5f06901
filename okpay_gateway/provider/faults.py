"""The one place where zeep, requests and lxml errors become ours.

:data:`FAULT_TABLE` maps every OKPAY fault code of okpay-soap-api.md section 4.1
to an exception class and whether retrying the same call may succeed.
:func:`translate_error` applies it and classifies transport failures.

Policy (stated once, here):

* **Faults.** OKPAY puts its code in the SOAP 1.1 ``faultstring``. It is matched
  by equality, except ``Maximum_Amount_Is_`` / ``Minimum_Amount_Is_`` which are
  followed by the limit and are matched by prefix (G2). ``fault_code`` is the
  table key, ``provider_message`` the full faultstring. An unknown code becomes a
  plain :class:`ProviderFault`, not retryable.
* **Retryable faults.** Only ``Internal_Error`` and ``API_Disabled`` (the
  service is down, G1 ``s:Server``). ``Authentication_Failed`` is not
  retryable as such; :class:`~okpay_gateway.provider.client.OkPayClient`
  re-synchronises the token clock and retries it once, money-moving calls
  included: OKPAY refuses the token before it performs anything.
* **Connect failures** (DNS, refused, connect timeout, TLS handshake, proxy):
  :class:`RequestNotSent`, retryable: OKPAY never saw the request.
* **After sending** (read timeout, connection dropped, truncated body, HTTP 5xx
  without a SOAP fault): on a money-moving call :class:`OutcomeUnknown`, *not*
  retryable (the money may have moved; look the operation up by invoice first);
  on any other call a plain :class:`TransportError`, retryable, because a call
  that moves nothing has no outcome to be unsure about.
* **Garbage** (unparseable XML, not an envelope, a reply that does not fit the
  schema, HTTP 4xx without a fault): :class:`ProtocolError`, not retryable.
  On a money-moving call a garbled *200* reply still means the effect is
  unknown; callers treat ``ProtocolError`` from such a call like
  ``OutcomeUnknown`` (look up before retrying).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import requests
import urllib3.exceptions
import zeep.exceptions
from lxml import etree

from okpay_gateway.exceptions import (
    AuthenticationFailed,
    DuplicatePayment,
    InsufficientFunds,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    OkPayError,
    OperationNotAllowed,
    OutcomeUnknown,
    ProtocolError,
    ProviderFault,
    ProviderUnavailable,
    RequestNotSent,
    TransportError,
)

__all__ = [
    "FAULT_TABLE",
    "MONEY_MOVING_OPERATIONS",
    "PREFIX_CODES",
    "classify_fault",
    "fault_from_string",
    "is_money_moving",
    "translate_error",
]

# Fault code -> (exception class, retryable). Grouped as in section 4.1.
FAULT_TABLE: Mapping[str, tuple[type[ProviderFault], bool]] = MappingProxyType(
    {
        # Authentication and security
        "API_Disabled": (ProviderUnavailable, True),
        "API_Function_Disabled": (AuthenticationFailed, False),
        "Invalid_IP_Address": (AuthenticationFailed, False),
        "Authentication_Failed": (AuthenticationFailed, False),
        "Account_API_Disabled": (AuthenticationFailed, False),
        "Access_Denied": (AuthenticationFailed, False),
        "Internal_Error": (ProviderUnavailable, True),
        # Payments and history
        "Payment_Method_Not_Supported": (InvalidRequest, False),
        "Source_Account_Blocked": (OperationNotAllowed, False),
        "Target_Account_Blocked": (OperationNotAllowed, False),
        "Receiver_Not_Found": (NotFound, False),
        "Transaction_Not_Found": (NotFound, False),
        "Currency_Disabled": (InvalidRequest, False),
        "Currency_Not_Found": (InvalidRequest, False),
        "Incorrect_Amount": (InvalidRequest, False),
        "Not_Enough_Money": (InsufficientFunds, False),
        "Limits_Exceeded": (LimitExceeded, False),
        "MoneyTransfer_To_Yourself": (InvalidRequest, False),
        "Duplicate_Payment": (DuplicatePayment, False),
        "Incorrect_Email": (InvalidRequest, False),
        "Function_Is_Obsolete": (OperationNotAllowed, False),
        "Maximum_Amount_Is_": (InvalidRequest, False),
        "Minimum_Amount_Is_": (InvalidRequest, False),
        "Incorrect_Account": (InvalidRequest, False),
        "Incorrect_Parameters": (InvalidRequest, False),
        "Currency_Not_Supported": (InvalidRequest, False),
        # Client verification
        "Account_Not_Found": (NotFound, False),
        "Client_Not_Found": (NotFound, False),
        "Image_Not_Found": (NotFound, False),
        "Client_Access_Denied": (OperationNotAllowed, False),
        # Subscriptions
        "Incompatible_Subscription_Status": (OperationNotAllowed, False),
        "Subscription_Not_Found": (NotFound, False),
        # Pre-approved payments
        "Incompatible_PreapprovedPayment_Status": (OperationNotAllowed, False),
        "PreapprovedPayment_Not_Found": (NotFound, False),
    }
)

# Codes followed by a value (G2); matched by prefix, all others by equality.
PREFIX_CODES: tuple[str, ...] = ("Maximum_Amount_Is_", "Minimum_Amount_Is_")

# Which request field an InvalidRequest code is about (InvalidRequest.field).
_FAULT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "Payment_Method_Not_Supported": "payment_method",
        "Currency_Disabled": "currency",
        "Currency_Not_Found": "currency",
        "Currency_Not_Supported": "currency",
        "Incorrect_Amount": "amount",
        "Maximum_Amount_Is_": "amount",
        "Minimum_Amount_Is_": "amount",
        "MoneyTransfer_To_Yourself": "receiver",
        "Incorrect_Email": "email",
        "Incorrect_Account": "account",
    }
)

MONEY_MOVING_OPERATIONS: frozenset[str] = frozenset(
    {
        "Send_Money",
        "PreapprovedPayment_Charge",
        "PreapprovedPayment_Cancel",
        "Subscription_Update",
        "DebitCard_Prepay",
        "Withdraw_To_Ecurrency",
        "Withdraw_To_Card_RU",
        "Withdraw_To_Card_RU_Full",
        "Withdraw_To_Card_World",
        "Withdraw_To_CryptoCurrency",
    }
)


def is_money_moving(operation: str) -> bool:
    """Whether ``operation`` can change balances or agreements (never auto-retried)."""
    return operation in MONEY_MOVING_OPERATIONS


def classify_fault(faultstring: str | None) -> tuple[str, type[ProviderFault], bool]:
    """``(fault_code, exception class, retryable)`` for an OKPAY faultstring."""
    text = (faultstring or "").strip()
    entry = FAULT_TABLE.get(text)
    if entry is not None:
        return text, entry[0], entry[1]
    for prefix in PREFIX_CODES:
        if text.startswith(prefix):
            cls, retryable = FAULT_TABLE[prefix]
            return prefix, cls, retryable
    return text, ProviderFault, False


def fault_from_string(faultstring: str | None, *, operation: str = "") -> ProviderFault:
    """The exception for a SOAP fault whose faultstring is ``faultstring``."""
    code, cls, retryable = classify_fault(faultstring)
    return cls(
        f"OKPAY fault {code or '(empty)'}",
        fault_code=code,
        operation=operation,
        provider_message=(faultstring or "").strip(),
        retryable=retryable,
        field=_FAULT_FIELDS.get(code),
    )


_NOT_SENT_REASONS = (
    urllib3.exceptions.NewConnectionError,  # refused, DNS (NameResolutionError)
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.SSLError,
    urllib3.exceptions.ProxyError,
)


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Whether a requests error happened before the request left this process."""
    if isinstance(
        exc,
        requests.exceptions.ConnectTimeout
        | requests.exceptions.SSLError
        | requests.exceptions.ProxyError
        | requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader,
    ):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the cause
        return isinstance(reason, _NOT_SENT_REASONS)
    return False


def _after_sending(message: str, operation: str) -> TransportError:
    if is_money_moving(operation):
        return OutcomeUnknown(message, operation=operation, retryable=False)
    return TransportError(message, operation=operation, retryable=True)


def translate_error(exc: BaseException, *, operation: str) -> OkPayError:
    """Our exception for ``exc`` raised while calling ``operation``.

    Use as ``raise translate_error(exc, operation=op) from exc``. Our own
    errors come back unchanged; anything unrecognised becomes a
    :class:`ProtocolError` so no foreign exception leaves the provider layer.
    """
    if isinstance(exc, OkPayError):
        return exc
    if isinstance(exc, zeep.exceptions.Fault):
        if exc.code is None and exc.message == "Unknown fault occured":
            # zeep's words for a non-200 XML reply that holds no Fault element.
            return _after_sending("HTTP error status without a SOAP fault", operation)
        return fault_from_string(exc.message, operation=operation)
    if isinstance(exc, requests.exceptions.RequestException):
        name = type(exc).__name__
        if _never_sent(exc):
            retryable = isinstance(
                exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
            )
            return RequestNotSent(
                f"request not sent ({name})", operation=operation, retryable=retryable
            )
        return _after_sending(f"no answer after sending ({name})", operation)
    if isinstance(exc, zeep.exceptions.TransportError):
        status = exc.status_code or 0
        if status >= 500:
            return _after_sending(f"HTTP {status} without a SOAP fault", operation)
        return ProtocolError(
            f"unusable HTTP {status} reply", operation=operation, retryable=False
        )
    if isinstance(
        exc, zeep.exceptions.Error | etree.LxmlError | ValueError | TypeError
    ):
        return ProtocolError(
            f"reply does not fit the contract ({type(exc).__name__})",
            operation=operation,
            retryable=False,
        )
    return ProtocolError(
        f"unexpected {type(exc).__name__}", operation=operation, retryable=False
    )
