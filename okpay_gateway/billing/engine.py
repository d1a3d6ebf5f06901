"""The renewal engine (flow D): due subscriptions → exactly one charge per period.

One pass (:func:`run_renewals`) does, with the clock injected (``now``):

1. **Resolve** charge attempts whose outcome is unknown
   (:func:`okpay_gateway.billing.resolver.resolve_pending_attempts`), so a
   period that did go through is never charged again.
2. **Claim** due subscriptions in small batches. On PostgreSQL the batch is
   selected with ``SELECT ... FOR UPDATE SKIP LOCKED`` (``of=("self",)``) and a
   short lease (``claim_token``/``claimed_until``) is written in the same
   transaction, so parallel workers take disjoint batches without waiting for
   each other. Databases without ``SKIP LOCKED`` (SQLite) claim each row with
   a conditional ``UPDATE ... WHERE lease is free`` instead: the same guarantee,
   more slowly. The lease, not a long transaction, protects the subscription
   while the SOAP call runs, because the charge attempt must be committed
   *before* the call.
3. For each claimed subscription **decide** and record a
   :class:`~okpay_gateway.models.RenewalDecision`: ``charged``, ``skipped``
   (with the reason), ``declined`` (with OKPAY's code), ``unknown`` or
   ``failed`` (the request certainly did not happen; retried next run).

Charging one period:

* status, the subscription's own end, the contract's status and end date and
  what remains of its daily/weekly/monthly allowance (our ledger of completed
  charges on the contract, plus OKPAY's ``AvailableAmount`` when
  ``RENEWAL_FETCH_AVAILABLE_AMOUNT`` is on) are checked first; a charge that
  cannot fit is **skipped** with the :class:`~.allowance.SkipReason`;
* under the subscription's row lock the decision is checked once more (still
  claimed by this worker, still due, still the same period, subscription and
  contract still active; else a skip with ``claim_lost``, ``not_due``,
  ``period_moved`` or the status reason) and the
  :class:`~okpay_gateway.models.ChargeAttempt` for the period (invoice
  ``<subscription>-<period>``, unique) is committed with status ``sending``;
  only :func:`apply_charged` moves a subscription to its next period (see
  there for the rule the resolver and the workers share);
* :func:`okpay_gateway.payments.charge_contract` charges under that invoice
  (itself exactly-once per invoice; OKPAY would charge a repeat again, since
  the invoice only travels in the charge's comment);
* completed → next period scheduled, ``subscription_renewed``; declined → the
  dunning ladder (``OKPAY_GATEWAY["DUNNING"]``), a signal and an e-mail per
  step; unknown (read timeout, 5xx after sending, a crash) → nothing more for
  that period until the resolver has asked OKPAY.

Periods are charged in order, one per subscription per run. After an outage
a subscription that is several periods behind is charged for each missed
period on successive runs (no period is silently dropped).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import OuterRef, Q, Subquery

from okpay_gateway import conf, exceptions, payments, signals
from okpay_gateway.billing import notifications_mail
from okpay_gateway.billing.allowance import ContractLimits, SkipReason, fits
from okpay_gateway.billing.dunning import (
    DunningAction,
    DunningLadder,
    cancel_step,
    next_step,
)
from okpay_gateway.billing.schedule import (
    BillingInterval,
    period_key,
    period_start,
    to_utc,
)
from okpay_gateway.billing.states import (
    CONTRACT_CLOSED_EVENTS,
    SubscriptionEvent,
    can_transition,
    transition,
)
from okpay_gateway.models import (
    CLOSED_CONTRACT_STATUSES,
    LIVE_SUBSCRIPTION_STATUSES,
    ChargeAttempt,
    ChargeAttemptStatus,
    Contract,
    ContractStatus,
    DecisionOutcome,
    Payment,
    PaymentStatus,
    RenewalDecision,
    RenewalRun,
    Subscription,
    SubscriptionStatus,
)
from okpay_gateway.provider.settings import OkPaySettings
from okpay_gateway.types import Clock, SystemClock

logger = logging.getLogger(__name__)

__all__ = [
    "Decision",
    "RenewalConfig",
    "RunReport",
    "apply_charged",
    "apply_declined",
    "claim_next_batch",
    "claim_subscriptions",
    "count_due",
    "due_subscriptions",
    "end_subscription",
    "iter_due_ids",
    "preview_subscription",
    "renew_claimed",
    "renew_subscription",
    "run_renewals",
    "stop_subscriptions_of_contract",
    "summarize_run",
]

# Reasons recorded with a skipped decision, besides allowance.SkipReason.
AWAITING_RESOLUTION = "awaiting_resolution"
CONTRACT_INACTIVE = payments.CONTRACT_INACTIVE
DUNNING_SUSPENDED = "dunning_suspended"
DUNNING_CANCELED = "dunning_canceled"
SUSPENDED = "suspended"
SUBSCRIPTION_ENDED = "subscription_ended"
RENEWAL_CONFLICT = "renewal_conflict"
# Reasons of a decision withdrawn because the subscription changed after the
# worker read it (see _begin_attempt): nothing was charged.
NOT_DUE = "not_due"
CLAIM_LOST = "claim_lost"
PERIOD_MOVED = "period_moved"

CAPTURED = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)

# ASSUMPTION (settings): defaults of the engine's knobs.
DEFAULT_LEASE = timedelta(minutes=10)
DEFAULT_BATCH_SIZE = 50
DEFAULT_RESOLVER_BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)


@dataclass(frozen=True, slots=True)
class RenewalConfig:
    """The engine's policy, normally read from ``OKPAY_GATEWAY`` by :meth:`from_settings`.

    Keys: ``DUNNING`` (see :mod:`.dunning`), ``RENEWAL_LEASE_SECONDS``,
    ``RENEWAL_BATCH_SIZE``, ``RENEWAL_FETCH_AVAILABLE_AMOUNT`` (ask OKPAY for
    the contract's ``AvailableAmount`` before each charge; one more SOAP call),
    ``RESOLVER_BACKOFF_SECONDS`` (list; the last value repeats) and
    ``RESOLVER_SENDING_STALE_SECONDS`` (how old a ``sending`` attempt must be
    before the resolver treats it as a crashed call; default: the client's
    timeouts plus 60 s).
    """

    ladder: DunningLadder = field(default_factory=DunningLadder)
    lease: timedelta = DEFAULT_LEASE
    batch_size: int = DEFAULT_BATCH_SIZE
    fetch_available_amount: bool = False
    resolver_backoff: tuple[timedelta, ...] = DEFAULT_RESOLVER_BACKOFF
    sending_stale_after: timedelta | None = None
    send_mail: bool = True

    @classmethod
    def from_settings(cls) -> RenewalConfig:
        backoff = conf.setting("RESOLVER_BACKOFF_SECONDS")
        stale = conf.setting("RESOLVER_SENDING_STALE_SECONDS")
        return cls(
            ladder=DunningLadder.from_setting(
                conf.setting("DUNNING"), name='OKPAY_GATEWAY["DUNNING"]'
            ),
            lease=timedelta(
                seconds=float(
                    conf.setting("RENEWAL_LEASE_SECONDS", DEFAULT_LEASE.total_seconds())
                )
            ),
            batch_size=int(conf.setting("RENEWAL_BATCH_SIZE", DEFAULT_BATCH_SIZE)),
            fetch_available_amount=bool(
                conf.setting("RENEWAL_FETCH_AVAILABLE_AMOUNT", False)
            ),
            resolver_backoff=(
                tuple(timedelta(seconds=float(s)) for s in backoff)
                if backoff
                else DEFAULT_RESOLVER_BACKOFF
            ),
            sending_stale_after=(
                timedelta(seconds=float(stale)) if stale is not None else None
            ),
            send_mail=bool(conf.setting("BILLING_EMAILS", True)),
        )

    def stale_after(self, okpay_settings: OkPaySettings) -> timedelta:
        if self.sending_stale_after is not None:
            return self.sending_stale_after
        return timedelta(
            seconds=okpay_settings.connect_timeout + okpay_settings.read_timeout + 60
        )

    def backoff(self, tries: int) -> timedelta:
        return self.resolver_backoff[min(tries, len(self.resolver_backoff) - 1)]


@dataclass(frozen=True, slots=True)
class Decision:
    """What happened to one subscription in one run."""

    subscription_id: int
    period_index: int
    outcome: str
    reason: str
    amount: Decimal
    currency: str
    # The period's charge attempt, when the engine has it at hand (saves a
    # lookup when the decision is recorded); not part of the decision itself.
    attempt_id: int | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class RunReport:
    """Totals of a run; ``ok`` is False when anything is unknown or failed."""

    run_id: int | None = None
    as_of: datetime | None = None
    dry_run: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    declined: Counter[str] = field(default_factory=Counter)
    charged_amounts: dict[str, Decimal] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, decision: Decision) -> None:
        with self._lock:
            self.outcomes[decision.outcome] += 1
            if decision.outcome == DecisionOutcome.SKIPPED:
                self.skipped[decision.reason] += 1
            elif decision.outcome == DecisionOutcome.DECLINED:
                self.declined[decision.reason] += 1
            elif decision.outcome == DecisionOutcome.CHARGED:
                self.charged_amounts[decision.currency] = (
                    self.charged_amounts.get(decision.currency, Decimal("0.00"))
                    + decision.amount
                )

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def ok(self) -> bool:
        return not (
            self.outcomes[DecisionOutcome.UNKNOWN]
            or self.outcomes[DecisionOutcome.FAILED]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "dry_run": self.dry_run,
            "outcomes": dict(self.outcomes),
            "skipped": dict(self.skipped),
            "declined": dict(self.declined),
            "charged_amounts": {k: str(v) for k, v in self.charged_amounts.items()},
            "resolved": dict(self.resolved),
        }


# --- selection and claiming ---------------------------------------------------------


def due_subscriptions(now: datetime) -> Any:
    """Live subscriptions whose next step is due at ``now`` and not leased."""
    return Subscription.objects.filter(
        status__in=LIVE_SUBSCRIPTION_STATUSES, next_charge_at__lte=now
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))


def count_due(now: datetime) -> int:
    return due_subscriptions(to_utc(now, "now")).count()


def iter_due_ids(
    now: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE, limit: int | None = None
) -> Iterator[list[int]]:
    """Due subscription IDs in pk order, ``batch_size`` at a time (keyset pages).

    Memory stays flat however many are due: only one page is held.
    """
    now = to_utc(now, "now")
    last = 0
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        page = list(
            due_subscriptions(now)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not page:
            return
        yield page
        last = page[-1]
        if remaining is not None:
            remaining -= len(page)


def _skip_locked_supported() -> bool:
    return bool(connection.features.has_select_for_update_skip_locked)


def _lease_fields(
    run: RenewalRun | None, now: datetime, lease: timedelta
) -> dict[str, Any]:
    return {
        "claim_token": uuid.uuid4().hex,
        "claimed_until": now + lease,
        "last_run": run,
    }


def claim_next_batch(
    now: datetime,
    *,
    size: int,
    run: RenewalRun | None = None,
    lease: timedelta = DEFAULT_LEASE,
    only_ids: list[int] | None = None,
) -> list[tuple[int, str]]:
    """Lease up to ``size`` due subscriptions; ``[(id, claim_token), ...]``.

    With ``run`` a subscription already taken by that run is not taken again.
    ``only_ids`` restricts the claim to those IDs (Celery batches).
    """
    now = to_utc(now, "now")
    queryset = due_subscriptions(now)
    if run is not None:
        queryset = queryset.exclude(last_run=run)
    if only_ids is not None:
        queryset = queryset.filter(pk__in=only_ids)
    queryset = queryset.order_by("pk")
    if _skip_locked_supported():
        with transaction.atomic():
            ids = list(
                queryset.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", flat=True
                )[:size]
            )
            # One token per batch: it names the claimer, not the row.
            values = _lease_fields(run, now, lease)
            Subscription.objects.filter(pk__in=ids).update(**values)
            return [(pk, values["claim_token"]) for pk in ids]
    # No SKIP LOCKED: a conditional UPDATE per row is the claim.
    claimed = []
    for pk in list(queryset.values_list("pk", flat=True)[: size * 2]):
        values = _lease_fields(run, now, lease)
        won = (
            due_subscriptions(now)
            .filter(pk=pk)
            .exclude(**({"last_run": run} if run is not None else {}))
            .update(**values)
        )
        if won:
            claimed.append((pk, values["claim_token"]))
            if len(claimed) >= size:
                break
    return claimed


def claim_subscriptions(
    ids: list[int],
    now: datetime,
    *,
    run: RenewalRun | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> list[tuple[int, str]]:
    """Lease exactly these subscriptions when they are due and free."""
    return claim_next_batch(now, size=len(ids), run=run, lease=lease, only_ids=ids)


def _release(subscription_id: int, token: str) -> None:
    Subscription.objects.filter(pk=subscription_id, claim_token=token).update(
        claim_token="", claimed_until=None
    )


# --- outcomes (also used by the resolver) ------------------------------------------


def _interval(subscription: Subscription) -> BillingInterval:
    return BillingInterval(subscription.interval_unit, subscription.interval_count)


def _locked_subscription(pk: int) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=pk)
    )


def _on_commit_signal(signal: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Subscription, **kwargs))


def apply_charged(
    attempt: ChargeAttempt, payment: Payment | None, now: datetime
) -> Subscription:
    """Record a completed period: attempt completed, next period scheduled.

    Idempotent: a period already applied changes nothing and sends nothing.

    **Who may advance a subscription.** Only this function moves a
    subscription to its next period, under the subscription's row lock and
    only from the period of the attempt it applies (period index equality),
    so a period is advanced past once whoever learns it was paid: the worker
    that charged it or the resolver that found the charge. It does not look
    at leases, so the resolver never waits for a worker. The other half of
    the rule is in :func:`_begin_attempt`: a worker holding a lease re-checks,
    under the same row lock and before it commits a charge attempt, that the
    subscription is still due, still in the period it decided for and still
    claimed by it; if the resolver (or anyone) advanced it meanwhile, the
    worker records a skip and charges nothing.
    """
    with transaction.atomic():
        subscription = _locked_subscription(attempt.subscription_id)
        locked = ChargeAttempt.objects.select_for_update().get(pk=attempt.pk)
        first_time = locked.status != ChargeAttemptStatus.COMPLETED
        if first_time:
            locked.status = ChargeAttemptStatus.COMPLETED
            locked.charged_at = locked.charged_at or now
            locked.decline_code = ""
            locked.next_resolve_at = None
            if payment is not None:
                locked.payment = payment
            locked.save()
        if subscription.period_index != locked.period_index:
            return subscription
        if can_transition(subscription.status, SubscriptionEvent.CHARGED):
            subscription.status = transition(
                subscription.status, SubscriptionEvent.CHARGED
            )
        else:
            # Money moved for a subscription that has ended meanwhile (a
            # contract closed mid-run): the payment stands, the status too.
            logger.warning(
                "subscription %s charged for period %s while %s",
                subscription.pk,
                locked.period_index,
                subscription.status,
                extra={"okpay_subscription_id": subscription.pk},
            )
        subscription.period_index = locked.period_index + 1
        subscription.consecutive_failures = 0
        subscription.last_failed_at = None
        subscription.suspended_at = None
        if subscription.status in LIVE_SUBSCRIPTION_STATUSES:
            subscription.next_charge_at = period_start(
                subscription.anchor, _interval(subscription), subscription.period_index
            )
        subscription.save()
        _on_commit_signal(
            signals.subscription_renewed,
            subscription=subscription,
            attempt=locked,
            payment=payment,
            period=locked.period_index,
        )
    logger.info(
        "subscription %s renewed for period %s (%s)",
        subscription.pk,
        locked.period_index,
        locked.invoice,
        extra={"okpay_subscription_id": subscription.pk},
    )
    return subscription


def end_subscription(
    subscription: Subscription,
    event: SubscriptionEvent,
    reason: str,
    now: datetime,
    *,
    send_mail: bool = True,
) -> bool:
    """Move a live subscription to canceled/expired; False if it was not live."""
    with transaction.atomic():
        locked = _locked_subscription(subscription.pk)
        if not can_transition(locked.status, event):
            return False
        locked.status = transition(locked.status, event)
        locked.ended_at = now
        locked.end_reason = reason[:40]
        locked.next_charge_at = None
        locked.save()
        if locked.status == SubscriptionStatus.EXPIRED:
            _on_commit_signal(
                signals.subscription_expired, subscription=locked, reason=reason
            )
        else:
            _on_commit_signal(
                signals.subscription_canceled, subscription=locked, reason=reason
            )
        if send_mail:
            notifications_mail.send_subscription_canceled(locked, reason)
    subscription.status = locked.status
    logger.info(
        "subscription %s %s (%s)",
        locked.pk,
        locked.status,
        reason,
        extra={"okpay_subscription_id": locked.pk},
    )
    return True


def _suspend(
    subscription_pk: int, now: datetime, config: RenewalConfig, attempt: Any
) -> None:
    """Apply the dunning ladder's suspend step (inside the caller's transaction)."""
    locked = _locked_subscription(subscription_pk)
    if not can_transition(locked.status, SubscriptionEvent.SUSPEND):
        return
    locked.status = transition(locked.status, SubscriptionEvent.SUSPEND)
    locked.suspended_at = now
    cancel = cancel_step(config.ladder, now)
    locked.next_charge_at = cancel.at if cancel is not None else None
    locked.save()
    _on_commit_signal(
        signals.subscription_suspended,
        subscription=locked,
        attempt=attempt,
        step=cancel,
    )


def apply_declined(
    attempt: ChargeAttempt,
    payment: Payment | None,
    code: str,
    now: datetime,
    config: RenewalConfig,
) -> Subscription:
    """Record a declined period and walk the dunning ladder one step.

    A decline because the contract is closed stops the subscription instead.
    Idempotent per try: an attempt already declined is not counted twice.
    """
    with transaction.atomic():
        subscription = _locked_subscription(attempt.subscription_id)
        locked = ChargeAttempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.status in (
            ChargeAttemptStatus.DECLINED,
            ChargeAttemptStatus.COMPLETED,
        ):
            return subscription
        locked.status = ChargeAttemptStatus.DECLINED
        locked.decline_code = code[:60]
        locked.next_resolve_at = None
        if payment is not None:
            locked.payment = payment
        locked.save()
        if code == CONTRACT_INACTIVE:
            closed = subscription.contract.status in CLOSED_CONTRACT_STATUSES
            if closed:
                _stop_for_contract(subscription, now, config)
            return subscription
        if subscription.period_index != locked.period_index:
            return subscription
        previous = subscription.status
        if can_transition(subscription.status, SubscriptionEvent.DECLINED):
            subscription.status = transition(
                subscription.status, SubscriptionEvent.DECLINED
            )
        subscription.consecutive_failures += 1
        subscription.last_failed_at = now
        step = next_step(config.ladder, subscription.consecutive_failures, now)
        subscription.next_charge_at = step.at
        subscription.save()
        _on_commit_signal(
            signals.renewal_declined,
            subscription=subscription,
            attempt=locked,
            code=code,
            step=step,
        )
        if previous == SubscriptionStatus.ACTIVE:
            _on_commit_signal(
                signals.subscription_past_due,
                subscription=subscription,
                attempt=locked,
                code=code,
                step=step,
            )
        if step.action == DunningAction.SUSPEND and step.at <= now:
            _suspend(subscription.pk, now, config, locked)
            subscription.refresh_from_db()
        if config.send_mail:
            notifications_mail.send_failed_charge(subscription, locked, code, step)
    logger.warning(
        "subscription %s renewal %s declined: %s; next: %s at %s",
        subscription.pk,
        locked.invoice,
        code,
        step.action,
        step.at.isoformat(),
        extra={"okpay_subscription_id": subscription.pk},
    )
    return subscription


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


def _stop_for_contract(
    subscription: Subscription, now: datetime, config: RenewalConfig
) -> bool:
    contract = subscription.contract
    event = CONTRACT_CLOSED_EVENTS.get(
        str(contract.status), SubscriptionEvent.CONTRACT_CANCELED
    )
    return end_subscription(
        subscription,
        event,
        f"contract_{contract.status}",
        now,
        send_mail=config.send_mail,
    )


def stop_subscriptions_of_contract(
    contract: Contract, reason: str = "", *, now: datetime | None = None
) -> int:
    """End every live subscription of a closed contract (flow E); returns how many."""
    now = now or SystemClock().now()
    config = RenewalConfig.from_settings()
    event = CONTRACT_CLOSED_EVENTS.get(
        str(contract.status), SubscriptionEvent.CONTRACT_CANCELED
    )
    label = f"contract_{reason or contract.status}"
    stopped = 0
    for subscription in Subscription.objects.filter(
        contract=contract, status__in=LIVE_SUBSCRIPTION_STATUSES
    ).order_by("pk"):
        if end_subscription(
            subscription, event, label, now, send_mail=config.send_mail
        ):
            stopped += 1
    return stopped


# --- deciding one subscription --------------------------------------------------


def _ledger_charges(
    contract: Contract, now: datetime
) -> list[tuple[datetime, Decimal]]:
    """Completed charges on ``contract`` in the windows that contain ``now``.

    Renewal charges are dated by the engine's clock (``charged_at``); other
    payments on the contract (first purchase, admin charges) by their
    completion time.
    """
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = min(day.replace(day=1), day - timedelta(days=day.weekday()))
    renewals = ChargeAttempt.objects.filter(
        subscription__contract=contract,
        status=ChargeAttemptStatus.COMPLETED,
        charged_at__gte=since,
    ).values_list("charged_at", "amount")
    renewal_invoices = ChargeAttempt.objects.filter(
        subscription__contract=contract
    ).values("invoice")
    others = (
        Payment.objects.filter(
            contract=contract, status__in=CAPTURED, completed_at__gte=since
        )
        .exclude(invoice__in=renewal_invoices)
        .values_list("completed_at", "amount")
    )
    # One round trip for both halves of the ledger (a compound statement
    # takes no ORDER BY in its parts, so the models' orderings are cleared).
    return list(renewals.order_by().union(others.order_by(), all=True))


def _provider_available(
    contract: Contract, okpay_settings: OkPaySettings, now: datetime
) -> Decimal | None:
    from okpay_gateway import clients

    try:
        pp = clients.client_for(okpay_settings).preapproved_payment_get(
            contract.okpay_id
        )
    except exceptions.ProviderError as exc:
        logger.warning(
            "AvailableAmount of contract %s not read: %s", contract.okpay_id, exc.code
        )
        return None
    Contract.objects.filter(pk=contract.pk).update(
        available_amount=pp.available_amount
        if pp.available_amount < Decimal("1e10")
        else None,
        synced_at=now,
    )
    return pp.available_amount


def _skip_reason(
    subscription: Subscription,
    amount: Decimal,
    now: datetime,
    config: RenewalConfig,
    okpay_settings: OkPaySettings | None,
) -> str | None:
    contract = subscription.contract
    if contract.status != ContractStatus.ACTIVE or contract.okpay_id is None:
        return CONTRACT_INACTIVE
    limits = ContractLimits(
        daily=contract.daily_amount,
        weekly=contract.weekly_amount,
        monthly=contract.monthly_amount,
        end_date=contract.end_date,
        currency=contract.currency,
    )
    available = None
    if config.fetch_available_amount and okpay_settings is not None:
        available = _provider_available(contract, okpay_settings, now)
    capped = any(
        cap is not None
        for cap in (
            contract.daily_amount,
            contract.weekly_amount,
            contract.monthly_amount,
        )
    )
    reason = fits(
        limits,
        # Without a cap the ledger decides nothing.
        _ledger_charges(contract, now) if capped else (),
        amount,
        now,
        available,
        currency=subscription.currency,
    )
    return None if reason is None else str(reason)


def _decision(
    subscription: Subscription,
    outcome: str,
    reason: str = "",
    amount: Decimal | None = None,
    period: int | None = None,
    *,
    attempt: ChargeAttempt | None = None,
) -> Decision:
    period_index = subscription.period_index if period is None else period
    return Decision(
        subscription_id=subscription.pk,
        period_index=period_index,
        outcome=outcome,
        reason=reason,
        amount=subscription.amount if amount is None else amount,
        currency=subscription.currency,
        attempt_id=(
            attempt.pk
            if attempt is not None and attempt.period_index == period_index
            else None
        ),
    )


def preview_subscription(
    subscription: Subscription,
    now: datetime,
    config: RenewalConfig | None = None,
) -> Decision:
    """What a run would decide, without writing or calling anything (``--dry-run``).

    A subscription that would be charged is reported as ``charged``.
    """
    config = config or RenewalConfig.from_settings()
    now = to_utc(now, "now")
    attempt = ChargeAttempt.objects.filter(
        subscription=subscription, period_index=subscription.period_index
    ).first()
    amount = attempt.amount if attempt is not None else subscription.amount
    if subscription.ends_at is not None and now >= subscription.ends_at:
        return _decision(subscription, DecisionOutcome.SKIPPED, SUBSCRIPTION_ENDED)
    if subscription.status == SubscriptionStatus.SUSPENDED:
        return _decision(subscription, DecisionOutcome.SKIPPED, DUNNING_CANCELED)
    if attempt is not None and attempt.status in (
        ChargeAttemptStatus.SENDING,
        ChargeAttemptStatus.UNKNOWN,
    ):
        return _decision(subscription, DecisionOutcome.UNKNOWN, AWAITING_RESOLUTION)
    if attempt is not None and attempt.status == ChargeAttemptStatus.COMPLETED:
        return _decision(subscription, DecisionOutcome.CHARGED, "", amount)
    if (
        subscription.status == SubscriptionStatus.PAST_DUE
        and subscription.consecutive_failures > config.ladder.retries
    ):
        return _decision(subscription, DecisionOutcome.SKIPPED, DUNNING_SUSPENDED)
    if subscription.contract.status in CLOSED_CONTRACT_STATUSES:
        return _decision(
            subscription,
            DecisionOutcome.SKIPPED,
            f"contract_{subscription.contract.status}",
        )
    reason = _skip_reason(subscription, amount, now, config, None)
    if reason is not None:
        return _decision(subscription, DecisionOutcome.SKIPPED, reason, amount)
    return _decision(subscription, DecisionOutcome.CHARGED, "", amount)


@dataclass(frozen=True, slots=True)
class _Begun:
    """What :func:`_begin_attempt` committed and what comes next."""

    attempt: ChargeAttempt | None
    reason: str = ""
    payment: Payment | None = None
    action: str = ""


def _begin_attempt(
    subscription_pk: int,
    now: datetime,
    config: RenewalConfig,
    okpay_settings: OkPaySettings,
    *,
    token: str,
    period_index: int,
) -> _Begun:
    """Commit the period's attempt as ``sending`` under the row lock.

    The payment for the attempt's invoice is found or created (``SENDING``,
    with its ``charge_requested`` event) in the same transaction, so both are
    committed before the call. Returns an attempt with no ``reason`` when the
    charge may go on (``payment``/``action`` from
    :func:`payments.begin_contract_charge`), else the reason (with the
    attempt, or None).

    Everything the decision rested on is re-checked under the lock, because
    the subscription may have changed since the worker read it: still claimed
    by ``token`` (a lease that ran out may have been taken by another
    worker), still due at ``now`` and still in period ``period_index`` (the
    resolver may have found the period paid and advanced it, see
    :func:`apply_charged`), subscription and contract still active (a cancel
    that committed first wins). Anything changed: the reason, no attempt, and
    nothing is charged.
    """
    with transaction.atomic():
        subscription = _locked_subscription(subscription_pk)
        if subscription.claim_token != token:
            return _Begun(None, CLAIM_LOST)
        if subscription.period_index != period_index:
            return _Begun(None, PERIOD_MOVED)
        if subscription.next_charge_at is None or subscription.next_charge_at > now:
            return _Begun(None, NOT_DUE)
        if subscription.status not in (
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
        ):
            return _Begun(None, SUBSCRIPTION_ENDED)
        contract = subscription.contract
        if contract.status != ContractStatus.ACTIVE:
            return _Begun(None, CONTRACT_INACTIVE)
        invoice = period_key(subscription.pk, subscription.period_index)
        # Attempts of a subscription are only written under its row lock
        # (held here), so a plain read is as good as get_or_create.
        attempt = ChargeAttempt.objects.filter(invoice=invoice).first()
        if attempt is None:
            attempt = ChargeAttempt.objects.create(
                invoice=invoice,
                subscription=subscription,
                period_index=subscription.period_index,
                amount=subscription.amount,
                currency=subscription.currency,
                status=ChargeAttemptStatus.SENDING,
                tries=1,
                last_tried_at=now,
            )
        elif attempt.status not in (
            ChargeAttemptStatus.DECLINED,
            ChargeAttemptStatus.NOT_SENT,
        ):
            return _Begun(attempt, AWAITING_RESOLUTION)
        else:
            attempt.status = ChargeAttemptStatus.SENDING
            attempt.tries += 1
            attempt.last_tried_at = now
            attempt.decline_code = ""
            attempt.save(
                update_fields=["status", "tries", "last_tried_at", "decline_code"]
            )
        try:
            payment, action = payments.begin_contract_charge(
                contract,
                amount=attempt.amount,
                invoice=attempt.invoice,
                description=f"{subscription.title} period {attempt.period_index + 1}",
                okpay_settings=okpay_settings,
            )
        except exceptions.RenewalConflict:
            # Nothing was written for the payment; the attempt waits for the
            # resolver like any charge whose fate is not ours to decide.
            attempt.status = ChargeAttemptStatus.UNKNOWN
            attempt.next_resolve_at = now + config.backoff(0)
            attempt.save(update_fields=["status", "next_resolve_at"])
            return _Begun(attempt, RENEWAL_CONFLICT)
        return _Begun(attempt, "", payment, action)


def _charge(
    subscription: Subscription,
    now: datetime,
    config: RenewalConfig,
    okpay_settings: OkPaySettings,
    token: str,
) -> Decision:
    begun = _begin_attempt(
        subscription.pk,
        now,
        config,
        okpay_settings,
        token=token,
        period_index=subscription.period_index,
    )
    attempt = begun.attempt
    if attempt is None:
        return _decision(subscription, DecisionOutcome.SKIPPED, begun.reason)
    if begun.reason == RENEWAL_CONFLICT:
        return _decision(
            subscription,
            DecisionOutcome.FAILED,
            RENEWAL_CONFLICT,
            attempt.amount,
            attempt=attempt,
        )
    if begun.reason:
        return _decision(
            subscription,
            DecisionOutcome.UNKNOWN,
            begun.reason,
            attempt.amount,
            attempt=attempt,
        )
    assert begun.payment is not None
    try:
        payment = payments.finish_charge(
            begun.payment, begun.action, okpay_settings=okpay_settings
        )
    except payments.NOT_PERFORMED_ERRORS as exc:
        mark_not_sent(attempt)
        return _decision(
            subscription,
            DecisionOutcome.FAILED,
            exc.code,
            attempt.amount,
            attempt=attempt,
        )
    except Exception as exc:
        # It may have reached OKPAY: only the resolver may decide now.
        logger.exception(
            "renewal %s failed unexpectedly",
            attempt.invoice,
            extra={"okpay_subscription_id": subscription.pk},
        )
        mark_unknown(attempt, now, config)
        code = getattr(exc, "code", type(exc).__name__)
        return _decision(
            subscription,
            DecisionOutcome.UNKNOWN,
            str(code)[:60],
            attempt.amount,
            attempt=attempt,
        )
    return _apply_payment_outcome(subscription, attempt, payment, now, config)


def _apply_payment_outcome(
    subscription: Subscription,
    attempt: ChargeAttempt,
    payment: Payment,
    now: datetime,
    config: RenewalConfig,
) -> Decision:
    status = payment.status
    amount = attempt.amount
    if status in CAPTURED:
        apply_charged(attempt, payment, now)
        return _decision(
            subscription,
            DecisionOutcome.CHARGED,
            "",
            amount,
            attempt.period_index,
            attempt=attempt,
        )
    if status == PaymentStatus.DECLINED:
        apply_declined(attempt, payment, payment.decline_code, now, config)
        if payment.decline_code == CONTRACT_INACTIVE:
            return _decision(
                subscription,
                DecisionOutcome.SKIPPED,
                CONTRACT_INACTIVE,
                amount,
                attempt=attempt,
            )
        return _decision(
            subscription,
            DecisionOutcome.DECLINED,
            payment.decline_code,
            amount,
            attempt.period_index,
            attempt=attempt,
        )
    if status in (
        PaymentStatus.PENDING,
        PaymentStatus.ACTION_REQUIRED,
        PaymentStatus.CANCELED,
    ):
        # payments did not send it (contract not usable): nothing moved.
        mark_not_sent(attempt, payment)
        return _decision(
            subscription,
            DecisionOutcome.SKIPPED,
            CONTRACT_INACTIVE,
            amount,
            attempt=attempt,
        )
    mark_unknown(attempt, now, config, payment)
    return _decision(
        subscription,
        DecisionOutcome.UNKNOWN,
        payment.decline_code or str(status),
        amount,
        attempt=attempt,
    )


def _act(
    subscription: Subscription,
    now: datetime,
    config: RenewalConfig,
    okpay_settings: OkPaySettings,
    token: str,
) -> Decision:
    if subscription.next_charge_at is None or subscription.next_charge_at > now:
        # Moved on between the claim and this read (the resolver found the
        # period paid, a decline scheduled a retry): nothing is due any more.
        return _decision(subscription, DecisionOutcome.SKIPPED, NOT_DUE)
    if subscription.ends_at is not None and now >= subscription.ends_at:
        end_subscription(
            subscription, SubscriptionEvent.EXPIRE, "term_over", now, send_mail=False
        )
        return _decision(subscription, DecisionOutcome.SKIPPED, SUBSCRIPTION_ENDED)
    if subscription.status == SubscriptionStatus.SUSPENDED:
        step = (
            cancel_step(config.ladder, subscription.suspended_at)
            if subscription.suspended_at
            else None
        )
        if step is not None and step.at <= now:
            end_subscription(
                subscription,
                SubscriptionEvent.CANCEL,
                "dunning",
                now,
                send_mail=config.send_mail,
            )
            return _decision(subscription, DecisionOutcome.SKIPPED, DUNNING_CANCELED)
        Subscription.objects.filter(pk=subscription.pk).update(
            next_charge_at=step.at if step is not None else None
        )
        return _decision(subscription, DecisionOutcome.SKIPPED, SUSPENDED)
    attempt = _current_attempt(subscription)
    if attempt is not None:
        if attempt.status == ChargeAttemptStatus.COMPLETED:
            # A crash after the charge completed but before the period moved on.
            apply_charged(attempt, attempt.payment, now)
            return _decision(
                subscription,
                DecisionOutcome.CHARGED,
                "",
                attempt.amount,
                attempt=attempt,
            )
        if attempt.status in (ChargeAttemptStatus.SENDING, ChargeAttemptStatus.UNKNOWN):
            return _decision(
                subscription,
                DecisionOutcome.UNKNOWN,
                AWAITING_RESOLUTION,
                attempt.amount,
                attempt=attempt,
            )
    if (
        subscription.status == SubscriptionStatus.PAST_DUE
        and subscription.consecutive_failures > config.ladder.retries
    ):
        with transaction.atomic():
            _suspend(subscription.pk, now, config, None)
        return _decision(subscription, DecisionOutcome.SKIPPED, DUNNING_SUSPENDED)
    contract = subscription.contract
    if contract.status in CLOSED_CONTRACT_STATUSES:
        _stop_for_contract(subscription, now, config)
        return _decision(
            subscription, DecisionOutcome.SKIPPED, f"contract_{contract.status}"
        )
    amount = attempt.amount if attempt is not None else subscription.amount
    reason = _skip_reason(subscription, amount, now, config, okpay_settings)
    if reason == SkipReason.CONTRACT_EXPIRED:
        end_subscription(
            subscription,
            SubscriptionEvent.CONTRACT_EXPIRED,
            "contract_expired",
            now,
            send_mail=config.send_mail,
        )
    if reason is not None:
        return _decision(subscription, DecisionOutcome.SKIPPED, reason, amount)
    return _charge(subscription, now, config, okpay_settings, token)


_NOT_LOOKED_UP = object()


def _with_current_attempt(queryset: Any) -> Any:
    """Subscriptions annotated with the ID of their current period's attempt."""
    return queryset.annotate(
        current_attempt_id=Subquery(
            ChargeAttempt.objects.filter(
                subscription=OuterRef("pk"), period_index=OuterRef("period_index")
            ).values("pk")[:1]
        )
    )


