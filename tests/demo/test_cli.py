"""``okpay-gateway demo``: starts, prints what a visitor needs, serves, stops."""

from __future__ import annotations

import re

import requests

from tests.demo.server import DemoServer, start_demo

TIMEOUT = (5, 60)


def test_demo_banner_lists_urls_and_credentials(demo: DemoServer):
    """The banner names the storefront, admin, emulator and every test login."""
    out = demo.output
    assert re.match(r"http://127\.0\.0\.1:\d+/$", demo.base_url)
    for label, path in (
        ("Merchant admin:", "admin/"),
        ("Clock & renewals:", "demo/clock/"),
        ("Emulator WSDL:", "okpay-emulator/OkPayAPI?wsdl"),
        (
            "IPN URL (plugin):",
            "plugins/channel/default-channel/okpay_gateway.payments.okpay/ipn/",
        ),
    ):
        assert f"{label}" in out
        assert demo.base_url + path in out
    for login, password in (
        ("admin", "admin-demo"),
        ("alice", "alice-demo"),
        ("bob", "bob-demo"),
        ("shop@okpay-demo.test", "merchant-demo"),
    ):
        assert f"login {login}" in out
        assert f"password {password}" in out


def test_demo_storefront_lists_plans_in_three_currencies(demo: DemoServer):
    """The home page answers 200 with the seeded plans in EUR, USD and GBP."""
    response = requests.get(demo.url("/"), timeout=TIMEOUT)
    assert response.status_code == 200
    prices = re.findall(
        r'<span class="amount">([0-9.]+)</span> <span class="currency">(\w+)</span>',
        response.text,
    )
    assert ("9.90", "EUR") in prices
    assert ("10.90", "USD") in prices
    assert ("8.50", "GBP") in prices
    assert {currency for _, currency in prices} == {"EUR", "USD", "GBP"}


def test_demo_serves_emulator_wsdl(demo: DemoServer):
    """The emulator mounted below the shop serves OKPAY's WSDL."""
    response = requests.get(demo.url("/okpay-emulator/OkPayAPI?wsdl"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert "PreapprovedPayment_Charge" in response.text
    assert "definitions" in response.text


def test_demo_about_page_says_what_is_emulated(demo: DemoServer):
    """The honest-scope page names the stand-ins and the test credentials."""
    response = requests.get(demo.url("/demo/about/"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert "What is emulated" in response.text
    assert "<code>alice-demo</code>" in response.text
    assert "No card networks" in response.text


def test_demo_command_stops_cleanly_on_sigterm(tmp_path):
    """SIGTERM ends the server with exit code 0 and a goodbye line; a restart keeps the data."""
    data_dir = tmp_path / "data"
    server = start_demo(data_dir, "--renew-interval", "0")
    assert "Created the demo database" in server.output
    assert server.stop() == 0
    assert "Stopping the OKPAY demo." in server.output
    assert (data_dir / "demo.sqlite3").exists()

    again = start_demo(data_dir, "--renew-interval", "0")
    try:
        assert "Created the demo database" not in again.output
        assert requests.get(again.url("/"), timeout=TIMEOUT).status_code == 200
    finally:
        assert again.stop() == 0
