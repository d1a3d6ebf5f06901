"""The demo with ``--log-level DEBUG``: masked SOAP log, the merchant's wallet, the favicon."""

from __future__ import annotations

import re

import pytest
import requests

from tests.demo.server import DemoServer, start_demo
from tests.demo.shop_client import Shopper, csrf_token

TIMEOUT = (5, 60)
MERCHANT_EMAIL = "shop@okpay-demo.test"
MERCHANT_PASSWORD = "merchant-demo"
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def debug_demo(tmp_path_factory: pytest.TempPathFactory):
    """A demo of its own (it logs at DEBUG) where carol has bought the GBP plan."""
    server = start_demo(
        tmp_path_factory.mktemp("debug-demo"),
        "--renew-interval",
        "0",
        "--log-level",
        "debug",
    )
    try:
        shopper = Shopper.signed_in(server.base_url, "carol", "carol-demo")
        page = shopper.press_okpay_button("starter-gbp")
        shopper.approve_at_okpay(page, "carol@okpay-demo.test", "carol-demo")
        yield server
    finally:
        server.stop()


def soap_log_records(output: str) -> list[str]:
    """Every record of the okpay_gateway.provider.soap logger, with its envelope lines."""
    records: list[list[str]] = []
    current: list[str] | None = None
    for line in output.splitlines():
        if RECORD_START.match(line):
            current = [line] if " okpay_gateway.provider.soap: " in line else None
            if current is not None:
                records.append(current)
        elif not line.strip():
            # A record ends at the blank line after its envelope (the banner's
            # wallet IDs can follow it).
            current = None
        elif current is not None:
            current.append(line)
    return ["\n".join(record) for record in records]


def test_debug_log_level_shows_soap_envelopes_with_wallets_masked(debug_demo):
    """--log-level DEBUG reaches the provider's envelope log; no wallet or e-mail in it."""
    records = soap_log_records(debug_demo.output)
    text = "\n".join(records)
    assert any(" DEBUG " in r and "PreapprovedPayment_Charge" in r for r in records)
    assert "MerchantWalletID>***<" in text or "WalletID>***<" in text
    assert re.findall(r"OK\d{9}", text) == []
    assert "@okpay-demo.test" not in text


def merchant_account(demo: DemoServer) -> requests.Response:
    """Open the merchant's page, get sent to the sign-in, sign in, come back."""
    session = requests.Session()
    page = session.get(demo.url("/okpay-emulator/merchant/"), timeout=TIMEOUT)
    assert "/okpay-emulator/merchant/sign-in" in page.url
    account = session.post(
        page.url,
        data={
            "email": MERCHANT_EMAIL,
            "password": MERCHANT_PASSWORD,
            "next": "/okpay-emulator/merchant/",
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        headers={"Referer": page.url},
        timeout=TIMEOUT,
    )
    session.close()
    return account


def test_merchant_signs_in_and_sees_agreements_and_transactions(debug_demo):
    """The banner's merchant login works and shows carol's agreement and its charge."""
    assert re.search(
        rf"Merchant wallet\s+/okpay-emulator/merchant/\s+login {MERCHANT_EMAIL}"
        rf"\s+password {MERCHANT_PASSWORD}",
        debug_demo.output,
    )
    account = merchant_account(debug_demo)
    assert account.status_code == 200
    assert account.url.endswith("/okpay-emulator/merchant/")
    assert 'Merchant wallet <span class="mono">OK100000001</span>' in account.text
    agreement = re.search(r'<tr data-agreement="(\d+)">(.*?)</tr>', account.text, re.S)
    assert agreement is not None
    assert "carol@okpay-demo.test" in agreement.group(2)
    assert "Active" in agreement.group(2)
    charge = re.search(
        rf'<tr data-transaction="\d+">(.*?<td>{agreement.group(1)}</td>)</tr>',
        account.text,
        re.S,
    )
    assert charge is not None
    assert "received" in charge.group(1)
    assert "GBP" in charge.group(1)


def test_merchant_page_refuses_a_wrong_password(debug_demo):
    """A wrong password stays on the sign-in form with 401."""
    session = requests.Session()
    page = session.get(
        debug_demo.url("/okpay-emulator/merchant/sign-in"), timeout=TIMEOUT
    )
    refused = session.post(
        page.url,
        data={
            "email": MERCHANT_EMAIL,
            "password": "wrong",
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        headers={"Referer": page.url},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 401
    after = session.get(debug_demo.url("/okpay-emulator/merchant/"), timeout=TIMEOUT)
    assert "/sign-in" in after.url


@pytest.mark.parametrize("path", ["/", "/okpay-emulator/", "/admin/login/"])
def test_favicon_is_served_and_linked(debug_demo, path):
    """/favicon.ico answers an icon; the shop's and the emulator's pages link one."""
    icon = requests.get(debug_demo.url("/favicon.ico"), timeout=TIMEOUT)
    assert icon.status_code == 200
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # ICO header
    page = requests.get(debug_demo.url(path), timeout=TIMEOUT)
    assert page.status_code == 200
    if path != "/admin/login/":  # Django's admin template: /favicon.ico serves it
        link = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
        assert link is not None
        linked = requests.get(debug_demo.url(link.group(1)), timeout=TIMEOUT)
        assert linked.status_code == 200
        assert linked.content.startswith(b"<svg")