def _current_attempt(subscription: Subscription) -> ChargeAttempt | None:
    """The attempt for the subscription's current period, if there is one."""
    if getattr(subscription, "current_attempt_id", _NOT_LOOKED_UP) is None:
        return None
    return ChargeAttempt.objects.filter(
        subscription=subscription, period_index=subscription.period_index
    ).first()


def _record(decision: Decision, run: RenewalRun | None, now: datetime) -> None:
    attempt_id = decision.attempt_id
    if attempt_id is None:
        attempt_id = (
            ChargeAttempt.objects.filter(
                subscription_id=decision.subscription_id,
                period_index=decision.period_index,
            )
            .values_list("pk", flat=True)
            .first()
        )
    values = {
        "period_index": decision.period_index,
        "attempt_id": attempt_id,
        "outcome": decision.outcome,
        "reason": decision.reason[:60],
        "amount": decision.amount,
        "currency": decision.currency,
        "decided_at": now,
    }
    if run is None:
        RenewalDecision.objects.create(
            subscription_id=decision.subscription_id, **values
        )
    else:
        # One statement (INSERT ... ON CONFLICT DO UPDATE) instead of a locked
        # read, a savepoint and a write: a run decides a subscription once,
        # but a redelivered Celery task may decide it again.
        RenewalDecision.objects.bulk_create(
            [
                RenewalDecision(
                    run=run, subscription_id=decision.subscription_id, **values
                )
            ],
            update_conflicts=True,
            unique_fields=["run", "subscription"],
            update_fields=list(values),
        )


