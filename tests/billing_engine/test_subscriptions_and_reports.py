"""Subscription creation, notices, reconciliation, admin and the CLI entry point."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from okpay_gateway import conf
from okpay_gateway.billing import engine, notifications_mail
from okpay_gateway.billing.reconcile import reconcile
from okpay_gateway.billing.schedule import BillingInterval, Interval
from okpay_gateway.billing.subscriptions import (
    SubscriptionTerms,
    parse_subscription_metadata,
    subscriptions_from_paid_order,
)
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Contract as EmulatorContract
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.models import Payment, PaymentStatus, Subscription
from tests.billing_engine.support import (
    seed_customers,
    set_time,
    subscribe,
    utc,
)


def test_parse_subscription_metadata_variant_overrides_product():
    """Variant metadata wins over product metadata; the count defaults to 1."""
    terms = parse_subscription_metadata(
        {"okpay.interval": "month", "okpay.interval_count": "3"},
        {"okpay.interval": "week", "okpay.amount": "9.90"},
    )
    assert terms == SubscriptionTerms(
        interval=BillingInterval(Interval.WEEK, 3), title=None, amount=Decimal("9.90")
    )


def test_parse_subscription_metadata_without_interval_is_none():
    """A product without ``okpay.interval`` is no subscription."""
    assert parse_subscription_metadata({"color": "red"}, None) is None


@pytest.mark.parametrize(
    "metadata",
    [
        {"okpay.interval": "fortnight"},
        {"okpay.interval": "month", "okpay.interval_count": "0"},
        {"okpay.interval": "month", "okpay.interval_count": "two"},
        {"okpay.interval": "month", "okpay.amount": "-1"},
    ],
)
def test_parse_subscription_metadata_bad_value_raises(metadata):
    """An unusable value is reported, not guessed."""
    with pytest.raises(ValueError, match="okpay"):
        parse_subscription_metadata(metadata)


def test_subscriptions_from_paid_order_creates_once_per_line(okpay):
    """The order_fully_paid body creates one subscription per marked line, idempotently."""
    (contract,) = seed_customers(1)
    product = SimpleNamespace(metadata={"okpay.interval": "month"})
    plan = SimpleNamespace(
        pk=41,
        variant=SimpleNamespace(metadata={}, product=product),
        product_name="Pro plan",
        total_price_gross_amount=Decimal("19.00"),
    )
    mug = SimpleNamespace(
        pk=42,
        variant=SimpleNamespace(metadata={}, product=SimpleNamespace(metadata={})),
        product_name="Mug",
        total_price_gross_amount=Decimal("5.00"),
    )
    order = SimpleNamespace(
        pk=7,
        currency="EUR",
        channel=SimpleNamespace(slug=""),
        user=None,
        user_email="a@b.example",
    )

    created = subscriptions_from_paid_order(
        order, lines=[plan, mug], contract=contract, paid_at=utc(2027, 1, 31, 9)
    )
    again = subscriptions_from_paid_order(
        order, lines=[plan, mug], contract=contract, paid_at=utc(2027, 1, 31, 9)
    )

    assert [s.pk for s in created] == [s.pk for s in again]
    (sub,) = created
    assert (sub.title, sub.amount, sub.origin) == (
        "Pro plan",
        Decimal("19.00"),
        "order-line:41",
    )
    assert (sub.period_index, sub.next_charge_at) == (1, utc(2027, 2, 28, 9))
    assert Subscription.objects.count() == 1


def test_send_due_notices_sends_reminder_and_expiry_once(okpay):
    """Upcoming-renewal and agreement-expiring mails go out once each."""
    (contract,) = seed_customers(1, end_date=date(2027, 2, 25))
    subscribe(contract, paid_at=utc(2027, 1, 13, 8))
    now = utc(2027, 2, 11, 8)

    first = notifications_mail.send_due_notices(now)
    second = notifications_mail.send_due_notices(now + timedelta(hours=1))

    assert first == {"upcoming_renewal": 1, "agreement_expiring": 1}
    assert second == {"upcoming_renewal": 0, "agreement_expiring": 0}
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == [
        "Your OKPAY agreement for Plan ends on 25 February 2027",
        "Your Plan renews on 13 February 2027",
    ]
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_reconcile_reports_missing_and_mismatch_then_command_fails(okpay):
    """Drift between our ledger and OKPAY's history is reported, and the command exits 1."""
    (contract,) = seed_customers(1)
    good = subscribe(contract, paid_at=utc(2027, 1, 3))
    now = set_time(utc(2027, 2, 3))
    engine.run_renewals(now=now)
    # A charge at OKPAY we never recorded (its invoice in the comment, as our
    # client sends it), and one of ours with the wrong amount.
    merchant = Wallet.objects.get(wallet_id=conf.get_settings().wallet_id)
    operations.charge_contract(
        merchant=merchant,
        contract_id=EmulatorContract.objects.get().id,
        amount=Decimal("3.00"),
        comment="stray-1",
        now=now,
    )
    Payment.objects.filter(invoice=f"{good.pk}-1").update(amount=Decimal("11.00"))
    Payment.objects.create(
        invoice="ghost-1",
        contract=contract,
        amount=Decimal("1.00"),
        currency="EUR",
        status=PaymentStatus.COMPLETED,
        completed_at=now,
    )

    report = reconcile(
        start=now - timedelta(days=1),
        end=now + timedelta(days=1),
        okpay_settings=conf.get_settings(),
        now=now + timedelta(days=1),
    )

    found = {(f.kind, f.invoice) for f in report.findings}
    assert found == {
        ("missing_here", "stray-1"),
        ("amount_mismatch", f"{good.pk}-1"),
        ("missing_at_okpay", "ghost-1"),
    }
    with pytest.raises(CommandError):
        call_command(
            "okpay_reconcile",
            since=(now - timedelta(days=1)).isoformat(),
            until=(now + timedelta(days=1)).isoformat(),
        )


