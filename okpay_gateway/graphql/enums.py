"""GraphQL enums: error codes and the stored statuses of the core models.

Status enums are built from the models' ``TextChoices`` so they cannot drift:
the GraphQL name is the stored value in upper case, the enum's value is the
stored value itself (resolvers return model fields unchanged).
"""

from __future__ import annotations

from typing import Any

import graphene

from okpay_gateway.host.payment import ChargeStatus
from okpay_gateway.models import (
    ContractStatus,
    FeePayer,
    IntervalUnit,
    PaymentEventKind,
    PaymentStatus,
    SubscriptionStatus,
)


def _from_choices(name: str, choices: Any, description: str) -> Any:
    members = [(value.upper().replace("-", "_"), value) for value, _ in choices]
    return graphene.Enum(name, members, description=description)


class OkPayErrorCode(graphene.Enum):
    """Why a query or mutation failed; stable, for programs to branch on."""

    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    NOT_ALLOWED = "NOT_ALLOWED"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    DECLINED = "DECLINED"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PAYMENT_ERROR = "PAYMENT_ERROR"
    CHECKOUT_NOT_FULLY_PAID = "CHECKOUT_NOT_FULLY_PAID"


OkPayContractStatus = _from_choices(
    "OkPayContractStatus", ContractStatus.choices, "State of an OKPAY agreement."
)
OkPayPaymentStatus = _from_choices(
    "OkPayPaymentStatus", PaymentStatus.choices, "State of one OKPAY payment."
)
OkPayFeePayer = _from_choices(
    "OkPayFeePayer", FeePayer.choices, "Who pays OKPAY's fee on charges."
)
OkPayLedgerEventKind = _from_choices(
    "OkPayLedgerEventKind", PaymentEventKind.choices, "Kind of a ledger entry."
)
OkPaySubscriptionStatus = _from_choices(
    "OkPaySubscriptionStatus", SubscriptionStatus.choices, "State of a subscription."
)
OkPayIntervalUnit = _from_choices(
    "OkPayIntervalUnit", IntervalUnit.choices, "Unit of a subscription's period."
)
ChargeStatusEnum = _from_choices(
    "ChargeStatusEnum", ChargeStatus.CHOICES, "Charge state of a checkout payment."
)


class StorePaymentMethodEnum(graphene.Enum):
    """Whether the gateway should keep the payment method (Saleor's values)."""

    NONE = "none"
    ON_SESSION = "on_session"
    OFF_SESSION = "off_session"