def renew_claimed(
    subscription_id: int,
    token: str,
    *,
    now: datetime,
    run: RenewalRun | None = None,
    config: RenewalConfig | None = None,
    okpay_settings: OkPaySettings | None = None,
) -> Decision | None:
    """Decide one subscription this worker has leased; None if the lease was lost."""
    config = config or RenewalConfig.from_settings()
    try:
        subscription = _with_current_attempt(
            Subscription.objects.select_related("contract")
        ).get(pk=subscription_id, claim_token=token)
    except Subscription.DoesNotExist:
        return None
    try:
        settings_ = okpay_settings or payments.settings_for_channel(
            subscription.channel
        )
        decision = _act(subscription, now, config, settings_, token)
        _record(decision, run, now)
        return decision
    finally:
        _release(subscription_id, token)


def renew_subscription(
    subscription_id: int,
    *,
    now: datetime | None = None,
    run: RenewalRun | None = None,
    config: RenewalConfig | None = None,
    okpay_settings: OkPaySettings | None = None,
) -> Decision | None:
    """Claim and decide one subscription if it is due; None if not due or taken."""
    config = config or RenewalConfig.from_settings()
    now = to_utc(now or SystemClock().now(), "now")
    claimed = claim_subscriptions([subscription_id], now, run=run, lease=config.lease)
    if not claimed:
        return None
    pk, token = claimed[0]
    return renew_claimed(
        pk, token, now=now, run=run, config=config, okpay_settings=okpay_settings
    )


