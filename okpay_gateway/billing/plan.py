"""What to do with one due subscription: a pure function, clock injected.

:func:`plan` looks at the subscription, its current period's attempt, its
contract and what the contract's allowance has left, and returns a
:class:`Plan`. The real run carries the plan out (:mod:`.engine`); ``--dry-run``
only reports it. Both therefore decide the same way, by construction.

Nothing here touches the database or OKPAY; the arguments only need the
attributes named in the protocols below (model instances have them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from okpay_gateway.billing.allowance import ContractLimits, SkipReason, fits
from okpay_gateway.billing.dunning import DunningLadder, cancel_step
from okpay_gateway.enums import (
    CLOSED_CONTRACT_STATUSES,
    ChargeAttemptStatus,
    ContractStatus,
    DecisionOutcome,
    SubscriptionStatus,
)

__all__ = [
    "AWAITING_RESOLUTION",
    "CONTRACT_INACTIVE",
    "DUNNING_CANCELED",
    "DUNNING_SUSPENDED",
    "SUBSCRIPTION_ENDED",
    "SUSPENDED",
    "Allowance",
    "AttemptView",
    "ContractView",
    "Plan",
    "Step",
    "SubscriptionView",
    "is_capped",
    "plan",
]

# Reasons recorded with a skipped or unknown decision, besides SkipReason.
AWAITING_RESOLUTION = "awaiting_resolution"
CONTRACT_INACTIVE = "contract_inactive"
DUNNING_SUSPENDED = "dunning_suspended"
DUNNING_CANCELED = "dunning_canceled"
SUSPENDED = "suspended"
SUBSCRIPTION_ENDED = "subscription_ended"

_IN_FLIGHT = frozenset({ChargeAttemptStatus.SENDING, ChargeAttemptStatus.UNKNOWN})


class SubscriptionView(Protocol):
    pk: int
    status: str
    period_index: int
    amount: Decimal
    currency: str
    ends_at: datetime | None
    suspended_at: datetime | None
    consecutive_failures: int


class AttemptView(Protocol):
    period_index: int
    status: str
    amount: Decimal


class ContractView(Protocol):
    status: str
    okpay_id: int | None
    currency: str
    daily_amount: Decimal | None
    weekly_amount: Decimal | None
    monthly_amount: Decimal | None
    end_date: date | None


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the contract was charged in the windows around ``now``.

    ``charges``: completed charges ``(when, amount)`` since the start of the
    earliest window (only needed for a capped contract); ``available``:
    OKPAY's ``AvailableAmount`` when it was asked.
    """

    charges: Sequence[tuple[datetime, Decimal]] = ()
    available: Decimal | None = None


class Step(StrEnum):
    """What the real run does for a plan."""

    CHARGE = "charge"
    """Write the period's attempt and send the charge."""
    RECORD = "record"
    """Only record the decision."""
    RECORD_CHARGED = "record_charged"
    """The attempt completed but the period did not move on (a crash): apply it."""
    EXPIRE = "expire"
    """The subscription's own term is over: end it."""
    CANCEL = "cancel"
    """The dunning grace after a suspension is over: cancel."""
    HOLD = "hold"
    """Suspended, grace not over: wait for the cancel step (``next_charge_at``)."""
    SUSPEND = "suspend"
    """The dunning retries are used up: suspend."""
    STOP = "stop"
    """The contract is closed: end the subscription for it."""
    CONTRACT_EXPIRED = "contract_expired"
    """The agreement's end date passed: expire the subscription."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The decision for one subscription and the step that carries it out."""

    step: Step
    outcome: DecisionOutcome
    reason: str
    amount: Decimal
    period_index: int
    # HOLD: when to look again (the dunning cancel step), None for never.
    next_charge_at: datetime | None = None


def is_capped(contract: ContractView) -> bool:
    """Whether the contract has a daily/weekly/monthly cap (the ledger matters)."""
    return any(
        cap is not None
        for cap in (
            contract.daily_amount,
            contract.weekly_amount,
            contract.monthly_amount,
        )
    )


def plan(
    subscription: SubscriptionView,
    attempt: AttemptView | None,
    contract: ContractView,
    allowance: Allowance,
    now: datetime,
    *,
    ladder: DunningLadder,
) -> Plan:
    """Decide what to do with ``subscription`` at ``now``.

    ``attempt`` is the attempt for the subscription's current period, if any.
    """
    if attempt is not None and attempt.period_index != subscription.period_index:
        attempt = None
    amount = attempt.amount if attempt is not None else subscription.amount
    period = subscription.period_index

    def made(
        step: Step,
        outcome: DecisionOutcome,
        reason: str = "",
        next_charge_at: datetime | None = None,
    ) -> Plan:
        return Plan(step, outcome, reason, amount, period, next_charge_at)

    if subscription.ends_at is not None and now >= subscription.ends_at:
        return made(Step.EXPIRE, DecisionOutcome.SKIPPED, SUBSCRIPTION_ENDED)
    if subscription.status == SubscriptionStatus.SUSPENDED:
        suspended_at = subscription.suspended_at
        step = cancel_step(ladder, suspended_at) if suspended_at else None
        if step is not None and step.at <= now:
            return made(Step.CANCEL, DecisionOutcome.SKIPPED, DUNNING_CANCELED)
        return made(
            Step.HOLD,
            DecisionOutcome.SKIPPED,
            SUSPENDED,
            step.at if step is not None else None,
        )
    if attempt is not None and attempt.status == ChargeAttemptStatus.COMPLETED:
        return made(Step.RECORD_CHARGED, DecisionOutcome.CHARGED)
    if attempt is not None and attempt.status in _IN_FLIGHT:
        return made(Step.RECORD, DecisionOutcome.UNKNOWN, AWAITING_RESOLUTION)
    if (
        subscription.status == SubscriptionStatus.PAST_DUE
        and subscription.consecutive_failures > ladder.retries
    ):
        return made(Step.SUSPEND, DecisionOutcome.SKIPPED, DUNNING_SUSPENDED)
    if contract.status in CLOSED_CONTRACT_STATUSES:
        return made(Step.STOP, DecisionOutcome.SKIPPED, f"contract_{contract.status}")
    if contract.status != ContractStatus.ACTIVE or contract.okpay_id is None:
        return made(Step.RECORD, DecisionOutcome.SKIPPED, CONTRACT_INACTIVE)
    reason = fits(
        ContractLimits(
            daily=contract.daily_amount,
            weekly=contract.weekly_amount,
            monthly=contract.monthly_amount,
            end_date=contract.end_date,
            currency=contract.currency,
        ),
        # Without a cap the ledger decides nothing.
        allowance.charges if is_capped(contract) else (),
        amount,
        now,
        allowance.available,
        currency=subscription.currency,
    )
    if reason == SkipReason.CONTRACT_EXPIRED:
        return made(Step.CONTRACT_EXPIRED, DecisionOutcome.SKIPPED, str(reason))
    if reason is not None:
        return made(Step.RECORD, DecisionOutcome.SKIPPED, str(reason))
    return made(Step.CHARGE, DecisionOutcome.CHARGED)
