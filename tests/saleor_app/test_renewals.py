"""Renewal charges become paid Saleor orders, once per period."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from okpay_gateway import clients, conf, signals
from okpay_gateway.contrib.saleor_app import receivers
from okpay_gateway.contrib.saleor_app.models import (
    AppSubscription,
    RenewalOrder,
    RenewalOrderStatus,
)
from okpay_gateway.contrib.saleor_app.renewals import (
    INVOICE_METADATA_KEY,
    REFERENCE_METADATA_KEY,
)
from okpay_gateway.emulator import clock as emulator_clock
from okpay_gateway.emulator.models import Transaction as EmuTransaction
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.models import ChargeAttempt, ChargeAttemptStatus, Subscription
from tests.payments.support import CUSTOMER_WALLET
from tests.saleor_app.support import CHANNEL, CHANNEL_ID, USER_ID, address, gid, user
from tests.saleor_app.test_checkout import agreement_for_customer

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ORDER_PAID = ("webhooks/order-fully-paid/", "ORDER_FULLY_PAID")
VARIANT_ID = gid("ProductVariant", 11)


def paid_order(line_metadata=None) -> dict:
    return {
        "order": {
            "id": gid("Order", "first"),
            "number": "1",
            "userEmail": "alice@example.com",
            "created": "2026-12-01T10:00:00+00:00",
            "channel": {"id": CHANNEL_ID, "slug": CHANNEL},
            "user": user(),
            "total": {"gross": {"amount": 9.9, "currency": "USD"}},
            "billingAddress": address(),
            "shippingAddress": None,
            "lines": [
                {
                    "id": gid("OrderLine", "l1"),
                    "quantity": 1,
                    "productName": "Hosting plan",
                    "totalPrice": {"gross": {"amount": 9.9, "currency": "USD"}},
                    "variant": {
                        "id": VARIANT_ID,
                        "metadata": line_metadata
                        if line_metadata is not None
                        else [{"key": "okpay.interval", "value": "month"}],
                        "product": {
                            "id": gid("Product", 3),
                            "name": "Hosting plan",
                            "metadata": [],
                        },
                    },
                }
            ],
        }
    }


def subscribed(standin, app) -> Subscription:
    agreement_for_customer()
    path, event = ORDER_PAID
    response = standin.send_webhook(app + path, event, paid_order())
    assert response.status_code == 200, response.text
    return Subscription.objects.get()


def renew_month_later(subscription: Subscription, months: int = 1) -> None:
    at = subscription.anchor + timedelta(days=31 * months + 1)
    emulator_clock.freeze(at)
    clients.client_for(conf.get_settings()).tokens.resync(at)
    call_command("okpay_renew", "--as-of", at.isoformat(), stdout=io.StringIO())


def test_paid_order_with_subscription_line_starts_a_subscription(
    app, installed, standin
):
    subscription = subscribed(standin, app)
    assert subscription.amount == Decimal("9.90")
    assert subscription.channel == CHANNEL
    assert subscription.period_index == 1
    saleor_side = AppSubscription.objects.get()
    assert saleor_side.lines == [{"variantId": VARIANT_ID, "quantity": 1}]
    assert saleor_side.saleor_user_id == USER_ID
    assert saleor_side.billing_address["country"] == "US"
    # Saleor delivering the webhook twice starts nothing more.
    path, event = ORDER_PAID
    standin.send_webhook(app + path, event, paid_order())
    assert Subscription.objects.count() == 1


def test_renewal_becomes_one_paid_saleor_order(app, installed, standin):
    subscription = subscribed(standin, app)
    renew_month_later(subscription)
    attempt = ChargeAttempt.objects.get(status=ChargeAttemptStatus.COMPLETED)
    row = RenewalOrder.objects.get()
    assert row.invoice == attempt.invoice == f"{subscription.pk}-1"
    assert row.status == RenewalOrderStatus.PAID
    (order,) = standin.orders.values()
    assert order["status"] == "UNFULFILLED"
    assert order["chargeStatus"] == "FULL"
    assert order["externalReference"] == row.reference
    assert row.reference.startswith("okpay-renewal-")
    assert {"key": REFERENCE_METADATA_KEY, "value": row.reference} in order["input"][
        "privateMetadata"
    ]
    assert {"key": INVOICE_METADATA_KEY, "value": attempt.invoice} in order["input"][
        "privateMetadata"
    ]
    assert order["input"]["user"] == USER_ID
    assert order["input"]["channelId"] == CHANNEL_ID
    assert order["input"]["lines"] == [
        {"variantId": VARIANT_ID, "quantity": 1, "price": "9.90"}
    ]
    psp = str(attempt.payment.okpay_txn_id)
    assert [t["pspReference"] for t in order["transactions"]] == [psp]
    assert order["charged"] == {"amount": "9.90", "currency": "USD"}
    assert EmuTransaction.objects.filter(invoice=attempt.invoice).count() == 1

    # Another run and the retry command create nothing more.
    renew_month_later(subscription)
    call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    assert len(standin.orders) == 1
    assert len(standin.operations("RenewalDraftCreate")) == 1


@pytest.mark.parametrize(
    "lost", ["RenewalDraftCreate", "RenewalDraftComplete", "RenewalTransactionCreate"]
)
def test_crashed_run_finds_the_order_instead_of_creating_another(
    app, installed, standin, lost
):
    """Saleor did the step but its answer was lost: the retry continues, one order."""
    subscription = subscribed(standin, app)
    standin.lose_answer_of = {lost}
    renew_month_later(subscription)
    row = RenewalOrder.objects.get()
    assert row.status != RenewalOrderStatus.PAID
    assert row.last_error
    call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    row.refresh_from_db()
    assert row.status == RenewalOrderStatus.PAID
    (order,) = standin.orders.values()
    assert row.order_id == order["id"]
    assert order["status"] == "UNFULFILLED"
    assert len(order["transactions"]) == 1
    assert len(standin.operations("RenewalDraftCreate")) == 1


def test_lost_signal_is_found_by_the_retry_sweep(app, installed, standin):
    """A crash between the charge's commit and the receiver: the sweep records it."""
    subscription = subscribed(standin, app)
    signals.subscription_renewed.disconnect(dispatch_uid="okpay_saleor_app.renewed")
    try:
        renew_month_later(subscription)
    finally:
        signals.subscription_renewed.connect(
            receivers.order_for_renewal, dispatch_uid="okpay_saleor_app.renewed"
        )
    assert not RenewalOrder.objects.exists()
    call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    assert RenewalOrder.objects.get().status == RenewalOrderStatus.PAID
    assert len(standin.orders) == 1


