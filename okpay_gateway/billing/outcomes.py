"""What a charge's outcome does to its attempt and subscription.

One function, :func:`apply_outcomes`, used by the renewal engine (for a whole
batch, after the charges came back) and by the resolver (for an attempt whose
outcome it found out). Both therefore follow one rule for who may move a
subscription on (:func:`may_advance`): only the outcome of the attempt for
the subscription's *current* period, read under the subscription's row lock.
An outcome for any other period is recorded on its attempt and changes
nothing else, so a late answer can never skip or repeat a period.

The payment's status, already settled by :mod:`okpay_gateway.payments`, says
what happened:

* captured → the attempt is ``completed``, the next period is scheduled,
  ``subscription_renewed`` after commit;
* declined → the attempt is ``declined``, the dunning ladder takes one step
  (a decline because the contract is closed stops the subscription instead);
* not sent (pending, waiting, canceled, or no payment row at all) → the
  attempt is ``not_sent``: the period may be charged again, same invoice;
* anything else (sending, unknown) → the attempt is ``unknown`` and waits
  for the resolver.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from okpay_gateway import signals
from okpay_gateway.billing import notifications_mail
from okpay_gateway.billing.config import RenewalConfig
from okpay_gateway.billing.dunning import DunningAction, next_step
from okpay_gateway.billing.lifecycle import (
    interval_of,
    on_commit_signal,
    stop_for_contract,
    suspend,
)
from okpay_gateway.billing.plan import CONTRACT_INACTIVE
from okpay_gateway.billing.schedule import period_start
from okpay_gateway.billing.states import SubscriptionEvent, can_transition, transition
from okpay_gateway.bulk import update_rows
from okpay_gateway.enums import (
    CLOSED_CONTRACT_STATUSES,
    LIVE_SUBSCRIPTION_STATUSES,
    ChargeAttemptStatus,
    SubscriptionStatus,
)
from okpay_gateway.models import ChargeAttempt, Payment, PaymentStatus, Subscription

logger = logging.getLogger("okpay_gateway.billing.engine")

__all__ = [
    "Result",
    "apply_charged",
    "apply_declined",
    "apply_outcomes",
    "mark_not_sent",
    "mark_unknown",
    "may_advance",
]

CAPTURED = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)
NOT_SENT_PAYMENTS = (
    PaymentStatus.PENDING,
    PaymentStatus.ACTION_REQUIRED,
    PaymentStatus.CANCELED,
)
_ATTEMPT_FIELDS = [
    "status",
    "charged_at",
    "decline_code",
    "next_resolve_at",
    "payment",
    "updated_at",
]
_SUBSCRIPTION_FIELDS = [
    "status",
    "period_index",
    "consecutive_failures",
    "last_failed_at",
    "suspended_at",
    "next_charge_at",
    "updated_at",
]


class Result(StrEnum):
    """What :func:`apply_outcomes` recorded for one attempt."""

    COMPLETED = "completed"
    DECLINED = "declined"
    NOT_SENT = "not_sent"
    STILL_UNKNOWN = "still_unknown"


def may_advance(subscription: Subscription, attempt: ChargeAttempt) -> bool:
    """The one rule: only the current period's outcome moves a subscription on."""
    return subscription.period_index == attempt.period_index


