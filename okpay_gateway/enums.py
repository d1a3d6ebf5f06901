"""The stored enums of the core and billing, without Django.

One enum per stored concept: the models build their field ``choices`` from
these, and the pure billing modules (checked with ``mypy --strict``) compare
against the same members. Each member is a ``str`` (its stored value) with a
human ``label``, the way Django's ``TextChoices`` are, so admin, GraphQL and
migrations see exactly what they saw before.

Wire values of the protocol live in :mod:`okpay_gateway.provider`
(``OkFees``, ``VerificationResult``, ``HostedSubscriptionStatus``); where a
stored concept has a wire spelling, the enum here converts (``FeePayer``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import EnumMeta, StrEnum
from typing import Any

from okpay_gateway.provider.fees import OkFees

__all__ = [
    "CLOSED_CONTRACT_STATUSES",
    "LIVE_SUBSCRIPTION_STATUSES",
    "ChargeAttemptStatus",
    "ContractStatus",
    "DecisionOutcome",
    "FeePayer",
    "LabeledEnum",
    "SubscriptionStatus",
]


class _LabeledMeta(EnumMeta):
    @property
    def choices(cls) -> list[tuple[str, str]]:
        """``[(value, label), ...]`` for a model field."""
        return [(member.value, member.label) for member in _members(cls)]

    @property
    def values(cls) -> list[str]:
        return [member.value for member in _members(cls)]

    @property
    def labels(cls) -> list[str]:
        return [member.label for member in _members(cls)]


def _members(cls: EnumMeta) -> list[LabeledEnum]:
    members: Iterable[object] = cls
    return [member for member in members if isinstance(member, LabeledEnum)]


class LabeledEnum(StrEnum, metaclass=_LabeledMeta):
    """A ``StrEnum`` whose members are declared ``NAME = "value", "Label"``."""

    label: str

    def __new__(cls, value: str, label: str = "") -> LabeledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    def __deepcopy__(self, memo: Any) -> LabeledEnum:
        return self


class SubscriptionStatus(LabeledEnum):
    """Where a subscription stands; the transitions are in :mod:`billing.states`."""

    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due (retrying)"
    SUSPENDED = "suspended", "Suspended"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"


LIVE_SUBSCRIPTION_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.SUSPENDED,
)


class ContractStatus(LabeledEnum):
    """Where a pre-approved agreement stands (``Contract.status``)."""

    PENDING = "pending", "Waiting for the customer"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"


CLOSED_CONTRACT_STATUSES = (
    ContractStatus.FAILED,
    ContractStatus.CANCELED,
    ContractStatus.EXPIRED,
)


class FeePayer(LabeledEnum):
    """Who pays OKPAY's fee on a contract's charges (stored on the contract)."""

    MERCHANT = "merchant", "Merchant"
    CLIENT = "client", "Customer"

    @property
    def ok_fees(self) -> OkFees:
        """The ``ok_fees`` wire value."""
        return OkFees.CLIENT if self is FeePayer.CLIENT else OkFees.MERCHANT

    @classmethod
    def from_ok_fees(cls, value: OkFees | str) -> FeePayer:
        return cls.CLIENT if OkFees(value) is OkFees.CLIENT else cls.MERCHANT


class ChargeAttemptStatus(LabeledEnum):
    """The charge of one subscription period (``ChargeAttempt.status``)."""

    SENDING = "sending", "Written, charge being sent"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    UNKNOWN = "unknown", "Outcome unknown (resolver)"
    NOT_SENT = "not_sent", "Not performed (may be charged again)"


class DecisionOutcome(LabeledEnum):
    """What a renewal run decided for one due subscription."""

    CHARGED = "charged", "Charged"
    SKIPPED = "skipped", "Skipped"
    DECLINED = "declined", "Declined"
    UNKNOWN = "unknown", "Outcome unknown"
    FAILED = "failed", "Failed (not sent, retried next run)"
