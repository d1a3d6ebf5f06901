"""The 90-day chart: counts and revenue per day from the core's rows, drawn as SVG."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from okpay_gateway import charts
from okpay_gateway.models import (
    Payment,
    PaymentEvent,
    PaymentEventKind,
    PaymentStatus,
)
from tests.payments.support import local_contract

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 31)


def _at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time())).replace(
        hour=hour
    )


def _paid(
    invoice, amount, currency, day, status=PaymentStatus.COMPLETED, contract=None
):
    return Payment.objects.create(
        invoice=invoice,
        contract=contract,
        amount=Decimal(amount),
        currency=currency,
        status=status,
        completed_at=_at(day),
    )


def _declined(invoice, day, contract=None):
    payment = Payment.objects.create(
        invoice=invoice,
        contract=contract,
        amount=Decimal("9.00"),
        currency="USD",
        status=PaymentStatus.DECLINED,
    )
    for _ in range(2):  # a retried decline still counts once that day
        event = PaymentEvent.objects.create(
            payment=payment, kind=PaymentEventKind.CHARGE_DECLINED
        )
        PaymentEvent.objects.filter(pk=event.pk).update(created_at=_at(day))
    return payment


def test_daily_activity_counts_and_sums_per_day_and_currency():
    """Completed per completion day, declines per ledger day, revenue per currency."""
    _paid("a", "10.00", "USD", TODAY)
    _paid("b", "2.50", "USD", TODAY)
    _paid("c", "7.00", "EUR", TODAY - timedelta(days=1))
    _paid("d", "5.00", "USD", TODAY - timedelta(days=3), PaymentStatus.REFUNDED)
    _paid("old", "99.00", "USD", TODAY - timedelta(days=90))  # outside the window
    _paid("w", "1.00", "USD", TODAY, PaymentStatus.PENDING)  # never completed
    _declined("x", TODAY - timedelta(days=1))

    activity = charts.daily_activity(today=TODAY)

    assert len(activity.days) == 90
    assert activity.days[0] == TODAY - timedelta(days=89)
    assert activity.days[-1] == TODAY
    assert activity.completed[-1] == 2
    assert activity.completed[-2] == 1
    assert activity.completed[-4] == 1
    assert sum(activity.completed) == 4
    assert activity.declined[-2] == 1 and sum(activity.declined) == 1
    assert activity.revenue["USD"][-1] == Decimal("12.50")
    assert activity.totals == {"EUR": Decimal("7.00"), "USD": Decimal("17.50")}


def test_daily_activity_narrowed_to_agreements():
    """``contracts`` keeps only those agreements' charges."""
    mine = local_contract(1, invoice="agr-mine")
    other = local_contract(2, invoice="agr-other")
    _paid("a", "10.00", "USD", TODAY, contract=mine)
    _paid("b", "20.00", "USD", TODAY, contract=other)
    _declined("x", TODAY, contract=other)
    activity = charts.daily_activity(
        today=TODAY, contracts=type(mine).objects.filter(pk=mine.pk)
    )
    assert sum(activity.completed) == 1 and sum(activity.declined) == 0
    assert activity.totals == {"USD": Decimal("10.00")}


def test_render_svg_draws_bars_lines_and_escapes():
    """Bars for completed and declined days, one line per currency, escaped text."""
    _paid("a", "10.00", "USD", TODAY)
    _declined("x", TODAY - timedelta(days=5))
    svg = charts.render_svg(charts.daily_activity(today=TODAY))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="completed"') == 1
    assert svg.count('class="declined"') == 1
    assert 'data-currency="USD"' in svg
    assert f"{TODAY.isoformat()}: 1 completed" in svg
    assert "<script" not in svg


def test_render_svg_of_an_empty_window():
    """No charges: no bars, no lines, the window's dates still shown."""
    svg = charts.render_svg(charts.daily_activity(days=30, today=TODAY))
    assert 'class="completed"' not in svg and "<polyline" not in svg
    assert (TODAY - timedelta(days=29)).isoformat() in svg