# --- a whole run --------------------------------------------------------------------


def start_run(now: datetime, trigger: str, clock: Clock | None = None) -> RenewalRun:
    return RenewalRun.objects.create(
        started_at=(clock or SystemClock()).now(), as_of=now, trigger=trigger
    )


def summarize_run(run: RenewalRun) -> RunReport:
    """A run's totals from its recorded decisions (works for fanned-out runs)."""
    report = RunReport(run_id=run.pk, as_of=run.as_of)
    for row in run.decisions.values(
        "subscription_id", "period_index", "outcome", "reason", "amount", "currency"
    ).iterator(chunk_size=2000):
        report.add(Decision(**row))
    return report


def _worker(
    *,
    now: datetime,
    run: RenewalRun,
    config: RenewalConfig,
    okpay_settings: OkPaySettings | None,
    report: RunReport,
    budget: _Budget,
    progress: Callable[[Decision], None] | None,
    own_connection: bool,
    batch_size: int,
) -> None:
    try:
        while True:
            size = budget.take(batch_size)
            if size == 0:
                return
            claimed = claim_next_batch(now, size=size, run=run, lease=config.lease)
            budget.give_back(size - len(claimed))
            if not claimed:
                return
            for pk, token in claimed:
                decision = renew_claimed(
                    pk,
                    token,
                    now=now,
                    run=run,
                    config=config,
                    okpay_settings=okpay_settings,
                )
                if decision is None:
                    continue
                report.add(decision)
                if progress is not None:
                    progress(decision)
    finally:
        if own_connection:
            connection.close()


