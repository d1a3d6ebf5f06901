"""The emulator's pages in a browser: the first payment on approval, the merchant's wallet."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.demo.server import DemoServer


def test_approval_shows_first_charge_and_merchant_sees_it(
    page, demo_shop: DemoServer, shot
):
    """Carol sees 29.00 EUR charged on approval; the merchant's wallet page then lists it."""
    page.goto("/")
    expect(page.locator('link[rel="icon"]')).to_have_attribute(
        "href", re.compile(r"favicon\.svg$")
    )
    page.click("[data-plan='pro-eur'] a.button")
    page.fill("#id_username", "carol")
    page.fill("#id_password", "carol-demo")
    page.click("button:has-text('Sign in')")
    page.get_by_role("button", name=re.compile("Pay with OKPAY")).click()
    page.wait_for_url(re.compile(r"/okpay-emulator/checkout/"))

    first = page.locator("#first-payment")
    expect(first).to_contain_text("29.00 EUR")
    expect(first).to_contain_text("as soon as you approve")
    shot(page, "approval-first-payment")
    page.fill("#id_email", "carol@okpay-demo.test")
    page.fill("#id_password", "carol-demo")
    page.click("button:has-text('Sign in')")
    page.click("button:has-text('Approve agreement')")
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]+/$"))
    expect(page.locator("#order-paid")).to_contain_text("your order is paid")

    # The banner's merchant login, in the emulator.
    page.goto("/okpay-emulator/merchant/")
    expect(page.locator("h1")).to_have_text("Merchant sign-in")
    page.fill("#id_email", "shop@okpay-demo.test")
    page.fill("#id_password", "merchant-demo")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/okpay-emulator/merchant/$"))
    expect(page.locator("h1")).to_contain_text("OK100000001")
    agreement = page.locator("tr[data-agreement]", has_text="carol@okpay-demo.test")
    expect(agreement).to_contain_text("Active")
    agreement_id = agreement.first.get_attribute("data-agreement")
    charge = page.locator(
        "tr[data-transaction]", has=page.locator(f"td:text-is('{agreement_id}')")
    )
    expect(charge.first).to_contain_text("29.00 EUR")
    expect(charge.first).to_contain_text("received")
    shot(page, "merchant-wallet")

    icon = page.request.get("/favicon.ico")
    assert icon.ok
    assert icon.body()[:4] == b"\x00\x00\x01\x00"

    # The demo server is shared: leave nothing due for the other browser tests.
    page.goto("/account/")
    page.click("button:has-text('Cancel this agreement')")
    expect(page.locator(".messages")).to_contain_text("agreement is canceled")
