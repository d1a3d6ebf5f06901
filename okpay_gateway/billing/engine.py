"""The renewal engine (flow D): due subscriptions → exactly one charge per period.

A run (:func:`run_renewals`) first resolves attempts whose outcome is unknown
(:mod:`.resolver`), then works through the due subscriptions a batch at a
time, in the shape of the IPN pipeline: one pass, down the layers.

1. **Claim** a batch with one statement (:mod:`.claims`): a lease, so
   parallel workers take disjoint batches.
2. **Plan** each subscription with the pure :func:`.plan.plan` (the same
   function ``--dry-run`` reports), from rows read for the whole batch:
   subscriptions with their contracts, the current periods' attempts, and
   for capped contracts the allowance ledger (:mod:`.usage`).
3. Plans that only end, suspend or hold a subscription are carried out one
   by one (:mod:`.lifecycle`); they are rare.
4. **Write** the attempts and payments of every planned charge in one
   transaction, re-checked under the row locks (:mod:`.attempts`), before
   anything is sent.
5. **Send** the charges concurrently (:mod:`.charge`) and settle the
   payments in one transaction.
6. **Apply** the outcomes to attempts and subscriptions with the function
   the resolver uses too (:mod:`.outcomes`), record every decision in one
   statement (:mod:`.reports`) and give the leases back.

Every due subscription gets a recorded :class:`~.reports.Decision`:
``charged``, ``skipped`` (with the reason), ``declined`` (with OKPAY's code),
``unknown`` or ``failed`` (the request certainly did not happen; retried
next run). Periods are charged in order, one per subscription per run; a
subscription several periods behind is charged for each on successive runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.db import close_old_connections, connection, transaction

from okpay_gateway import conf, exceptions, payments
from okpay_gateway.billing import resolver
from okpay_gateway.billing.attempts import Begun, write_attempts
from okpay_gateway.billing.charge import Sent, charge_pool, close_pool, send_batch
from okpay_gateway.billing.claims import (
    claim_next_batch,
    claim_subscriptions,
    count_due,
    due_subscriptions,
    iter_due_ids,
    release,
)
from okpay_gateway.billing.config import RenewalConfig
from okpay_gateway.billing.lifecycle import (
    end_subscription,
    stop_for_contract,
    stop_subscriptions_of_contract,
    suspend,
)
from okpay_gateway.billing.outcomes import (
    Result,
    apply_charged,
    apply_declined,
    apply_outcomes,
)
from okpay_gateway.billing.plan import (
    CONTRACT_INACTIVE,
    Allowance,
    Plan,
    Step,
    is_capped,
    plan,
)
from okpay_gateway.billing.reports import (
    Decision,
    RunReport,
    record_decisions,
    summarize_run,
)
from okpay_gateway.billing.schedule import period_key, to_utc
from okpay_gateway.billing.states import SubscriptionEvent
from okpay_gateway.billing.usage import allowances, provider_available
from okpay_gateway.enums import DecisionOutcome
from okpay_gateway.models import ChargeAttempt, Payment, RenewalRun, Subscription
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
    "renew_batch",
    "renew_claimed",
    "renew_subscription",
    "run_renewals",
    "start_run",
    "stop_subscriptions_of_contract",
    "summarize_run",
]

SettingsFor = Callable[[str], OkPaySettings]


def _settings_lookup(okpay_settings: OkPaySettings | None) -> SettingsFor:
    """Per-channel settings, looked up once per channel for the caller's lifetime."""
    if okpay_settings is not None:
        return lambda channel: okpay_settings
    cache: dict[str, OkPaySettings] = {}

    def lookup(channel: str) -> OkPaySettings:
        if channel not in cache:
            cache[channel] = conf.settings_for_channel(channel)
        return cache[channel]

    return lookup


# --- reading and planning a batch ------------------------------------------------


