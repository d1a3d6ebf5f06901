"""Filter inputs of the list queries and how they narrow a queryset."""

from __future__ import annotations

from typing import Any

import graphene
from django.contrib.auth import get_user_model
from django.db.models import Q

from . import compat
from .enums import OkPayContractStatus, OkPaySubscriptionStatus
from .errors import CodedError

MAX_PAGE = 100


class OkPayContractFilterInput(graphene.InputObjectType):
    """Narrow the agreement list; all given conditions must hold."""

    status = graphene.List(graphene.NonNull(OkPayContractStatus))
    currency = graphene.String()
    search = graphene.String(
        description="Part of the title, invoice, e-mail or wallet; or an OKPAY ID."
    )
    created_from = graphene.Date(description="Created on or after this day.")
    created_to = graphene.Date(description="Created on or before this day.")


class OkPaySubscriptionFilterInput(graphene.InputObjectType):
    """Narrow the subscription list; all given conditions must hold."""

    status = graphene.List(graphene.NonNull(OkPaySubscriptionStatus))
    currency = graphene.String()
    search = graphene.String(description="Part of the title or e-mail.")


def _statuses(values: Any) -> list[str] | None:
    if values is None:
        return None
    return [compat.enum_value(value) for value in values]


def _customer_email(search: str) -> Q:
    email_field = get_user_model().get_email_field_name()
    return Q(**{f"customer__{email_field}__icontains": search})


def filter_contracts(queryset: Any, values: dict[str, Any] | None) -> Any:
    values = values or {}
    statuses = _statuses(values.get("status"))
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    if values.get("currency"):
        queryset = queryset.filter(currency=values["currency"].strip().upper())
    search = (values.get("search") or "").strip()
    if search:
        condition = (
            Q(title__icontains=search)
            | Q(invoice__icontains=search)
            | Q(client_email__icontains=search)
            | Q(client_wallet__icontains=search)
            | _customer_email(search)
        )
        if search.isdigit():
            condition |= Q(okpay_id=int(search))
        queryset = queryset.filter(condition)
    if values.get("created_from"):
        queryset = queryset.filter(created_at__date__gte=values["created_from"])
    if values.get("created_to"):
        queryset = queryset.filter(created_at__date__lte=values["created_to"])
    return queryset


def filter_subscriptions(queryset: Any, values: dict[str, Any] | None) -> Any:
    values = values or {}
    statuses = _statuses(values.get("status"))
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    if values.get("currency"):
        queryset = queryset.filter(currency=values["currency"].strip().upper())
    search = (values.get("search") or "").strip()
    if search:
        queryset = queryset.filter(
            Q(title__icontains=search)
            | Q(email__icontains=search)
            | _customer_email(search)
        )
    return queryset


def page(queryset: Any, first: int, offset: int) -> Any:
    """``first`` rows after ``offset`` (``first`` at most :data:`MAX_PAGE`)."""
    if first < 0 or offset < 0:
        raise CodedError("first and offset must not be negative.", "INVALID")
    if first > MAX_PAGE:
        raise CodedError(f"first may be at most {MAX_PAGE}.", "INVALID")
    return list(queryset[offset : offset + first])