def apply_outcomes(
    pairs: Sequence[tuple[ChargeAttempt, Payment | None]],
    now: datetime,
    config: RenewalConfig,
    *,
    unknown_retry_at: datetime | None = None,
) -> list[Result]:
    """Record each attempt's outcome from its payment, in one transaction.

    The subscriptions and attempts are locked in one statement each; the
    completed ones are written back in one statement each. ``unknown_retry_at``
    is when the resolver should first look at an attempt that becomes
    unknown here (None: leave its schedule alone).
    """
    if not pairs:
        return []
    with transaction.atomic():
        subscriptions = {
            s.pk: s
            for s in Subscription.objects.select_for_update(of=("self",))
            .select_related("contract")
            .filter(pk__in={attempt.subscription_id for attempt, _ in pairs})
        }
        attempts = {
            a.pk: a
            for a in ChargeAttempt.objects.select_for_update().filter(
                pk__in=[attempt.pk for attempt, _ in pairs]
            )
        }
        results: list[Result] = []
        changed_attempts: list[ChargeAttempt] = []
        changed_subscriptions: list[Subscription] = []
        for given, payment in pairs:
            attempt = attempts[given.pk]
            subscription = subscriptions[attempt.subscription_id]
            status = payment.status if payment is not None else None
            if status in CAPTURED:
                assert payment is not None
                if _charged(subscription, attempt, payment, now):
                    changed_attempts.append(attempt)
                if may_advance(subscription, attempt):
                    _advance(subscription, attempt, payment, now)
                    changed_subscriptions.append(subscription)
                results.append(Result.COMPLETED)
            elif status == PaymentStatus.DECLINED:
                assert payment is not None
                _declined(
                    subscription, attempt, payment, payment.decline_code, now, config
                )
                results.append(Result.DECLINED)
            elif status is None or status in NOT_SENT_PAYMENTS:
                if attempt.status in (
                    ChargeAttemptStatus.SENDING,
                    ChargeAttemptStatus.UNKNOWN,
                ):
                    attempt.status = ChargeAttemptStatus.NOT_SENT
                    attempt.next_resolve_at = None
                    attempt.payment = payment or attempt.payment
                    changed_attempts.append(attempt)
                results.append(Result.NOT_SENT)
            else:
                if attempt.status == ChargeAttemptStatus.SENDING:
                    attempt.status = ChargeAttemptStatus.UNKNOWN
                    if unknown_retry_at is not None:
                        attempt.next_resolve_at = unknown_retry_at
                    attempt.payment = payment
                    changed_attempts.append(attempt)
                results.append(Result.STILL_UNKNOWN)
        stamp = timezone.now()
        for row in (*changed_attempts, *changed_subscriptions):
            row.updated_at = stamp
        update_rows(ChargeAttempt, changed_attempts, _ATTEMPT_FIELDS)
        update_rows(Subscription, changed_subscriptions, _SUBSCRIPTION_FIELDS)
    return results


def _charged(
    subscription: Subscription,
    attempt: ChargeAttempt,
    payment: Payment,
    now: datetime,
) -> bool:
    """Mark the locked attempt completed; False if it already was."""
    if attempt.status == ChargeAttemptStatus.COMPLETED:
        return False
    attempt.status = ChargeAttemptStatus.COMPLETED
    attempt.charged_at = attempt.charged_at or now
    attempt.decline_code = ""
    attempt.next_resolve_at = None
    attempt.payment = payment
    return True


def _advance(
    subscription: Subscription,
    attempt: ChargeAttempt,
    payment: Payment | None,
    now: datetime,
) -> None:
    """Schedule the next period of the locked subscription (current period only)."""
    if can_transition(subscription.status, SubscriptionEvent.CHARGED):
        subscription.status = transition(subscription.status, SubscriptionEvent.CHARGED)
    else:
        # Money moved for a subscription that has ended meanwhile (a contract
        # closed mid-run): the payment stands, the status too.
        logger.warning(
            "subscription %s charged for period %s while %s",
            subscription.pk,
            attempt.period_index,
            subscription.status,
            extra={"okpay_subscription_id": subscription.pk},
        )
    subscription.period_index = attempt.period_index + 1
    subscription.consecutive_failures = 0
    subscription.last_failed_at = None
    subscription.suspended_at = None
    if subscription.status in LIVE_SUBSCRIPTION_STATUSES:
        subscription.next_charge_at = period_start(
            subscription.anchor, interval_of(subscription), subscription.period_index
        )
    on_commit_signal(
        signals.subscription_renewed,
        subscription=subscription,
        attempt=attempt,
        payment=payment,
        period=attempt.period_index,
    )
    logger.info(
        "subscription %s renewed for period %s (%s)",
        subscription.pk,
        attempt.period_index,
        attempt.invoice,
        extra={"okpay_subscription_id": subscription.pk},
    )


