"""The demo's checkout and renewals over plain HTTP, as a browser without JavaScript."""

from __future__ import annotations

import html
import re

import requests

from tests.demo.server import DemoServer
from tests.demo.shop_client import Shopper


def _status(page: str) -> str:
    return re.search(r'data-order-status="(\w+)"', page).group(1)


def test_form_checkout_through_okpay_marks_order_paid(demo: DemoServer):
    """Plan → OKPAY button → emulator approval (lowered limit) → the return page shows the order paid."""
    shopper = Shopper.signed_in(demo.base_url, "carol", "carol-demo")
    checkout_page = shopper.press_okpay_button("starter-gbp")
    assert "/okpay-emulator/checkout/" in checkout_page.url
    assert "Approve a billing agreement" in checkout_page.text
    # The plan's price, charged as soon as the agreement is approved.
    assert '<dd id="first-payment"><strong>8.50 GBP</strong>' in checkout_page.text

    back = shopper.approve_at_okpay(
        checkout_page,
        "carol@okpay-demo.test",
        "carol-demo",
        ok_p_monthly_amount="40.00",
    )
    assert "/orders/" in back.url
    assert _status(back.text) == "paid"
    assert "Thank you: your order is paid." in back.text
    # The shopper reads how they paid, not which API the storefront used.
    assert "Payment method</dt><dd>OKPAY billing agreement" in back.text
    for jargon in ("GraphQL", "checkoutComplete", "Server-side form"):
        assert jargon not in back.text.split("<main", 1)[1]

    account = shopper.get("/account/").text
    assert re.search(r'data-subscription="\d+" data-status="active"', account)
    assert "Your OKPAY agreement no. " in account


def test_second_purchase_charges_existing_agreement_without_redirect(demo: DemoServer):
    """With an active agreement the OKPAY button charges at once and lands on the paid order."""
    shopper = Shopper.signed_in(demo.base_url, "alice", "alice-demo")
    first = shopper.press_okpay_button("starter-usd")
    shopper.approve_at_okpay(first, "alice@okpay-demo.test", "alice-demo")

    page = shopper.get("/plans/pro-usd/")
    assert "already have an active OKPAY agreement in USD" in page.text
    second = shopper.press_okpay_button("pro-usd")
    assert "/orders/" in second.url
    assert _status(second.text) == "paid"


def test_clock_month_renews_and_cancel_stops_subscription(demo: DemoServer):
    """A month on the clock charges the renewal; cancelling the agreement stops the subscription."""
    shopper = Shopper.signed_in(demo.base_url, "bob", "bob-demo")
    page = shopper.press_okpay_button("weekly-eur")
    shopper.approve_at_okpay(page, "bob@okpay-demo.test", "bob-demo")

    clock = shopper.get("/demo/clock/")
    moved = shopper.post("/demo/clock/", {"step": "1w"}, csrf_from=clock.text)
    assert "Clock moved +1 week" in moved.text
    assert re.search(r"Renewals: [^<]*\d+ charged", moved.text)

    account = shopper.get("/account/").text
    row = re.search(
        r'<tr data-subscription="(\d+)" data-status="active">.*?'
        r'<td>Weekly pass \(EUR\)</td>.*?<td class="periods-paid">(\d+)</td>',
        account,
        re.S,
    )
    assert row is not None
    assert int(row.group(2)) == 2

    cancel = re.search(r'action="(/account/agreements/\d+/cancel/)"', account).group(1)
    after = shopper.post(cancel, {}, csrf_from=account).text
    assert "Your OKPAY agreement is canceled" in after
    assert 'data-status="canceled"' in after
    assert 'class="okpay-agreement__status">Canceled<' in after


def _new_shopper(demo: DemoServer, username: str) -> Shopper:
    """A shop account of its own, so earlier tests' agreements do not interfere."""
    shopper = Shopper(demo.base_url.rstrip("/"), requests.Session())
    page = shopper.get("/signup/")
    password = "a-Long-demo-pass-42"
    shopper.post(
        "/signup/",
        {"username": username, "password1": password, "password2": password},
        csrf_from=page.text,
    )
    return shopper


def _order_form(page: str, form_id: str) -> str:
    return html.unescape(
        re.search(rf'action="([^"]+)"[^>]*id="{form_id}"', page).group(1)
    )


def test_lowered_limit_first_charge_offers_new_agreement_that_pays(demo: DemoServer):
    """Limit lowered below the first payment: the order says why; a new agreement pays it.

    Before, the page said only that the payment failed and "Try again" met the
    same refusal on the same agreement for ever.
    """
    shopper = _new_shopper(demo, "erin-limit")
    checkout_page = shopper.press_okpay_button("starter-gbp")
    back = shopper.approve_at_okpay(
        checkout_page, "carol@okpay-demo.test", "carol-demo", ok_p_monthly_amount="5.00"
    )
    assert _status(back.text) == "failed"
    assert "more than a limit set on your OKPAY agreement" in back.text
    assert 'id="order-retry"' not in back.text
    assert "Approve a new OKPAY agreement" in back.text

    renew = _order_form(back.text, "order-new-agreement")
    approval = shopper.post(renew, {"new_agreement": "1"}, csrf_from=back.text)
    assert "/okpay-emulator/checkout/" in approval.url
    paid = shopper.approve_at_okpay(approval, "carol@okpay-demo.test", "carol-demo")
    assert _status(paid.text) == "paid"
    assert paid.url == back.url

    account = shopper.get("/account/").text
    statuses = re.findall(r'class="okpay-agreement__status">(\w+)<', account)
    assert sorted(statuses) == ["Active", "Canceled"]


def test_short_wallet_first_charge_offers_top_up_retry_or_new_agreement(
    demo: DemoServer,
):
    """A wallet too short for the first payment: the shopper may retry or approve anew."""
    shopper = _new_shopper(demo, "frank-short")
    checkout_page = shopper.press_okpay_button("pro-usd")
    back = shopper.approve_at_okpay(checkout_page, "bob@okpay-demo.test", "bob-demo")
    assert _status(back.text) == "failed"
    assert "does not hold enough money" in back.text
    assert 'id="order-retry"' in back.text
    assert 'id="order-new-agreement"' in back.text
