"""Unknown outcomes block the period until the resolver has asked OKPAY."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from okpay_gateway.billing import engine, resolver
from okpay_gateway.emulator import faults
from okpay_gateway.models import ChargeAttempt, ChargeAttemptStatus, PaymentStatus
from tests.billing_engine.support import (
    emulator_invoices,
    seed_customers,
    set_time,
    subscribe,
    utc,
)

CHARGE = "PreapprovedPayment_Charge"


def test_applied_late_charge_is_unknown_then_resolved_completed(okpay):
    """A charge OKPAY applied but answered too late is never sent again; the resolver completes it."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    faults.add_rule("applied_late", operation=CHARGE, delay_seconds=30)
    due = utc(2027, 2, 3)

    first = engine.run_renewals(now=set_time(due))
    assert first.outcomes == {"unknown": 1}
    assert not first.ok
    attempt = ChargeAttempt.objects.get(subscription=sub)
    assert attempt.status == ChargeAttemptStatus.UNKNOWN
    assert attempt.payment.status == PaymentStatus.UNKNOWN

    # Before the resolver's first check the period stays blocked.
    second = engine.run_renewals(now=set_time(due + timedelta(seconds=30)))
    assert second.outcomes == {"unknown": 1}
    assert second.resolved == {}
    assert emulator_invoices() == {f"{sub.pk}-1": 1}

    third = engine.run_renewals(now=set_time(due + timedelta(minutes=2)))
    assert third.resolved == {"completed": 1}
    assert third.total == 0
    sub.refresh_from_db()
    attempt.refresh_from_db()
    assert (attempt.status, sub.period_index) == (ChargeAttemptStatus.COMPLETED, 2)
    assert emulator_invoices() == {f"{sub.pk}-1": 1}


def test_slow_charge_never_applied_is_resolved_not_sent_and_charged_once(okpay):
    """A charge that timed out before OKPAY ran it is found missing and charged again, once."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    faults.add_rule("slow", operation=CHARGE, delay_seconds=30)
    due = utc(2027, 2, 3)
    engine.run_renewals(now=set_time(due))
    assert emulator_invoices() == {}

    report = engine.run_renewals(now=set_time(due + timedelta(minutes=2)))

    assert report.resolved == {"not_sent": 1}
    assert report.outcomes == {"charged": 1}
    attempt = ChargeAttempt.objects.get(subscription=sub)
    assert (attempt.status, attempt.tries) == (ChargeAttemptStatus.COMPLETED, 2)
    assert emulator_invoices() == {f"{sub.pk}-1": 1}


def test_http_500_after_sending_is_unknown_until_resolved(okpay):
    """A bare HTTP 500 answer leaves the outcome unknown; the resolver decides."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    faults.add_rule("http_500", operation=CHARGE)
    due = utc(2027, 2, 3)

    first = engine.run_renewals(now=set_time(due))
    assert first.outcomes == {"unknown": 1}

    result = resolver.resolve_pending_attempts(now=set_time(due + timedelta(minutes=2)))
    assert result.as_dict() == {"not_sent": 1}
    engine.run_renewals(now=set_time(due + timedelta(minutes=3)))
    assert emulator_invoices() == {f"{sub.pk}-1": 1}


def test_resolver_unreachable_okpay_backs_off(okpay):
    """When OKPAY cannot answer the resolver's question the attempt waits for the next check."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    faults.add_rule("applied_late", operation=CHARGE, delay_seconds=30)
    due = utc(2027, 2, 3)
    engine.run_renewals(now=set_time(due))
    faults.add_rule("http_500", operation="Transaction_Get", uses=None)
    faults.add_rule(
        "http_500", operation="PreapprovedPayment_Get_Operations", uses=None
    )

    at = set_time(due + timedelta(minutes=2))
    assert resolver.resolve_pending_attempts(now=at).as_dict() == {"still_unknown": 1}
    attempt = ChargeAttempt.objects.get(subscription=sub)
    assert attempt.status == ChargeAttemptStatus.UNKNOWN
    assert attempt.next_resolve_at == at + timedelta(seconds=300)
    assert (
        resolver.resolve_pending_attempts(now=at + timedelta(seconds=299)).as_dict()
        == {}
    )

    faults.clear()
    done = resolver.resolve_pending_attempts(now=set_time(at + timedelta(seconds=300)))
    assert done.as_dict() == {"completed": 1}


def test_okpay_renew_command_exits_non_zero_on_unknown(okpay, capsys):
    """The command prints the summary table and fails when an outcome is unknown."""
    contracts = seed_customers(2)
    for contract in contracts:
        subscribe(contract, paid_at=utc(2027, 1, 3))
    faults.add_rule("applied_late", operation=CHARGE, delay_seconds=30)
    set_time(utc(2027, 2, 3))

    with pytest.raises(CommandError) as failure:
        call_command("okpay_renew", as_of="2027-02-03T00:00:00+00:00", progress="never")

    assert failure.value.returncode == 1
    out = capsys.readouterr().out
    assert " charged  |        |     1" in out
    assert " unknown  |        |     1" in out
    assert " amount   | EUR    | 10.00" in out
