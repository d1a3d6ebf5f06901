"""Declined renewals walk the dunning ladder: signals and e-mails at every step."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from okpay_gateway import signals
from okpay_gateway.billing import engine
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.models import RenewalDecision, SubscriptionStatus
from tests.billing_engine.support import (
    emulator_invoices,
    seed_customers,
    set_time,
    subscribe,
    utc,
)


@pytest.fixture
def received():
    """Every billing signal sent during the test, as (name, kwargs)."""
    names = [
        "subscription_renewed",
        "subscription_past_due",
        "subscription_suspended",
        "subscription_canceled",
        "subscription_expired",
        "renewal_declined",
    ]
    log: list[tuple[str, dict]] = []
    handlers = []
    for name in names:

        def handler(sender, _name=name, **kwargs):
            log.append((_name, kwargs))

        getattr(signals, name).connect(handler, weak=False)
        handlers.append((name, handler))
    yield log
    for name, handler in handlers:
        getattr(signals, name).disconnect(handler)


def test_dunning_ladder_declines_retries_suspends_then_cancels(okpay, received):
    """Four declines (first + 3 retries on D+1, D+4, D+9) suspend; 7 days later it is canceled."""
    (contract,) = seed_customers(1, balance="5.00")
    sub = subscribe(contract, paid_at=utc(2027, 1, 3, 12))
    day = utc(2027, 2, 3, 12)
    expected_next = [utc(2027, 2, 4, 12), utc(2027, 2, 7, 12), utc(2027, 2, 12, 12)]

    for attempt_no, when in enumerate([day, *expected_next[:3]], start=1):
        report = engine.run_renewals(now=set_time(when))
        assert report.declined == {"insufficient_funds": 1}
        sub.refresh_from_db()
        assert sub.consecutive_failures == attempt_no
        if attempt_no <= 3:
            assert sub.status == SubscriptionStatus.PAST_DUE
            assert sub.next_charge_at == expected_next[attempt_no - 1]

    assert sub.status == SubscriptionStatus.SUSPENDED
    assert sub.suspended_at == utc(2027, 2, 12, 12)
    assert sub.next_charge_at == utc(2027, 2, 19, 12)

    engine.run_renewals(now=set_time(utc(2027, 2, 19, 12)))
    sub.refresh_from_db()
    assert (sub.status, sub.end_reason) == (SubscriptionStatus.CANCELED, "dunning")

    names = [name for name, _ in received]
    assert names == [
        "renewal_declined",
        "subscription_past_due",
        "renewal_declined",
        "renewal_declined",
        "renewal_declined",
        "subscription_suspended",
        "subscription_canceled",
    ]
    steps = [kw["step"].action for name, kw in received if name == "renewal_declined"]
    assert steps == ["retry", "retry", "retry", "suspend"]
    assert emulator_invoices() == {}
    assert list(
        RenewalDecision.objects.filter(subscription=sub)
        .order_by("decided_at")
        .values_list("outcome", "reason")
    ) == [("declined", "insufficient_funds")] * 4 + [("skipped", "dunning_canceled")]
    subjects = [message.subject for message in mail.outbox]
    assert subjects == ["We could not renew Plan"] * 4 + [
        "Your subscription Plan has ended"
    ]
    assert mail.outbox[0].to == [contract.client_email]
    assert "try again on 4 February 2027" in mail.outbox[0].body
    assert "suspended" in mail.outbox[3].body


def test_dunning_retry_after_top_up_reactivates_subscription(okpay, received):
    """A retry that succeeds makes the subscription active again and resets the count."""
    (contract,) = seed_customers(1, balance="5.00")
    sub = subscribe(contract, paid_at=utc(2027, 1, 3, 12))
    engine.run_renewals(now=set_time(utc(2027, 2, 3, 12)))
    wallet = Wallet.objects.get(email=contract.client_email)
    operations.set_balance(wallet, "EUR", Decimal("50.00"))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 4, 12)))

    assert report.outcomes == {"charged": 1}
    sub.refresh_from_db()
    assert (sub.status, sub.consecutive_failures, sub.period_index) == ("active", 0, 2)
    assert sub.next_charge_at == utc(2027, 3, 3, 12)
    assert emulator_invoices() == {f"{sub.pk}-1": 1}
    renewed = [kw for name, kw in received if name == "subscription_renewed"]
    assert [kw["period"] for kw in renewed] == [1]
    assert renewed[0]["payment"].invoice == f"{sub.pk}-1"