def _declined(
    subscription: Subscription,
    attempt: ChargeAttempt,
    payment: Payment | None,
    code: str,
    now: datetime,
    config: RenewalConfig,
) -> None:
    """Record a decline on the locked rows and walk the dunning ladder one step."""
    if attempt.status in (ChargeAttemptStatus.DECLINED, ChargeAttemptStatus.COMPLETED):
        return
    attempt.status = ChargeAttemptStatus.DECLINED
    attempt.decline_code = code[:60]
    attempt.next_resolve_at = None
    if payment is not None:
        attempt.payment = payment
    attempt.save(
        update_fields=[
            "status",
            "decline_code",
            "next_resolve_at",
            "payment",
            "updated_at",
        ]
    )
    if code == CONTRACT_INACTIVE:
        if subscription.contract.status in CLOSED_CONTRACT_STATUSES:
            stop_for_contract(subscription, now, config)
        return
    if not may_advance(subscription, attempt):
        return
    previous = subscription.status
    if can_transition(subscription.status, SubscriptionEvent.DECLINED):
        subscription.status = transition(
            subscription.status, SubscriptionEvent.DECLINED
        )
    subscription.consecutive_failures += 1
    subscription.last_failed_at = now
    step = next_step(config.ladder, subscription.consecutive_failures, now)
    subscription.next_charge_at = step.at
    subscription.save(
        update_fields=[
            "status",
            "consecutive_failures",
            "last_failed_at",
            "next_charge_at",
            "updated_at",
        ]
    )
    on_commit_signal(
        signals.renewal_declined,
        subscription=subscription,
        attempt=attempt,
        code=code,
        step=step,
    )
    if previous == SubscriptionStatus.ACTIVE:
        on_commit_signal(
            signals.subscription_past_due,
            subscription=subscription,
            attempt=attempt,
            code=code,
            step=step,
        )
    if step.action == DunningAction.SUSPEND and step.at <= now:
        suspend(subscription.pk, now, config, attempt)
        subscription.refresh_from_db()
    if config.send_mail:
        notifications_mail.send_failed_charge(subscription, attempt, code, step)
    logger.warning(
        "subscription %s renewal %s declined: %s; next: %s at %s",
        subscription.pk,
        attempt.invoice,
        code,
        step.action,
        step.at.isoformat(),
        extra={"okpay_subscription_id": subscription.pk},
    )


def apply_charged(
    attempt: ChargeAttempt, payment: Payment | None, now: datetime
) -> None:
    """Record a completed period (idempotent); see :func:`apply_outcomes`."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update(of=("self",)).get(
            pk=attempt.subscription_id
        )
        locked = ChargeAttempt.objects.select_for_update().get(pk=attempt.pk)
        if _charged(subscription, locked, payment or locked.payment, now):
            locked.save(update_fields=_ATTEMPT_FIELDS)
        if may_advance(subscription, locked):
            _advance(subscription, locked, payment, now)
            subscription.save(update_fields=_SUBSCRIPTION_FIELDS)


def apply_declined(
    attempt: ChargeAttempt,
    payment: Payment | None,
    code: str,
    now: datetime,
    config: RenewalConfig,
) -> None:
    """Record a declined period (idempotent per try); see :func:`apply_outcomes`."""
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("contract")
            .get(pk=attempt.subscription_id)
        )
        locked = ChargeAttempt.objects.select_for_update().get(pk=attempt.pk)
        _declined(subscription, locked, payment, code, now, config)


def mark_unknown(
    attempt: ChargeAttempt,
    now: datetime,
    config: RenewalConfig,
    payment: Payment | None = None,
) -> None:
    """The attempt's outcome is unknown: hand it to the resolver."""
    values: dict[str, Any] = {
        "status": ChargeAttemptStatus.UNKNOWN,
        "next_resolve_at": now + config.backoff(0),
    }
    if payment is not None:
        values["payment"] = payment
    ChargeAttempt.objects.filter(
        pk=attempt.pk, status=ChargeAttemptStatus.SENDING
    ).update(**values)


def mark_not_sent(attempt: ChargeAttempt, payment: Payment | None = None) -> None:
    """Nothing reached OKPAY: the period may be charged again (same invoice)."""
    values: dict[str, Any] = {
        "status": ChargeAttemptStatus.NOT_SENT,
        "next_resolve_at": None,
    }
    if payment is not None:
        values["payment"] = payment
    ChargeAttempt.objects.filter(
        pk=attempt.pk,
        status__in=[ChargeAttemptStatus.SENDING, ChargeAttemptStatus.UNKNOWN],
    ).update(**values)
