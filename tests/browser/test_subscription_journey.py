"""The whole demo journey in a real browser, from plan to cancellation to the admin."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.demo.server import DemoServer


def _sign_in(page, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button:has-text('Sign in')")


def _approve_at_okpay(page, email: str, password: str, monthly: str) -> None:
    expect(page.locator("h1")).to_have_text("Approve a billing agreement")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("button:has-text('Sign in')")
    limit = page.locator("#id_ok_p_monthly_amount")
    expect(limit).to_have_value("100.00")
    limit.fill(monthly)
    page.click("button:has-text('Approve agreement')")


def test_plan_to_renewal_to_cancel_to_admin(page, demo_shop: DemoServer, shot):
    """A customer buys through GraphQL and OKPAY, sees a renewal, cancels; the admin shows it all."""
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Choose a plan")
    shot(page, "plans")

    page.click("[data-plan='starter-eur'] a.button")
    _sign_in(page, "alice", "alice-demo")
    expect(page.locator("h1")).to_have_text("Checkout")
    expect(page.locator("#okpay-summary-title")).to_contain_text("Your OKPAY agreement")
    button = page.get_by_role("button", name=re.compile("Pay with OKPAY"))
    expect(button).to_be_visible()
    expect(button.locator("img")).to_have_attribute("alt", "Pay with OKPAY")
    form = page.locator("form.okpay-checkout")
    expect(form).to_have_attribute("data-okpay-graphql-url", "/graphql/")
    shot(page, "checkout")

    # Keyboard only: the OKPAY button takes focus and Enter presses it; the
    # page's script runs checkoutPaymentCreate + checkoutComplete and follows
    # confirmationData to the emulator.
    button.focus()
    expect(button).to_be_focused()
    with page.expect_response(re.compile(r"/graphql/$")) as first_call:
        page.keyboard.press("Enter")
    assert first_call.value.ok
    page.wait_for_url(re.compile(r"/okpay-emulator/checkout/"))
    shot(page, "okpay-approval")
    _approve_at_okpay(page, "alice@okpay-demo.test", "alice-demo", "50.00")

    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]+/$"))
    # The IPN and the customer's return race to make the first charge. When
    # the IPN's charge is still in flight the return finds the payment
    # SENDING and the order page says "waiting", refreshing itself every 3 s
    # until the charge is recorded: wait over several refreshes, not for the
    # first page only (under load it was the losing side of that race).
    expect(page.locator("#order-paid")).to_contain_text(
        "your order is paid", timeout=90_000
    )
    expect(page.locator(".order-details")).to_have_attribute(
        "data-checkout-channel", "graphql"
    )
    shot(page, "order-paid")

    page.goto("/account/")
    subscription = page.locator("#subscriptions tbody tr").first
    expect(subscription).to_have_attribute("data-status", "active")
    expect(subscription.locator(".periods-paid")).to_have_text("1")
    expect(page.locator(".okpay-agreement__status").first).to_have_text("Active")

    # A month later the renewal is charged.
    page.goto("/demo/clock/")
    page.click("button[value='1m']")
    expect(page.locator(".messages")).to_contain_text("Clock moved +1 month")
    expect(page.locator(".messages")).to_contain_text("1 charged")
    expect(page.locator("#decisions tbody tr").first).to_contain_text("Charged")
    shot(page, "clock-renewal")

    page.goto("/account/")
    expect(subscription.locator(".periods-paid")).to_have_text("2")
    shot(page, "account-renewed")

    # The customer cancels; OKPAY confirms with an access_denied IPN.
    page.click("button:has-text('Cancel this agreement')")
    expect(page.locator(".messages")).to_contain_text("agreement is canceled")
    expect(page.locator(".okpay-agreement__status").first).to_have_text("Canceled")
    expect(page.locator("#subscriptions tbody tr").first).to_have_attribute(
        "data-status", "canceled"
    )
    shot(page, "account-canceled")

    page.goto("/demo/clock/")
    denied = page.locator("#ipns tbody tr", has_text="access_denied")
    for _ in range(30):
        if denied.count() and "Sent" in denied.first.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(denied.first).to_contain_text("Sent")
    # Nothing more is charged for a canceled subscription.
    page.click("button[value='1m']")
    expect(page.locator(".messages")).to_contain_text("nothing was due")

    # The merchant's admin: counts at the top, the contract's history.
    page.goto("/admin/okpay_gateway/contract/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-demo")
    page.click("input[type=submit]")
    expect(page.locator("body")).to_contain_text("Canceled")
    shot(page, "admin-contracts")
    page.click("#result_list tbody tr th a")
    body = page.locator("body")
    expect(body).to_contain_text("pay-")
    expect(body).to_contain_text("Agreement canceled")
    shot(page, "admin-contract-history")