def _planned(
    subscriptions: Sequence[Subscription],
    now: datetime,
    config: RenewalConfig,
    settings_for: SettingsFor | None,
) -> list[tuple[Subscription, ChargeAttempt | None, Plan]]:
    """Plan every subscription of a batch from rows read for the whole batch."""
    attempts = {
        a.invoice: a
        for a in ChargeAttempt.objects.filter(
            invoice__in=[period_key(s.pk, s.period_index) for s in subscriptions]
        )
    }
    ledgers = allowances(
        {s.contract_id for s in subscriptions if is_capped(s.contract)}, now
    )
    planned = []
    for subscription in subscriptions:
        attempt = attempts.get(period_key(subscription.pk, subscription.period_index))
        allowance = ledgers.get(subscription.contract_id, Allowance())
        if config.fetch_available_amount and settings_for is not None:
            allowance = Allowance(
                charges=allowance.charges,
                available=provider_available(
                    subscription.contract, settings_for(subscription.channel), now
                ),
            )
        decided = plan(
            subscription,
            attempt,
            subscription.contract,
            allowance,
            now,
            ladder=config.ladder,
        )
        if decided.step == Step.CHARGE and is_capped(subscription.contract):
            # A charge planned earlier in the batch counts against the same
            # contract's allowance, as if it had completed.
            ledgers[subscription.contract_id] = Allowance(
                charges=(*allowance.charges, (now, decided.amount)),
                available=allowance.available,
            )
        planned.append((subscription, attempt, decided))
    return planned


def _decision(
    subscription: Subscription,
    decided: Plan,
    attempt: ChargeAttempt | None,
    outcome: str | None = None,
    reason: str | None = None,
) -> Decision:
    return Decision(
        subscription_id=subscription.pk,
        period_index=decided.period_index,
        outcome=outcome if outcome is not None else decided.outcome,
        reason=reason if reason is not None else decided.reason,
        amount=attempt.amount if attempt is not None else decided.amount,
        currency=subscription.currency,
        attempt_id=(
            attempt.pk
            if attempt is not None and attempt.period_index == decided.period_index
            else None
        ),
    )


def _carry_out(
    subscription: Subscription,
    attempt: ChargeAttempt | None,
    decided: Plan,
    now: datetime,
    config: RenewalConfig,
) -> None:
    """Do what a plan other than ``charge`` asks for (one subscription)."""
    step = decided.step
    if step == Step.EXPIRE:
        end_subscription(
            subscription, SubscriptionEvent.EXPIRE, "term_over", now, send_mail=False
        )
    elif step == Step.CANCEL:
        end_subscription(
            subscription,
            SubscriptionEvent.CANCEL,
            "dunning",
            now,
            send_mail=config.send_mail,
        )
    elif step == Step.HOLD:
        Subscription.objects.filter(pk=subscription.pk).update(
            next_charge_at=decided.next_charge_at
        )
    elif step == Step.SUSPEND:
        with transaction.atomic():
            suspend(subscription.pk, now, config, None)
    elif step == Step.STOP:
        stop_for_contract(subscription, now, config)
    elif step == Step.CONTRACT_EXPIRED:
        end_subscription(
            subscription,
            SubscriptionEvent.CONTRACT_EXPIRED,
            "contract_expired",
            now,
            send_mail=config.send_mail,
        )
    elif step == Step.RECORD_CHARGED:
        # A crash after the charge completed but before the period moved on.
        assert attempt is not None
        apply_charged(attempt, attempt.payment, now)


# --- settling the charges of a batch ---------------------------------------------


def _settle(
    begun: Sequence[Begun], sent: Sequence[Sent], now: datetime, config: RenewalConfig
) -> list[Decision]:
    decisions = [
        _decision(b.subscription, b.plan, b.attempt, b.outcome, b.reason)
        for b in begun
        if b.outcome is not None
    ]
    pairs = []
    for item in sent:
        # Only entries with a written attempt carry a charge action.
        assert item.entry.attempt is not None
        pairs.append((item.entry.attempt, item.payment))
    results = apply_outcomes(
        pairs, now, config, unknown_retry_at=now + config.backoff(0)
    )
    for item, result in zip(sent, results, strict=True):
        entry, payment, error = item.entry, item.payment, item.error
        outcome, reason = _outcome(result, payment, error)
        if error is not None and not isinstance(error, exceptions.OkPayError):
            logger.error(
                "renewal %s failed unexpectedly",
                entry.attempt.invoice if entry.attempt else "",
                exc_info=error,
                extra={"okpay_subscription_id": entry.subscription.pk},
            )
        decisions.append(
            _decision(entry.subscription, entry.plan, entry.attempt, outcome, reason)
        )
    return decisions


