"""PostgreSQL: a subscription that moves on under a worker's claim is never charged early.

Two connections, interleaved deterministically: worker A leases S; something
else advances S (the resolver finding the period paid, or a second worker
that took S after A's lease ran out); then A goes on. A must record a skip
and OKPAY's ledger must show one charge for the period, none for the next.

The interleavings are injected at our own seams: between the claim and the
batch's read (the resolver), and just before the batch's attempts are
written under the row lock (``engine.write_attempts``), where the plan is
re-checked (:mod:`okpay_gateway.billing.attempts`). The emulator runs in its
faithful mode: a charge sent twice is charged twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from okpay_gateway.billing import attempts, engine, resolver
from okpay_gateway.emulator import faults
from okpay_gateway.models import (
    ChargeAttempt,
    ChargeAttemptStatus,
    DecisionOutcome,
    RenewalDecision,
    Subscription,
)
from tests.billing_engine.support import (
    charges_per_agreement_period,
    seed_customers,
    set_time,
    subscribe,
    utc,
)

pytestmark = pytest.mark.postgres

CHARGE = "PreapprovedPayment_Charge"
DUE = utc(2027, 2, 3)


def _on_other_connection(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a thread with its own database connection; return its result."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the other connection's work did not finish"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_resolver_advancing_a_claimed_subscription_charges_nothing_early(okpay):
    """A claims S; the resolver finds S's period-1 charge and advances S; A charges nothing."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    # Period 1 is charged at OKPAY but answered too late: its attempt is unknown.
    faults.add_rule("applied_late", operation=CHARGE, delay_seconds=30)
    assert engine.run_renewals(now=set_time(DUE)).outcomes == {"unknown": 1}
    faults.clear()
    now = set_time(DUE + timedelta(minutes=2))
    run = engine.start_run(now, "test")

    claimed = engine.claim_next_batch(now, size=10, run=run)
    assert [pk for pk, _token in claimed] == [sub.pk]
    found = _on_other_connection(
        lambda: resolver.resolve_pending_attempts(now=now).as_dict()
    )
    assert found == {"completed": 1}
    sub.refresh_from_db()
    assert sub.period_index == 2 and sub.claim_token == claimed[0][1]

    decision = engine.renew_claimed(sub.pk, claimed[0][1], now=now, run=run)

    # OKPAY's ledger first: period 1 once, nothing for period 2.
    assert charges_per_agreement_period() == {(contract.okpay_id, 1): 1}
    assert decision is not None
    assert (decision.outcome, decision.reason) == (
        DecisionOutcome.SKIPPED,
        attempts.NOT_DUE,
    )
    recorded = RenewalDecision.objects.get(run=run, subscription=sub)
    assert (recorded.outcome, recorded.reason) == (
        DecisionOutcome.SKIPPED,
        attempts.NOT_DUE,
    )
    assert not ChargeAttempt.objects.filter(subscription=sub, period_index=2).exists()
    sub.refresh_from_db()
    assert (sub.period_index, sub.claim_token) == (2, "")


def test_lease_lost_between_decision_and_attempt_charges_nothing(okpay, monkeypatch):
    """A decides to charge S; its lease runs out, B takes S and charges period 1; A charges nothing."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    config = engine.RenewalConfig.from_settings()
    now = set_time(DUE)
    run = engine.start_run(now, "test")
    ((pk, token),) = engine.claim_next_batch(now, size=1, run=run, lease=config.lease)
    later = DUE + config.lease + timedelta(seconds=1)
    real_write = attempts.write_attempts
    seen: list[str] = []

    def write_after_worker_b(*args: Any, **kwargs: Any) -> Any:
        # A has read S and planned its charge; B runs to the end before A's
        # attempt is written.
        if threading.current_thread() is threading.main_thread() and not seen:
            seen.append("b ran")
            b = _on_other_connection(
                lambda: engine.renew_subscription(sub.pk, now=later)
            )
            assert b is not None and b.outcome == DecisionOutcome.CHARGED
        return real_write(*args, **kwargs)

    monkeypatch.setattr(engine, "write_attempts", write_after_worker_b)

    decision = engine.renew_claimed(pk, token, now=now, run=run, config=config)

    assert seen == ["b ran"]
    assert charges_per_agreement_period() == {(contract.okpay_id, 1): 1}
    assert decision is not None
    assert (decision.outcome, decision.reason) == (
        DecisionOutcome.SKIPPED,
        attempts.CLAIM_LOST,
    )
    assert RenewalDecision.objects.get(run=run, subscription=sub).reason == (
        attempts.CLAIM_LOST
    )
    assert list(
        ChargeAttempt.objects.filter(subscription=sub).values_list(
            "period_index", "status"
        )
    ) == [(1, ChargeAttemptStatus.COMPLETED)]
    assert Subscription.objects.get(pk=sub.pk).period_index == 2


def test_resolver_leaves_a_charge_still_in_flight_of_a_long_run(okpay):
    """A run's attempts carry its start time; one sent late in a long run is not crashed.

    Worker A (a run that started long ago) is in a slow charge; the resolver,
    by its clock, thinks the attempt is stale. It must not declare the charge
    missing while it is in flight, or worker B, whose clock is past A's lease,
    charges the period a second time.
    """
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    config = engine.RenewalConfig.from_settings()
    set_time(DUE)
    faults.add_rule("slow", operation=CHARGE, delay_seconds=4)
    a_done = threading.Event()

    def worker_a() -> None:
        try:
            engine.renew_subscription(sub.pk, now=DUE, config=config)
        finally:
            a_done.set()
            connection.close()

    thread = threading.Thread(target=worker_a)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not ChargeAttempt.objects.filter(
            subscription=sub, status=ChargeAttemptStatus.SENDING
        ).exists():
            assert time.monotonic() < deadline, "worker A never started its charge"
            time.sleep(0.05)
        later = DUE + config.lease + timedelta(seconds=1)
        resolved = resolver.resolve_pending_attempts(now=later).as_dict()
        engine.renew_subscription(sub.pk, now=later, config=config)
    finally:
        thread.join(timeout=60)
    assert a_done.is_set()

    assert charges_per_agreement_period() == {(contract.okpay_id, 1): 1}
    assert resolved == {"still_unknown": 1}
