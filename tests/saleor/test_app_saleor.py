"""The App in a real Saleor 3.24: install, checkout, repeat, refund, renewal orders.

Opt-in: skipped without the ``tests/saleor`` environment variables (see
``app_support``). Prints what it did, for the record.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command

from okpay_gateway import clients, conf
from okpay_gateway.contrib.saleor_app import install, renewals, saleor_api
from okpay_gateway.contrib.saleor_app.agreements import (
    AGREEMENT_METADATA_KEY,
    active_agreement,
)
from okpay_gateway.contrib.saleor_app.manifest import PERMISSIONS, WEBHOOKS
from okpay_gateway.contrib.saleor_app.models import (
    Installation,
    RenewalOrder,
    RenewalOrderStatus,
)
from okpay_gateway.emulator import clock as emulator_clock
from okpay_gateway.emulator import ipn_sender
from okpay_gateway.emulator.seed import load_seed
from okpay_gateway.models import Payment, PaymentStatus, Subscription
from tests.payments.support import (
    CUSTOMER_EMAIL,
    CUSTOMER_WALLET,
    MERCHANT_API_PASSWORD,
    MERCHANT_WALLET,
    use_emulator,
)
from tests.saleor.app_support import (
    APP,
    APP_DELETE,
    CATEGORY_CREATE,
    CHANNELS,
    CHARGE,
    CHECKOUT_COMPLETE,
    CHECKOUT_CREATE,
    CHECKOUT_CUSTOMER_ATTACH,
    CUSTOMER_CREATE,
    GATEWAY_INITIALIZE,
    ORDER,
    ORDER_BY_EXTERNAL_REFERENCE,
    ORDER_FOR_SUBSCRIPTIONS,
    PAGES_OF_TYPE,
    PRODUCT_CHANNEL,
    PRODUCT_CREATE,
    PRODUCT_TYPE_CREATE,
    REFUND,
    REFUND_REASON,
    TRANSACTION_INITIALIZE,
    USER_METADATA,
    VARIANT_CHANNEL,
    VARIANT_CREATE,
    Saleor,
    address,
    saleor_env,
    unique,
)
from tests.saleor_app.standin import SigningKey
from tests.saleor_app.support import approve_at_okpay

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PRICE = "9.90"


class World:
    """What one test built in Saleor."""

    staff: Saleor
    api_url: str
    app_base: str
    identifier: str
    app_id: str
    channel: dict
    variant_id: str
    customer_id: str


def _seed_wallets(currency: str) -> None:
    load_seed(
        {
            "wallets": [
                {
                    "wallet_id": MERCHANT_WALLET,
                    "email": "merchant@example.com",
                    "name": "Merchant",
                    "api_password": MERCHANT_API_PASSWORD,
                    "api_enabled": True,
                    "balances": {currency: "100.00"},
                },
                {
                    "wallet_id": CUSTOMER_WALLET,
                    "email": CUSTOMER_EMAIL,
                    "name": "Alice",
                    "password": "customer-pass",
                    "balances": {currency: "500.00"},
                },
            ]
        }
    )


def _catalogue(world: World) -> None:
    staff, channel = world.staff, world.channel
    type_id = staff.mutate(
        PRODUCT_TYPE_CREATE, "productTypeCreate", {"name": unique("OKPAY plan")}
    )["productType"]["id"]
    category_id = staff.mutate(
        CATEGORY_CREATE, "categoryCreate", {"name": unique("OKPAY")}
    )["category"]["id"]
    product_id = staff.mutate(
        PRODUCT_CREATE,
        "productCreate",
        {
            "input": {
                "productType": type_id,
                "category": category_id,
                "name": "Hosting plan",
                "metadata": [{"key": "okpay.interval", "value": "month"}],
            }
        },
    )["product"]["id"]
    staff.mutate(
        PRODUCT_CHANNEL,
        "productChannelListingUpdate",
        {"id": product_id, "channel": channel["id"]},
    )
    stocks = [
        {"warehouse": warehouse["id"], "quantity": 1000}
        for warehouse in channel["warehouses"][:1]
    ]
    world.variant_id = staff.mutate(
        VARIANT_CREATE,
        "productVariantCreate",
        {
            "input": {
                "product": product_id,
                "sku": unique("okpay-plan"),
                "attributes": [],
                "trackInventory": False,
                "stocks": stocks,
            }
        },
    )["productVariant"]["id"]
    staff.mutate(
        VARIANT_CHANNEL,
        "productVariantChannelListingUpdate",
        {"id": world.variant_id, "channel": channel["id"], "price": PRICE},
    )


@pytest.fixture
def saleor(settings, live_server):
    """The App on the live server, pointed at the real Saleor (not installed yet)."""
    env = saleor_env()
    api_url = env["OKPAY_SALEOR_GRAPHQL_URL"]
    w = World()
    w.api_url = api_url
    w.app_base = live_server.url.replace("localhost", "127.0.0.1") + "/okpay-app/"
    w.identifier = unique("okpay-test")
    w.staff = Saleor(api_url)
    w.staff.token = install.staff_token(
        api_url, env["OKPAY_SALEOR_STAFF_EMAIL"], env["OKPAY_SALEOR_STAFF_PASSWORD"]
    )
    channels = [
        channel
        for channel in w.staff.call(CHANNELS)["channels"]
        if channel["isActive"] and channel["currencyCode"] in ("USD", "EUR", "GBP")
    ]
    if not channels:
        pytest.skip("the Saleor has no active channel in USD, EUR or GBP")
    w.channel = channels[0]
    currency = w.channel["currencyCode"]
    settings.ROOT_URLCONF = "tests.saleor_app.urls"
    settings.OKPAY_SALEOR_APP = {
        "APP_URL": w.app_base,
        "ALLOWED_SALEOR_URLS": [api_url],
        "APP_IDENTIFIER": w.identifier,
        "SUPPORTED_CURRENCIES": [currency],
        "MONTHLY_LIMIT": "300.00",
        "JWKS_MIN_REFRESH_SECONDS": 0,
        "READ_TIMEOUT": 60,
    }
    settings.OKPAY_EMULATOR = {**settings.OKPAY_EMULATOR, "IPN_DELIVERY": "sync"}
    ipn_sender.set_session_factory(None)
    saleor_api.reset()
    use_emulator(settings)
    settings.OKPAY_GATEWAY = {**settings.OKPAY_GATEWAY, "ACCEPT_TEST_IPN": True}
    _seed_wallets(currency)
    yield w
    saleor_api.reset()


@pytest.fixture
def world(saleor):
    """``saleor`` with the App installed by appCreate + webhookCreate, and a catalogue."""
    w = saleor
    result = install.install(w.api_url, w.staff.token)
    w.app_id = result.app_id
    print(f"App {w.identifier} in {w.api_url} as {w.app_id}, App at {w.app_base}")
    _catalogue(w)
    w.customer_id = w.staff.mutate(
        CUSTOMER_CREATE,
        "customerCreate",
        {
            "input": {
                "email": f"{unique('alice')}@example.com",
                "firstName": "Alice",
                "lastName": "Payer",
                "isActive": True,
                "defaultBillingAddress": address(),
            }
        },
    )["user"]["id"]
    yield w
    w.staff.mutate(APP_DELETE, "appDelete", {"id": w.app_id})
    # Saleor's worker may still be delivering async webhooks queued before the
    # delete; let them land before the test database is flushed.
    time.sleep(5)


def _checkout(world: World) -> str:
    # Created as the storefront does (anonymous: a staff token would attach the
    # staff user), then given to the customer by staff.
    storefront = Saleor(world.api_url)
    checkout = storefront.mutate(
        CHECKOUT_CREATE,
        "checkoutCreate",
        {
            "input": {
                "channel": world.channel["slug"],
                "email": "alice@example.com",
                "lines": [{"variantId": world.variant_id, "quantity": 1}],
                "billingAddress": address(),
            }
        },
    )["checkout"]
    world.staff.mutate(
        CHECKOUT_CUSTOMER_ATTACH,
        "checkoutCustomerAttach",
        {"id": checkout["id"], "customer": world.customer_id},
    )
    return checkout["id"]


def _initialize(world: World, checkout_id: str) -> dict:
    # As a storefront does: no ``action`` (the channel's flow applies).
    return world.staff.mutate(
        TRANSACTION_INITIALIZE,
        "transactionInitialize",
        {
            "id": checkout_id,
            "gateway": world.identifier,
            "data": {"returnUrl": "http://127.0.0.1:9/checkout/done"},
        },
    )


def _complete(world: World, checkout_id: str) -> dict:
    order_id = world.staff.mutate(
        CHECKOUT_COMPLETE, "checkoutComplete", {"id": checkout_id}
    )["order"]["id"]
    return world.staff.call(ORDER, {"id": order_id})["order"]


def _refund_reason(staff: Saleor) -> str | None:
    """A reason page when the shop requires one for refunds (populatedb does)."""
    reason_type = staff.call(REFUND_REASON)["refundSettings"]["reasonReferenceType"]
    if not reason_type:
        return None
    edges = staff.call(PAGES_OF_TYPE, {"type": reason_type["id"]})["pages"]["edges"]
    return edges[0]["node"]["id"] if edges else None


def _wait_for(fetch, done, seconds: float = 90):
    """Poll ``fetch()`` until ``done(value)``; returns the last value."""
    deadline = time.monotonic() + seconds
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(1)
        value = fetch()
    return value


def _renew(months: int) -> None:
    subscription = Subscription.objects.order_by("pk").first()
    at = subscription.anchor + timedelta(days=31 * months + 1)
    emulator_clock.freeze(at)
    clients.client_for(conf.get_settings()).tokens.resync(at)
    out = io.StringIO()
    call_command("okpay_renew", "--as-of", at.isoformat(), stdout=out)
    print(out.getvalue())


def _subscriptions_started(world: World, order: dict) -> str:
    """Wait for ORDER_FULLY_PAID (async: needs Saleor's Celery worker)."""
    for _ in range(20):
        if Subscription.objects.exists():
            return "ORDER_FULLY_PAID webhook"
        time.sleep(0.5)
    # No worker delivered the async webhook: start it from the same selection,
    # queried with the staff token, through the App's own handler.
    payload = world.staff.call(ORDER_FOR_SUBSCRIPTIONS, {"id": order["id"]})["order"]
    installation = Installation.objects.get()
    contract = active_agreement(
        installation,
        payload["user"],
        payload["total"]["gross"]["currency"],
        payload["channel"]["slug"],
    )
    renewals.subscriptions_from_order(installation, payload, contract)
    return (
        "order queried by the test (ORDER_FULLY_PAID not delivered: no Celery worker)"
    )


def test_app_in_real_saleor_checkout_repeat_refund_and_renewal_orders(world):
    staff = world.staff
    installation = Installation.objects.get()
    assert installation.app_id == world.app_id

    # First purchase: approval link, approval at the emulator, IPN, report.
    checkout_id = _checkout(world)
    gateway = staff.mutate(
        GATEWAY_INITIALIZE,
        "paymentGatewayInitialize",
        {"id": checkout_id, "gateway": world.identifier},
    )["gatewayConfigs"][0]
    assert gateway["data"]["currencies"] == [world.channel["currencyCode"]]
    first = _initialize(world, checkout_id)
    assert first["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED", first
    granted = approve_at_okpay(first["data"]["fields"])
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.COMPLETED
    order = _complete(world, checkout_id)
    print("first order", json.dumps(order))
    assert order["chargeStatus"] == "FULL"
    # Saleor keeps the transaction's first pspReference; the charge event has OKPAY's.
    assert {"type": "CHARGE_SUCCESS", "pspReference": str(payment.okpay_txn_id)} in [
        event for txn in order["transactions"] for event in txn["events"]
    ]
    metadata = staff.call(USER_METADATA, {"id": world.customer_id})["user"]
    assert {"key": AGREEMENT_METADATA_KEY, "value": str(granted.id)} in metadata[
        "privateMetadata"
    ]

    # Repeat purchase: charged at once (CHARGE channels), or authorized and
    # charged when the shop asks (AUTHORIZATION channels: Saleor's default).
    second_checkout = _checkout(world)
    repeat = _initialize(world, second_checkout)
    flow = repeat["transactionEvent"]["type"]
    print("repeat purchase answered", flow)
    assert flow in ("CHARGE_SUCCESS", "AUTHORIZATION_SUCCESS"), repeat
    second_order = _complete(world, second_checkout)
    if flow == "AUTHORIZATION_SUCCESS":
        assert second_order["chargeStatus"] == "NONE"
        charged = staff.mutate(
            CHARGE,
            "transactionRequestAction",
            {"id": repeat["transaction"]["id"], "amount": PRICE},
        )["transaction"]
        print("charge requested", json.dumps(charged))
        # Saleor delivers *_REQUESTED webhooks from its Celery worker.
        second_order = _wait_for(
            lambda: staff.call(ORDER, {"id": second_order["id"]})["order"],
            lambda order: order["chargeStatus"] == "FULL",
        )
    print("repeat order", json.dumps(second_order))
    assert second_order["chargeStatus"] == "FULL"

    # Refund part of the repeat purchase from Saleor (delivered by its worker).
    staff.mutate(
        REFUND,
        "transactionRequestAction",
        {
            "id": repeat["transaction"]["id"],
            "amount": "5.00",
            "reason": _refund_reason(staff),
        },
    )
    refunded = _wait_for(
        lambda: staff.call(ORDER, {"id": second_order["id"]})["order"],
        lambda order: order["transactions"][0]["refundedAmount"]["amount"] > 0,
    )
    print("refund", json.dumps(refunded["transactions"]))
    assert Decimal(str(refunded["transactions"][0]["refundedAmount"]["amount"])) == (
        Decimal("5.00")
    )

    # Renewal a month later: a paid Saleor order, once.
    how = _subscriptions_started(world, order)
    print("subscriptions started from", how)
    assert Subscription.objects.exists()
    _renew(1)
    rows = list(RenewalOrder.objects.order_by("pk"))
    assert rows and all(row.status == RenewalOrderStatus.PAID for row in rows), [
        (row.invoice, row.status, row.last_error) for row in rows
    ]
    for row in rows:
        found = staff.call(ORDER_BY_EXTERNAL_REFERENCE, {"reference": row.reference})[
            "order"
        ]
        print("renewal order", json.dumps(found))
        assert found["id"] == row.order_id
        assert found["chargeStatus"] == "FULL"
        assert [t["pspReference"] for t in found["transactions"]] == [
            str(row.payment.okpay_txn_id)
        ]
    _renew(1)
    call_command("okpay_saleor_app_retry", stdout=io.StringIO())
    assert RenewalOrder.objects.count() == len(rows)
    for row in rows:
        again = staff.call(ORDER_BY_EXTERNAL_REFERENCE, {"reference": row.reference})
        assert again["order"]["id"] == row.order_id


def test_real_saleor_forged_and_unsigned_webhooks_are_refused(world):
    hook = world.app_base + "webhooks/transaction-initialize-session/"
    keys = saleor_api.fetch_jwks(world.api_url)["keys"]
    forger = SigningKey(keys[0]["kid"])
    body = json.dumps({"action": {"amount": "1.00", "currency": "USD"}}).encode()
    headers = {"Saleor-Api-Url": world.api_url, "Content-Type": "application/json"}
    unsigned = requests.post(hook, data=body, headers=headers, timeout=30)
    forged = requests.post(
        hook,
        data=body,
        headers={**headers, "Saleor-Signature": forger.sign(body)},
        timeout=30,
    )
    print("unsigned", unsigned.status_code, "forged", forged.status_code)
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert not Payment.objects.exists()


def test_app_installs_through_saleors_install_flow(saleor):
    """Saleor fetches the manifest and posts the token to register/ (its own command)."""
    python = os.environ.get("OKPAY_SALEOR_PYTHON")
    manage = os.environ.get("OKPAY_SALEOR_MANAGE_PY")
    if not (python and manage):
        pytest.skip("OKPAY_SALEOR_PYTHON / OKPAY_SALEOR_MANAGE_PY not set")
    env = dict(os.environ)
    if os.environ.get("OKPAY_SALEOR_SETTINGS"):
        env["DJANGO_SETTINGS_MODULE"] = os.environ["OKPAY_SALEOR_SETTINGS"]
    manifest = saleor.app_base + "manifest/"
    done = subprocess.run(
        [python, manage, "install_app", manifest, "--activate", "--quiet"],
        cwd=os.path.dirname(manage),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print("install_app:", done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert done.returncode == 0
    installation = Installation.objects.get()
    assert installation.saleor_api_url == saleor.api_url
    app = saleor.staff.call(APP, {"id": installation.app_id})["app"]
    print("installed app", json.dumps(app))
    assert app["identifier"] == saleor.identifier
    assert sorted(p["code"] for p in app["permissions"]) == sorted(PERMISSIONS)
    assert len(app["webhooks"]) == len(WEBHOOKS)
    saleor.staff.mutate(APP_DELETE, "appDelete", {"id": installation.app_id})