def test_reconcile_clean_ledger_has_no_drift(okpay, capsys):
    """After a normal run the ledger and OKPAY agree."""
    (contract,) = seed_customers(1)
    subscribe(contract, paid_at=utc(2027, 1, 3))
    now = set_time(utc(2027, 2, 3))
    engine.run_renewals(now=now)

    report = reconcile(
        start=now - timedelta(days=1),
        end=now + timedelta(days=1),
        okpay_settings=conf.get_settings(),
        now=now + timedelta(days=1),
    )

    assert report.findings == []
    assert report.okpay_transactions == 1


def test_subscription_admin_lists_decisions(okpay, admin_client):
    """The admin shows subscriptions and the run's decisions."""
    (contract,) = seed_customers(1)
    sub = subscribe(contract, paid_at=utc(2027, 1, 3))
    report = engine.run_renewals(now=set_time(utc(2027, 2, 3)))

    listing = admin_client.get("/admin/okpay_gateway/renewaldecision/")
    detail = admin_client.get(f"/admin/okpay_gateway/subscription/{sub.pk}/change/")
    run = admin_client.get(f"/admin/okpay_gateway/renewalrun/{report.run_id}/change/")

    assert listing.status_code == 200
    assert b"charged" in listing.content
    assert detail.status_code == 200
    assert f"{sub.pk}-1".encode() in detail.content
    assert run.status_code == 200


def test_renew_cli_without_settings_module_exits_2(monkeypatch):
    """``okpay-gateway renew`` refuses to run without a settings module."""
    import argparse

    from okpay_gateway.billing import cli

    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args([])) == 2


def test_send_without_email_backend_logs_one_line_without_traceback(
    okpay, settings, caplog
):
    """Saleor without EMAIL_URL has EMAIL_BACKEND = "": one warning line, no traceback."""
    settings.EMAIL_BACKEND = ""
    (contract,) = seed_customers(1, end_date=date(2027, 2, 25))
    sub = subscribe(contract, paid_at=utc(2027, 1, 13, 8))

    with caplog.at_level("DEBUG", logger="okpay_gateway"):
        sent = notifications_mail.send_upcoming_renewal(sub, utc(2027, 2, 13, 8))

    assert sent is False
    records = [r for r in caplog.records if r.name.startswith("okpay_gateway")]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    assert "EMAIL_BACKEND" in records[0].getMessage()
    assert "upcoming_renewal" in records[0].getMessage()


def test_check_without_email_backend_warns_w003(settings):
    """The missing mail backend is a system-check warning at startup."""
    from okpay_gateway import checks

    settings.EMAIL_BACKEND = ""
    assert [m.id for m in checks.check_email_backend()] == ["okpay_gateway.W003"]
    settings.EMAIL_BACKEND = "no.such.Backend"
    assert [m.id for m in checks.check_email_backend()] == ["okpay_gateway.W003"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert checks.check_email_backend() == []


ENTERED: list[str] = []


@contextlib.contextmanager
def recording_context():
    """Stands in for Saleor's allow_writer(): records that a task ran inside it."""
    ENTERED.append("enter")
    try:
        yield
    finally:
        ENTERED.append("exit")


def test_tasks_run_inside_the_configured_task_context(okpay):
    """TASK_CONTEXT wraps every task (Saleor: allow_writer, so its task class stays quiet)."""
    from okpay_gateway.billing import tasks

    okpay.OKPAY_GATEWAY = {
        **okpay.OKPAY_GATEWAY,
        "TASK_CONTEXT": f"{__name__}.recording_context",
    }
    ENTERED.clear()
    result = tasks.send_billing_notices(as_of="2027-02-11T08:00:00+00:00")

    assert result == {"upcoming_renewal": 0, "agreement_expiring": 0}
    assert ENTERED == ["enter", "exit"]
