"""Renewals against the in-process emulator: month ends, limits, expiry, cancel."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from okpay_gateway.billing import engine
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.models import (
    ChargeAttempt,
    ChargeAttemptStatus,
    RenewalDecision,
    Subscription,
    SubscriptionStatus,
)
from tests.billing_engine.support import (
    emulator_invoices,
    seed_customers,
    set_time,
    subscribe,
    utc,
)


def test_run_renewals_across_month_ends_charges_each_period_once(okpay):
    """A plan anchored on 31 January renews on 28 February and 31 March, once each."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 31, 10))
    assert sub.next_charge_at == utc(2027, 2, 28, 10)

    report = engine.run_renewals(now=set_time(utc(2027, 2, 28, 10)))
    assert report.outcomes["charged"] == 1
    assert report.charged_amounts == {"EUR": Decimal("10.00")}
    sub.refresh_from_db()
    assert (sub.period_index, sub.next_charge_at) == (2, utc(2027, 3, 31, 10))

    quiet = engine.run_renewals(now=set_time(utc(2027, 3, 15)))
    assert quiet.total == 0

    engine.run_renewals(now=set_time(utc(2027, 3, 31, 10)))
    sub.refresh_from_db()
    assert (sub.period_index, sub.next_charge_at) == (3, utc(2027, 4, 30, 10))
    assert emulator_invoices() == {f"{sub.pk}-1": 1, f"{sub.pk}-2": 1}
    wallet = Wallet.objects.get(email=contract.client_email)
    assert wallet.balance("EUR") == Decimal("980.00")
    assert list(
        RenewalDecision.objects.filter(subscription=sub)
        .order_by("decided_at")
        .values_list("outcome", "period_index")
    ) == [("charged", 1), ("charged", 2)]


def test_run_renewals_over_daily_limit_skips_with_reason(okpay):
    """A charge that would exceed the agreement's daily cap is skipped, not sent."""
    (contract,) = seed_customers(1, daily="15.00", monthly="500.00")
    first = subscribe(contract, paid_at=utc(2027, 1, 5, 9))
    second = subscribe(contract, paid_at=utc(2027, 1, 5, 9))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 5, 9)))

    assert report.outcomes == {"charged": 1, "skipped": 1}
    assert report.skipped == {"over_daily_limit": 1}
    assert sum(emulator_invoices().values()) == 1
    skipped = RenewalDecision.objects.get(outcome="skipped")
    assert skipped.subscription_id == second.pk
    assert skipped.reason == "over_daily_limit"
    assert not ChargeAttempt.objects.filter(subscription=second).exists()
    first.refresh_from_db()
    assert first.period_index == 2


def test_run_renewals_next_day_charges_skipped_subscription(okpay):
    """The subscription skipped for the daily cap is charged once the day rolls over."""
    (contract,) = seed_customers(1, daily="15.00", monthly="500.00")
    subscribe(contract, paid_at=utc(2027, 1, 5, 9))
    second = subscribe(contract, paid_at=utc(2027, 1, 5, 9))
    engine.run_renewals(now=set_time(utc(2027, 2, 5, 9)))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 6, 9)))

    assert report.outcomes == {"charged": 1}
    assert emulator_invoices()[f"{second.pk}-1"] == 1


def test_run_renewals_with_fetched_available_amount_skips_over_it(okpay):
    """OKPAY's AvailableAmount (fetched) stops a charge our own ledger would allow."""
    okpay.OKPAY_GATEWAY = {
        **okpay.OKPAY_GATEWAY,
        "RENEWAL_FETCH_AVAILABLE_AMOUNT": True,
    }
    (contract,) = seed_customers(1, monthly="25.00")
    # The agreement's spending at OKPAY that our ledger does not know about.
    contract.monthly_amount = None
    contract.save()
    subscribe(contract, paid_at=utc(2027, 1, 5, 9), amount="30.00")

    report = engine.run_renewals(now=set_time(utc(2027, 2, 5, 9)))

    assert report.skipped == {"over_available_amount": 1}
    assert emulator_invoices() == {}


def test_run_renewals_after_contract_end_date_expires_subscription(okpay):
    """A renewal due after the agreement's end date expires the subscription."""
    from datetime import date

    (contract,) = seed_customers(1, end_date=date(2027, 2, 20))
    sub = subscribe(contract, paid_at=utc(2027, 1, 25, 8))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 25, 8)))

    assert report.skipped == {"contract_expired": 1}
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.EXPIRED
    assert sub.next_charge_at is None
    assert emulator_invoices() == {}


def test_subscription_own_term_over_expires_without_charge(okpay):
    """A subscription whose own end has passed is expired instead of charged."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 1), ends_at=utc(2027, 1, 20))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 1)))

    assert report.skipped == {"subscription_ended": 1}
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.EXPIRED
    assert emulator_invoices() == {}


def test_contract_closed_mid_run_stops_its_subscriptions(okpay):
    """Closing a contract while a run is under way cancels its remaining subscriptions."""
    from okpay_gateway import contracts

    first, second = seed_customers(2)
    subs = [
        subscribe(first, paid_at=utc(2027, 1, 3)),
        subscribe(second, paid_at=utc(2027, 1, 3)),
        subscribe(second, paid_at=utc(2027, 1, 3)),
    ]
    closed = []

    def close_second_after_first(decision):
        if decision.subscription_id == subs[0].pk and not closed:
            contracts.close_contract(second, "canceled", "canceled")
            closed.append(True)

    # Batches of one, so the close lands between the first batch and the next
    # (within a batch the attempts are written, re-checked, before any call).
    config = dataclasses.replace(engine.RenewalConfig.from_settings(), batch_size=1)
    report = engine.run_renewals(
        now=set_time(utc(2027, 2, 3)),
        progress=close_second_after_first,
        config=config,
    )

    assert report.outcomes["charged"] == 1
    assert set(emulator_invoices()) == {f"{subs[0].pk}-1"}
    statuses = list(
        Subscription.objects.filter(contract=second).values_list("status", "end_reason")
    )
    assert statuses == [
        ("canceled", "contract_canceled"),
        ("canceled", "contract_canceled"),
    ]


def test_run_renewals_dry_run_writes_and_charges_nothing(okpay):
    """A dry run previews the decisions and leaves the database and OKPAY alone."""
    (contract,) = seed_customers(1)
    subscribe(contract, paid_at=utc(2027, 1, 3))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 3)), dry_run=True)

    assert report.outcomes == {"charged": 1}
    assert not ChargeAttempt.objects.exists()
    assert not RenewalDecision.objects.exists()
    assert emulator_invoices() == {}


def test_run_renewals_with_limit_takes_only_that_many(okpay):
    """``limit`` caps how many due subscriptions one run takes."""
    contracts = seed_customers(5)
    for contract in contracts:
        subscribe(contract, paid_at=utc(2027, 1, 3))

    report = engine.run_renewals(now=set_time(utc(2027, 2, 3)), limit=3)

    assert report.total == 3
    assert (
        ChargeAttempt.objects.filter(status=ChargeAttemptStatus.COMPLETED).count() == 3
    )
