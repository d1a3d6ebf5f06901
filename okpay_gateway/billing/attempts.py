"""Writing a batch's charge attempts, and their payments, before any call.

:func:`write_attempts` runs one transaction for the whole batch: it locks the
subscriptions, re-checks under the lock everything the plan rested on (still
live, still due at ``now``, the claim still ours, the same period, the
contract still active), writes each period's
:class:`~okpay_gateway.models.ChargeAttempt` as ``sending`` (invoice
``<subscription>-<period>``, unique) and, through
:func:`okpay_gateway.payments.begin_charges`, the payments with their
``charge_requested`` events. Only after this commits is any charge sent, so
a crash at any point leaves a row the resolver can look up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from okpay_gateway import exceptions, payments
from okpay_gateway.billing.config import RenewalConfig
from okpay_gateway.billing.plan import (
    AWAITING_RESOLUTION,
    CONTRACT_INACTIVE,
    SUBSCRIPTION_ENDED,
    Plan,
)
from okpay_gateway.billing.schedule import period_key
from okpay_gateway.bulk import update_rows
from okpay_gateway.enums import (
    ChargeAttemptStatus,
    ContractStatus,
    DecisionOutcome,
    SubscriptionStatus,
)
from okpay_gateway.models import ChargeAttempt, Payment, Subscription
from okpay_gateway.provider.settings import OkPaySettings

__all__ = [
    "CLAIM_LOST",
    "NOT_DUE",
    "PERIOD_CHANGED",
    "RENEWAL_CONFLICT",
    "Begun",
    "write_attempts",
]

# Reasons for a plan that no longer holds under the row lock.
NOT_DUE = "not_due"
CLAIM_LOST = "claim_lost"
PERIOD_CHANGED = "period_changed"
RENEWAL_CONFLICT = "renewal_conflict"

_CHARGEABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
_RETRYABLE = (ChargeAttemptStatus.DECLINED, ChargeAttemptStatus.NOT_SENT)


@dataclass(slots=True)
class Begun:
    """One planned charge after :func:`write_attempts`.

    With ``action`` the payment is written and the charge goes on; otherwise
    ``outcome``/``reason`` is the decision (nothing is sent).
    """

    subscription: Subscription
    plan: Plan
    attempt: ChargeAttempt | None = None
    payment: Payment | None = None
    action: payments.ChargeAction | None = None
    outcome: DecisionOutcome | None = None
    reason: str = ""


def write_attempts(
    items: Sequence[tuple[Subscription, Plan]],
    *,
    now: datetime,
    token: str,
    config: RenewalConfig,
    settings_for: Callable[[str], OkPaySettings],
) -> list[Begun]:
    """Lock, re-check and write the attempts and payments of a batch (one transaction)."""
    with transaction.atomic():
        locked = {
            s.pk: s
            for s in Subscription.objects.select_for_update(of=("self",))
            .select_related("contract")
            .filter(pk__in=[subscription.pk for subscription, _ in items])
        }
        invoices = [period_key(pk, plan.period_index) for (pk, plan) in _pks(items)]
        attempts = {
            a.invoice: a for a in ChargeAttempt.objects.filter(invoice__in=invoices)
        }
        begun: list[Begun] = []
        fresh: list[ChargeAttempt] = []
        retried: list[ChargeAttempt] = []
        for subscription, plan in items:
            row = locked[subscription.pk]
            entry = Begun(row, plan)
            begun.append(entry)
            reason = _changed(row, plan, now, token)
            if reason is not None:
                entry.outcome, entry.reason = DecisionOutcome.SKIPPED, reason
                continue
            invoice = period_key(row.pk, plan.period_index)
            attempt = attempts.get(invoice)
            if attempt is None:
                attempt = ChargeAttempt(
                    invoice=invoice,
                    subscription=row,
                    period_index=plan.period_index,
                    amount=row.amount,
                    currency=row.currency,
                    status=ChargeAttemptStatus.SENDING,
                    tries=1,
                    last_tried_at=now,
                )
                fresh.append(attempt)
            elif attempt.status not in _RETRYABLE:
                entry.attempt = attempt
                entry.outcome = DecisionOutcome.UNKNOWN
                entry.reason = AWAITING_RESOLUTION
                continue
            else:
                attempt.status = ChargeAttemptStatus.SENDING
                attempt.tries += 1
                attempt.last_tried_at = now
                attempt.decline_code = ""
                retried.append(attempt)
            entry.attempt = attempt
        ChargeAttempt.objects.bulk_create(fresh)
        update_rows(
            ChargeAttempt, retried, ["status", "tries", "last_tried_at", "decline_code"]
        )
        _begin_payments(
            [b for b in begun if b.outcome is None], now, config, settings_for
        )
    return begun


def _pks(items: Sequence[tuple[Subscription, Plan]]) -> list[tuple[int, Plan]]:
    return [(subscription.pk, plan) for subscription, plan in items]


def _changed(row: Subscription, plan: Plan, now: datetime, token: str) -> str | None:
    """Why the plan no longer holds for the locked row, or None if it does."""
    if row.status not in _CHARGEABLE:
        return SUBSCRIPTION_ENDED
    if row.claim_token != token:
        return CLAIM_LOST
    if row.period_index != plan.period_index:
        return PERIOD_CHANGED
    if row.next_charge_at is None or row.next_charge_at > now:
        return NOT_DUE
    if row.contract.status != ContractStatus.ACTIVE:
        return CONTRACT_INACTIVE
    return None


def _begin_payments(
    begun: list[Begun],
    now: datetime,
    config: RenewalConfig,
    settings_for: Callable[[str], OkPaySettings],
) -> None:
    by_channel: dict[str, list[Begun]] = defaultdict(list)
    for entry in begun:
        by_channel[entry.subscription.channel].append(entry)
    for channel, entries in by_channel.items():
        results = payments.begin_charges(
            [
                payments.ChargeRequest(
                    contract=entry.subscription.contract,
                    amount=entry.attempt.amount,
                    invoice=entry.attempt.invoice,
                    description=(
                        f"{entry.subscription.title} period "
                        f"{entry.attempt.period_index + 1}"
                    ),
                )
                for entry in entries
                if entry.attempt is not None
            ],
            okpay_settings=settings_for(channel),
        )
        for entry, result in zip(entries, results, strict=True):
            attempt = entry.attempt
            assert attempt is not None
            if isinstance(result, exceptions.RenewalConflict):
                # Nothing was written for the payment; the attempt waits for
                # the resolver like any charge whose fate is not ours to decide.
                attempt.status = ChargeAttemptStatus.UNKNOWN
                attempt.next_resolve_at = now + config.backoff(0)
                attempt.save(update_fields=["status", "next_resolve_at", "updated_at"])
                entry.outcome, entry.reason = DecisionOutcome.FAILED, RENEWAL_CONFLICT
            else:
                entry.payment, entry.action = result