class _Budget:
    """How many more subscriptions the run may take (``--limit``), thread-safe."""

    def __init__(self, limit: int | None) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            if self._left is None:
                return wanted
            granted = min(wanted, self._left)
            self._left -= granted
            return granted

    def give_back(self, count: int) -> None:
        with self._lock:
            if self._left is not None:
                self._left += count


def run_renewals(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    concurrency: int = 1,
    dry_run: bool = False,
    trigger: str = "command",
    config: RenewalConfig | None = None,
    okpay_settings: OkPaySettings | None = None,
    progress: Callable[[Decision], None] | None = None,
    resolve_first: bool = True,
) -> RunReport:
    """Resolve unknown outcomes, then decide every due subscription once.

    ``concurrency`` > 1 runs that many threads, each with its own database
    connection. ``dry_run`` only previews (no claim, no write, no SOAP call).
    ``okpay_settings`` overrides the per-channel settings (tests, one-wallet
    shops). ``progress`` is called after each decision.
    """
    from okpay_gateway.billing import resolver

    config = config or RenewalConfig.from_settings()
    now = to_utc(now or SystemClock().now(), "now")
    if dry_run:
        report = RunReport(as_of=now, dry_run=True)
        for page in iter_due_ids(now, batch_size=config.batch_size, limit=limit):
            for subscription in (
                Subscription.objects.filter(pk__in=page)
                .select_related("contract")
                .order_by("pk")
            ):
                decision = preview_subscription(subscription, now, config)
                report.add(decision)
                if progress is not None:
                    progress(decision)
        return report
    report = RunReport(as_of=now)
    if resolve_first:
        report.resolved = resolver.resolve_pending_attempts(
            now=now, config=config, okpay_settings=okpay_settings
        ).as_dict()
    run = start_run(now, trigger)
    report.run_id = run.pk
    budget = _Budget(limit)
    batch_size = config.batch_size
    if concurrency > 1:
        due = count_due(now)
        if limit is not None:
            due = min(due, limit)
        # Whole batches of batch_size would leave most threads idle in the
        # last round; a few batches per thread keep them all busy to the end.
        batch_size = max(1, min(batch_size, -(-due // (concurrency * 4))))
    common = {
        "batch_size": batch_size,
        "now": now,
        "run": run,
        "config": config,
        "okpay_settings": okpay_settings,
        "report": report,
        "budget": budget,
        "progress": progress,
    }
    if concurrency <= 1:
        _worker(**common, own_connection=False)
    else:
        errors: list[BaseException] = []

        def target() -> None:
            close_old_connections()
            try:
                _worker(**common, own_connection=True)
            except BaseException as exc:  # surfaced after join
                logger.exception("renewal worker thread failed")
                errors.append(exc)

        threads = [
            threading.Thread(target=target, name=f"okpay-renew-{n}")
            for n in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
    run.finished_at = SystemClock().now()
    run.summary = report.as_dict()
    run.save(update_fields=["finished_at", "summary"])
    return report


def group_counts(decisions: list[Decision]) -> dict[str, dict[str, int]]:
    """Decisions grouped by outcome and reason (summary tables)."""
    grouped: dict[str, dict[str, int]] = defaultdict(dict)
    for decision in decisions:
        bucket = grouped[decision.outcome]
        bucket[decision.reason] = bucket.get(decision.reason, 0) + 1
    return dict(grouped)