def _outcome(
    result: Result, payment: Payment | None, error: BaseException | None
) -> tuple[DecisionOutcome, str]:
    if isinstance(error, payments.NOT_PERFORMED_ERRORS):
        return DecisionOutcome.FAILED, error.code
    if error is not None and not isinstance(error, exceptions.OkPayError):
        # It may have reached OKPAY: only the resolver may decide now.
        code = getattr(error, "code", type(error).__name__)
        return DecisionOutcome.UNKNOWN, str(code)[:60]
    code = payment.decline_code if payment is not None else ""
    if result == Result.COMPLETED:
        return DecisionOutcome.CHARGED, ""
    if result == Result.DECLINED:
        if code == CONTRACT_INACTIVE:
            return DecisionOutcome.SKIPPED, CONTRACT_INACTIVE
        return DecisionOutcome.DECLINED, code
    if result == Result.NOT_SENT:
        # payments did not send it (contract not usable): nothing moved.
        return DecisionOutcome.SKIPPED, CONTRACT_INACTIVE
    return DecisionOutcome.UNKNOWN, code or str(payment.status if payment else "")


# --- one batch -------------------------------------------------------------------


def renew_batch(
    claimed: Sequence[tuple[int, str]],
    *,
    now: datetime,
    run: RenewalRun | None = None,
    config: RenewalConfig | None = None,
    okpay_settings: OkPaySettings | None = None,
    pool: ThreadPoolExecutor | None = None,
    settings_for: SettingsFor | None = None,
) -> list[Decision]:
    """Decide every subscription of a claimed batch; lost leases are left out."""
    config = config or RenewalConfig.from_settings()
    settings_for = settings_for or _settings_lookup(okpay_settings)
    tokens = dict(claimed)
    try:
        subscriptions = [
            s
            for s in Subscription.objects.select_related("contract")
            .filter(pk__in=tokens)
            .order_by("pk")
            if s.claim_token == tokens[s.pk]
        ]
        decisions: list[Decision] = []
        charges: dict[str, list[tuple[Subscription, Plan]]] = {}
        for subscription, attempt, decided in _planned(
            subscriptions, now, config, settings_for
        ):
            if decided.step == Step.CHARGE:
                charges.setdefault(tokens[subscription.pk], []).append(
                    (subscription, decided)
                )
                continue
            _carry_out(subscription, attempt, decided, now, config)
            decisions.append(_decision(subscription, decided, attempt))
        for token, items in charges.items():
            begun = write_attempts(
                items, now=now, token=token, config=config, settings_for=settings_for
            )
            sent = send_batch(begun, pool=pool, settings_for=settings_for)
            decisions.extend(_settle(begun, sent, now, config))
        record_decisions(decisions, run, now)
        return decisions
    finally:
        release(list(claimed))


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
    decisions = renew_batch(
        [(subscription_id, token)],
        now=now,
        run=run,
        config=config,
        okpay_settings=okpay_settings,
    )
    return decisions[0] if decisions else None


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


# --- previews (--dry-run) --------------------------------------------------------


def preview_subscription(
    subscription: Subscription,
    now: datetime,
    config: RenewalConfig | None = None,
) -> Decision:
    """What a run would decide, without writing or calling anything (``--dry-run``).

    A subscription that would be charged is reported as ``charged``.
    """
    return next(iter(_previews([subscription], to_utc(now, "now"), config)))


def _previews(
    subscriptions: Sequence[Subscription], now: datetime, config: RenewalConfig | None
) -> Iterable[Decision]:
    config = config or RenewalConfig.from_settings()
    for subscription, attempt, decided in _planned(subscriptions, now, config, None):
        yield _decision(subscription, decided, attempt)