def test_declined_renewal_creates_no_order(app, installed, standin):
    subscription = subscribed(standin, app)
    Wallet.objects.get(wallet_id=CUSTOMER_WALLET).balances.update(
        amount=Decimal("1.00")
    )
    renew_month_later(subscription)
    assert ChargeAttempt.objects.get().status == ChargeAttemptStatus.DECLINED
    assert not RenewalOrder.objects.exists()
    assert standin.orders == {}
    assert standin.operations("RenewalDraftCreate") == []


def test_saleor_down_keeps_the_charge_and_orders_later(app, installed, standin):
    subscription = subscribed(standin, app)
    standin.down = True
    renew_month_later(subscription)
    attempt = ChargeAttempt.objects.get()
    assert attempt.status == ChargeAttemptStatus.COMPLETED
    assert RenewalOrder.objects.get().status == RenewalOrderStatus.PENDING
    assert standin.orders == {}
    standin.down = False
    call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    assert RenewalOrder.objects.get().status == RenewalOrderStatus.PAID
    assert len(standin.orders) == 1
    assert EmuTransaction.objects.filter(invoice=attempt.invoice).count() == 1


def test_renewal_order_of_a_renewal_starts_no_new_subscription(app, installed, standin):
    """ORDER_FULLY_PAID for the App's own renewal order is not a new purchase."""
    subscription = subscribed(standin, app)
    renew_month_later(subscription)
    row = RenewalOrder.objects.get()
    payload = paid_order()
    payload["order"]["id"] = row.order_id
    path, event = ORDER_PAID
    assert standin.send_webhook(app + path, event, payload).status_code == 200
    assert Subscription.objects.count() == 1


def test_a_row_leased_by_another_worker_is_left_alone(app, installed, standin):
    """The receiver and the retry command never create a period's order twice at once."""
    from django.utils import timezone

    subscription = subscribed(standin, app)
    standin.down = True
    renew_month_later(subscription)
    standin.down = False
    row = RenewalOrder.objects.get()
    RenewalOrder.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(SystemExit):
        call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    assert standin.operations("RenewalDraftCreate") == []
    RenewalOrder.objects.filter(pk=row.pk).update(claimed_until=None)
    call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    row.refresh_from_db()
    assert row.status == RenewalOrderStatus.PAID
    assert row.claimed_until is None


def test_orders_of_another_database_are_not_taken_for_ours(app, installed, standin):
    """Same OKPAY transaction ids in another shop database: the App makes its own order."""
    subscription = subscribed(standin, app)
    for n in range(1, 20):
        standin.orders[f"other-{n}"] = {
            "id": f"other-{n}",
            "number": str(1000 + n),
            "status": "UNFULFILLED",
            "chargeStatus": "FULL",
            "transactions": [{"id": f"t{n}", "pspReference": str(5000000 + n)}],
            "externalReference": f"{subscription.pk}-1",
            "input": {"privateMetadata": [{"key": "okpay.invoice", "value": "1-1"}]},
        }
    renew_month_later(subscription)
    row = RenewalOrder.objects.get()
    assert row.status == RenewalOrderStatus.PAID
    assert not row.order_id.startswith("other-")
    assert len(standin.operations("RenewalDraftCreate")) == 1
