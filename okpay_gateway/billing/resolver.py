"""Finding the truth about renewal charges whose outcome is unknown.

A charge attempt is *unknown* when the call may have reached OKPAY but no
answer was recorded: a read timeout, a 5xx after sending, an unexpected
error, or a process that died between committing the attempt (``sending``)
and committing its outcome. While an attempt is unknown the engine charges
nothing for that period (:func:`okpay_gateway.billing.attempts.write_attempts`
refuses), so money can only move once.

The resolver asks OKPAY by the attempt's invoice, through
:func:`okpay_gateway.payments.resolve_payment` (``Transaction_Get`` by
invoice, then ``PreapprovedPayment_Get_Operations`` of the contract):

* found and completed → the period is charged (next period scheduled,
  ``subscription_renewed``);
* not found → nothing moved: the attempt becomes ``not_sent`` and the next run
  charges the period again **under the same invoice**;
* found but refused (``Error``/``Canceled``/``Reversed``) → a decline for the
  dunning ladder;
* OKPAY unreachable or the transaction still ``Pending``/``Hold`` → asked again
  later, on the back-off schedule ``RESOLVER_BACKOFF_SECONDS`` (default 1 min,
  5 min, 30 min, 2 h, then every 12 h).

A ``sending`` attempt is only treated as crashed once it is older than the
client's timeouts plus a margin (``RESOLVER_SENDING_STALE_SECONDS``), so a call
still in flight in another worker is never second-guessed.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from okpay_gateway import conf, payments
from okpay_gateway.billing.config import DEFAULT_LEASE, RenewalConfig
from okpay_gateway.billing.outcomes import Result, apply_outcomes, mark_not_sent
from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.models import (
    ChargeAttempt,
    ChargeAttemptStatus,
    Payment,
    PaymentStatus,
)
from okpay_gateway.provider.settings import OkPaySettings
from okpay_gateway.types import SystemClock

logger = logging.getLogger(__name__)

__all__ = [
    "ResolveReport",
    "pending_attempts",
    "resolve_attempt",
    "resolve_pending_attempts",
]

COMPLETED = "completed"
NOT_SENT = "not_sent"
DECLINED = "declined"
STILL_UNKNOWN = "still_unknown"
TAKEN = "taken"


@dataclass(slots=True)
class ResolveReport:
    """How many unknown attempts ended how."""

    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.counts)

    @property
    def still_unknown(self) -> int:
        return self.counts[STILL_UNKNOWN]


def pending_attempts(
    now: datetime, config: RenewalConfig, okpay_settings: OkPaySettings | None
) -> Any:
    """Attempts the resolver should look at ``now``."""
    reference = okpay_settings
    if reference is None:
        try:
            reference = conf.get_settings()
        except Exception:
            reference = None
    stale = (
        config.stale_after(reference)
        if reference is not None
        else config.sending_stale_after or DEFAULT_LEASE
    )
    return ChargeAttempt.objects.filter(
        Q(status=ChargeAttemptStatus.UNKNOWN)
        & (Q(next_resolve_at__isnull=True) | Q(next_resolve_at__lte=now))
        | Q(status=ChargeAttemptStatus.SENDING, last_tried_at__lte=now - stale)
        & (Q(next_resolve_at__isnull=True) | Q(next_resolve_at__lte=now))
    ).order_by("pk")


def _claim(attempt: ChargeAttempt, now: datetime, config: RenewalConfig) -> bool:
    """Take the attempt for one resolution; the back-off moves its next check."""
    return bool(
        ChargeAttempt.objects.filter(
            pk=attempt.pk, status=attempt.status, resolve_tries=attempt.resolve_tries
        ).update(
            resolve_tries=attempt.resolve_tries + 1,
            next_resolve_at=now + config.backoff(attempt.resolve_tries + 1),
        )
    )


def resolve_attempt(
    attempt: ChargeAttempt,
    *,
    now: datetime | None = None,
    config: RenewalConfig | None = None,
    okpay_settings: OkPaySettings | None = None,
) -> str:
    """Resolve one attempt; returns ``completed``, ``not_sent``, ``declined``,
    ``still_unknown`` or ``taken`` (another resolver has it)."""
    config = config or RenewalConfig.from_settings()
    now = to_utc(now or SystemClock().now(), "now")
    if not _claim(attempt, now, config):
        return TAKEN
    payment = attempt.payment or Payment.objects.filter(invoice=attempt.invoice).first()
    if payment is None:
        # The Payment row is written before anything is sent: no row, no call.
        mark_not_sent(attempt)
        return NOT_SENT
    if payment.status in (PaymentStatus.SENDING, PaymentStatus.UNKNOWN):
        subscription = attempt.subscription
        settings_ = okpay_settings or conf.settings_for_channel(subscription.channel)
        payment = payments.resolve_payment(payment, okpay_settings=settings_)
    return _apply(attempt, payment, now, config)


def _apply(
    attempt: ChargeAttempt,
    payment: Payment,
    now: datetime,
    config: RenewalConfig,
) -> str:
    (result,) = apply_outcomes([(attempt, payment)], now, config)
    if result == Result.STILL_UNKNOWN:
        # Still in flight at OKPAY (Pending/Hold) or OKPAY unreachable.
        logger.warning(
            "renewal %s still unknown after %s checks",
            attempt.invoice,
            attempt.resolve_tries + 1,
            extra={"okpay_subscription_id": attempt.subscription_id},
        )
    return str(result)


def resolve_pending_attempts(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    config: RenewalConfig | None = None,
    okpay_settings: OkPaySettings | None = None,
) -> ResolveReport:
    """Resolve every attempt that is due for a check at ``now``."""
    config = config or RenewalConfig.from_settings()
    now = to_utc(now or SystemClock().now(), "now")
    report = ResolveReport()
    done = 0
    # Every attempt looked at leaves the due set (its next check moves on), so
    # re-querying the first page walks the whole set without holding it.
    while limit is None or done < limit:
        size = 200 if limit is None else min(200, limit - done)
        page = list(
            pending_attempts(now, config, okpay_settings).select_related(
                "payment", "subscription"
            )[:size]
        )
        if not page:
            break
        for attempt in page:
            outcome = resolve_attempt(
                attempt, now=now, config=config, okpay_settings=okpay_settings
            )
            report.counts[outcome] += 1
            done += 1
    if report.counts:
        logger.info("renewal resolver: %s", report.as_dict())
    return report