def _preview_run(
    now: datetime,
    limit: int | None,
    config: RenewalConfig,
    progress: Callable[[Decision], None] | None,
) -> RunReport:
    report = RunReport(as_of=now, dry_run=True)
    size = max(config.batch_size, _PREVIEW_PAGE)
    last, remaining = 0, limit
    while remaining is None or remaining > 0:
        take = size if remaining is None else min(size, remaining)
        # One keyset page per statement, with only what plan() reads.
        subscriptions = list(
            due_subscriptions(now)
            .filter(pk__gt=last)
            .order_by("pk")
            .select_related("contract")
            .only(*_PLAN_FIELDS)[:take]
        )
        if not subscriptions:
            break
        last = subscriptions[-1].pk
        if remaining is not None:
            remaining -= len(subscriptions)
        for decision in _previews(subscriptions, now, config):
            report.add(decision)
            if progress is not None:
                progress(decision)
    return report


_PREVIEW_PAGE = 2000
_PLAN_FIELDS = (
    "status",
    "period_index",
    "amount",
    "currency",
    "channel",
    "ends_at",
    "suspended_at",
    "consecutive_failures",
    "contract__status",
    "contract__okpay_id",
    "contract__currency",
    "contract__daily_amount",
    "contract__weekly_amount",
    "contract__monthly_amount",
    "contract__end_date",
)


# --- a whole run -----------------------------------------------------------------


def start_run(now: datetime, trigger: str, clock: Clock | None = None) -> RenewalRun:
    return RenewalRun.objects.create(
        started_at=(clock or SystemClock()).now(), as_of=now, trigger=trigger
    )


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

    ``concurrency`` is how many charges are in flight at once (a thread pool
    of that size sends them). ``dry_run`` only plans (no claim, no write, no
    SOAP call). ``okpay_settings`` overrides the per-channel settings (tests,
    one-wallet shops). ``progress`` is called after each decision.
    """
    config = config or RenewalConfig.from_settings()
    now = to_utc(now or SystemClock().now(), "now")
    if dry_run:
        return _preview_run(now, limit, config, progress)
    report = RunReport(as_of=now)
    if resolve_first:
        report.resolved = resolver.resolve_pending_attempts(
            now=now, config=config, okpay_settings=okpay_settings
        ).as_dict()
    run = start_run(now, trigger)
    report.run_id = run.pk
    settings_for = _settings_lookup(okpay_settings)
    batch_size = max(config.batch_size, concurrency)
    pool = charge_pool(concurrency)

    def lane(budget: int | None, own_connection: bool) -> None:
        if own_connection:
            close_old_connections()
        try:
            while budget is None or budget > 0:
                size = batch_size if budget is None else min(batch_size, budget)
                claimed = claim_next_batch(now, size=size, run=run, lease=config.lease)
                if not claimed:
                    return
                if budget is not None:
                    budget -= len(claimed)
                for decision in renew_batch(
                    claimed,
                    now=now,
                    run=run,
                    config=config,
                    pool=pool,
                    settings_for=settings_for,
                ):
                    report.add(decision)
                    if progress is not None:
                        progress(decision)
        finally:
            if own_connection:
                connection.close()

    # Two lanes keep the sender pool busy while one of them reads and writes
    # its next batch; PostgreSQL only (SQLite takes one writer at a time),
    # and not under --limit (one lane counts it down without sharing).
    lanes = (
        2
        if pool is not None and limit is None and connection.vendor == "postgresql"
        else 1
    )
    try:
        if lanes == 1:
            lane(limit, own_connection=False)
        else:
            with ThreadPoolExecutor(lanes, thread_name_prefix="okpay-renew") as runner:
                for future in [runner.submit(lane, None, True) for _ in range(lanes)]:
                    future.result()
    finally:
        close_pool(pool, concurrency)
    run.finished_at = SystemClock().now()
    run.summary = report.as_dict()
    run.save(update_fields=["finished_at", "summary"])
    return report
