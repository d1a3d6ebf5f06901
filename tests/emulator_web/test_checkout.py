"""Checkout pages: sign in, lower limits, approve or decline, error pages."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from okpay_gateway.emulator.models import (
    Contract,
    ContractStatus,
    IpnMessage,
    IpnStatus,
    Transaction,
    Wallet,
)

pytestmark = pytest.mark.usefixtures("manual_delivery")

SHOP = "https://shop.example.test"


def _preapproved_link(merchant: str, **overrides: str) -> dict[str, str]:
    link = {
        "ok_receiver": merchant,
        "ok_kind": "preapproved",
        "ok_p_title": "Hosting plan",
        "ok_currency": "eur",
        "ok_p_daily_amount": "20.00",
        "ok_p_monthly_amount": "100.00",
        "ok_p_end_date": "2026-12-31",
        "ok_invoice": "agreement-42",
        "ok_ipn": f"{SHOP}/okpay/ipn/",
        "ok_return_success": f"{SHOP}/okpay/return/success/",
        "ok_return_fail": f"{SHOP}/okpay/return/fail/",
    }
    link.update(overrides)
    return {name: value for name, value in link.items() if value is not None}


def _open(client, link: dict[str, str], method: str = "get") -> str:
    response = getattr(client, method)(reverse("okpay_emulator:checkout"), link)
    assert response.status_code == 302, response.content
    return response["Location"]


def _token(page_url: str) -> str:
    return page_url.rstrip("/").rsplit("/", 1)[-1]


def _sign_in(client, token: str, email: str, password: str = "customer-pass"):
    return client.post(
        reverse("okpay_emulator:checkout-sign-in", args=[token]),
        {"email": email, "password": password},
    )


def _hidden_fields(html: str) -> list[tuple[str, str]]:
    return [
        (unescape(name), unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html
        )
    ]


def test_checkout_preapproved_approve_with_lowered_limit_creates_contract_and_ipn(
    client, seeded
):
    """Approving after lowering the monthly limit stores it and queues access_granted."""
    merchant = seeded.wallet("merchant@example.com")
    page_url = _open(client, _preapproved_link(merchant.wallet_id))
    token = _token(page_url)

    page = client.get(page_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Example Merchant" in html
    assert merchant.wallet_id in html
    assert "Hosting plan" in html
    assert "100.00 EUR" in html
    assert "2026-12-31" in html
    assert "paid by the merchant" in html
    assert 'name="password"' in html

    assert _sign_in(client, token, "alice@example.com").status_code == 302
    signed_in = client.get(page_url).content.decode()
    assert "Signed in as alice@example.com" in signed_in
    assert 'name="ok_p_monthly_amount"' in signed_in

    response = client.post(
        reverse("okpay_emulator:checkout-approve", args=[token]),
        {"ok_p_daily_amount": "20.00", "ok_p_monthly_amount": "60.50"},
    )
    assert response.status_code == 200

    contract = Contract.objects.get()
    alice = Wallet.objects.get(email="alice@example.com")
    assert contract.status == ContractStatus.ACTIVE
    assert contract.client == alice
    assert contract.receiver.wallet_id == merchant.wallet_id
    assert contract.daily_limit == Decimal("20.00")
    assert contract.weekly_limit is None
    assert contract.monthly_limit == Decimal("60.50")
    assert contract.currency == "EUR"
    assert contract.invoice == "agreement-42"

    message = IpnMessage.objects.get()
    assert message.event == "access_granted"
    assert message.status == IpnStatus.QUEUED
    assert message.url == f"{SHOP}/okpay/ipn/"
    assert message.fields == [
        ["ok_charset", "utf-8"],
        ["ok_receiver", merchant.wallet_id],
        ["ok_receiver_id", str(contract.receiver.account_id)],
        ["ok_receiver_wallet", merchant.wallet_id],
        ["ok_receiver_email", "merchant@example.com"],
        ["ok_txn_id", ""],
        ["ok_txn_kind", "preapproved"],
        ["ok_txn_currency", "EUR"],
        ["ok_txn_datetime", "2026-01-15 10:30:00"],
        ["ok_invoice", "agreement-42"],
        ["ok_payer_status", "verified"],
        ["ok_payer_id", str(alice.account_id)],
        ["ok_payer_reputation", "0"],
        ["ok_payer_first_name", "Alice"],
        ["ok_payer_last_name", "Customer"],
        ["ok_payer_business_name", ""],
        ["ok_payer_email", "alice@example.com"],
        ["ok_payer_country", ""],
        ["ok_payer_country_code", ""],
        ["ok_payer_state", ""],
        ["ok_payer_city", ""],
        ["ok_payer_street", ""],
        ["ok_payer_zip", ""],
        ["ok_payer_phone", ""],
        ["ok_p_id", str(contract.id)],
        ["ok_p_event", "access_granted"],
        ["ok_p_status", "active"],
        ["ok_p_title", "Hosting plan"],
        ["ok_p_daily_amount", "20.00"],
        ["ok_p_weekly_amount", ""],
        ["ok_p_monthly_amount", "60.50"],
        ["ok_p_end_date", "2026-12-31"],
        ["ok_ipn_id", str(message.ipn_id)],
    ]

    html = response.content.decode()
    assert f'action="{SHOP}/okpay/return/success/"' in html
    assert 'document.getElementById("okpay-return").submit()' in html
    assert "Return to the shop" in html
    assert _hidden_fields(html) == [tuple(pair) for pair in message.fields]


def test_checkout_raise_limit_is_refused_without_contract(client, seeded):
    """A limit above the shop's is rejected on the page and nothing is stored."""
    merchant = seeded.wallet("merchant@example.com")
    token = _token(_open(client, _preapproved_link(merchant.wallet_id)))
    _sign_in(client, token, "bob@example.com")
    response = client.post(
        reverse("okpay_emulator:checkout-approve", args=[token]),
        {"ok_p_monthly_amount": "150.00"},
    )
    assert response.status_code == 200
    assert "not above 100.00" in response.content.decode()
    assert Contract.objects.count() == 0
    assert IpnMessage.objects.count() == 0


def test_checkout_wrong_password_shows_error_and_stays_signed_out(client, seeded):
    """A wrong password is reported and the approve form is not shown."""
    merchant = seeded.wallet("merchant@example.com")
    token = _token(_open(client, _preapproved_link(merchant.wallet_id)))
    response = _sign_in(client, token, "alice@example.com", "wrong")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Wrong e-mail or password." in html
    assert "Approve agreement" not in html


def test_checkout_merchant_cannot_sign_in_as_customer(client, seeded):
    """The receiving wallet is refused as the paying customer."""
    merchant = seeded.wallet("merchant@example.com")
    token = _token(_open(client, _preapproved_link(merchant.wallet_id)))
    response = _sign_in(client, token, "merchant@example.com", "merchant-pass")
    assert "sign in as a customer" in response.content.decode()


def test_checkout_decline_preapproved_records_failed_contract_and_access_denied(
    client, seeded
):
    """Declining stores a Failed agreement, queues access_denied/failed, returns to fail."""
    merchant = seeded.wallet("merchant@example.com")
    token = _token(_open(client, _preapproved_link(merchant.wallet_id)))
    _sign_in(client, token, "carol@example.com")
    response = client.post(reverse("okpay_emulator:checkout-decline", args=[token]))
    assert response.status_code == 200

    contract = Contract.objects.get()
    assert contract.status == ContractStatus.FAILED
    message = IpnMessage.objects.get()
    fields = message.field_dict()
    assert message.event == "access_denied"
    assert fields["ok_p_event"] == "access_denied"
    assert fields["ok_p_status"] == "failed"
    assert fields["ok_p_id"] == str(contract.id)
    html = response.content.decode()
    assert f'action="{SHOP}/okpay/return/fail/"' in html
    assert ("ok_p_status", "failed") in _hidden_fields(html)

    # The checkout is finished: the token cannot be used again.
    again = client.post(reverse("okpay_emulator:checkout-approve", args=[token]))
    assert again.status_code == 400


def test_checkout_decline_before_sign_in_returns_link_fields_without_ipn(
    client, seeded
):
    """Cancelling before signing in posts the link variables back and sends nothing."""
    merchant = seeded.wallet("merchant@example.com")
    link = _preapproved_link(merchant.wallet_id)
    token = _token(_open(client, link))
    response = client.post(reverse("okpay_emulator:checkout-decline", args=[token]))
    assert ("ok_invoice", "agreement-42") in _hidden_fields(response.content.decode())
    assert Contract.objects.count() == 0
    assert IpnMessage.objects.count() == 0


def test_checkout_payment_buyer_pays_fee_moves_money_and_queues_payment_link_ipn(
    client, seeded
):
    """A plain payment with ok_fees=1 debits gross+fee and reports fee 0.00 (A17)."""
    merchant = seeded.wallet("merchant@example.com")
    link = {
        "ok_receiver": "merchant@example.com",
        "ok_currency": "USD",
        "ok_fees": "1",
        "ok_invoice": "order-7",
        "ok_item_1_name": "Ebook",
        "ok_item_1_article": "SKU-1",
        "ok_item_1_price": "10.00",
        "ok_item_1_quantity": "2",
        "ok_item_2_name": "Sticker",
        "ok_item_2_price": "1.50",
        "ok_item_2_tax": "0.50",
        "ok_ipn": f"{SHOP}/okpay/ipn/",
        "ok_return_success": f"{SHOP}/done/",
    }
    page_url = _open(client, link, method="post")
    token = _token(page_url)
    html = client.get(page_url).content.decode()
    assert "22.00 USD" in html  # 2 x 10.00 + 1.50 + 0.50
    _sign_in(client, token, "alice@example.com")
    response = client.post(reverse("okpay_emulator:checkout-approve", args=[token]))
    assert response.status_code == 200

    alice = Wallet.objects.get(email="alice@example.com")
    shop = Wallet.objects.get(wallet_id=merchant.wallet_id)
    assert alice.balance("USD") == Decimal("1000.00") - Decimal("22.00") - Decimal(
        "0.11"
    )
    assert shop.balance("USD") == Decimal("22.00")
    txn = Transaction.objects.get()
    assert txn.invoice == "order-7"

    message = IpnMessage.objects.get()
    fields = message.field_dict()
    assert message.event == "payment_link"
    assert fields["ok_receiver"] == "merchant@example.com"
    assert fields["ok_txn_id"] == str(txn.id)
    assert fields["ok_txn_kind"] == "payment_link"
    assert fields["ok_txn_gross"] == "22.00"
    assert fields["ok_txn_net"] == "22.00"
    assert fields["ok_txn_fee"] == "0.00"
    assert fields["ok_txn_status"] == "completed"
    assert fields["ok_items_count"] == "2"
    assert fields["ok_item_1_gross"] == "20.00"
    assert fields["ok_item_1_article"] == "SKU-1"
    assert fields["ok_item_1_type"] == "digital"
    assert fields["ok_item_2_gross"] == "2.00"
    assert message.fields[0] == ["ok_charset", "utf-8"]
    assert message.fields[-1] == ["ok_ipn_id", str(message.ipn_id)]
    assert f'action="{SHOP}/done/"' in response.content.decode()


def test_checkout_payment_without_kind_defaults_to_payment_and_merchant_fee(
    client, seeded
):
    """No ok_kind means payment (A1); no ok_fees means the merchant pays (A4)."""
    link = {
        "ok_receiver": seeded.wallet("merchant@example.com").wallet_id,
        "ok_currency": "gbp",
        "ok_item_1_name": "Coffee",
        "ok_item_1_price": "4.00",
    }
    token = _token(_open(client, link))
    _sign_in(client, token, "bob@example.com")
    client.post(reverse("okpay_emulator:checkout-approve", args=[token]))
    fields = IpnMessage.objects.get().field_dict()
    assert fields["ok_txn_currency"] == "GBP"
    assert fields["ok_txn_gross"] == "4.00"
    assert fields["ok_txn_fee"] == "0.02"
    assert fields["ok_txn_net"] == "3.98"


def test_checkout_payment_insufficient_funds_shows_error(client, seeded):
    """A payment above the balance is refused on the page, with no transaction."""
    link = {
        "ok_receiver": "merchant@example.com",
        "ok_currency": "EUR",
        "ok_item_1_name": "Server",
        "ok_item_1_price": "5000.00",
    }
    token = _token(_open(client, link))
    _sign_in(client, token, "carol@example.com")
    response = client.post(reverse("okpay_emulator:checkout-approve", args=[token]))
    assert "Your balance is not enough" in response.content.decode()
    assert Transaction.objects.count() == 0


def test_checkout_without_variables_shows_index(client, db):
    """The bare root is a landing page, not an error."""
    response = client.get(reverse("okpay_emulator:checkout"))
    assert response.status_code == 200
    assert "OKPAY emulator" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"ok_receiver": None}, "ok_receiver", "is required"),
        ({"ok_receiver": "OK999999999"}, "ok_receiver", "There is no OKPAY wallet"),
        ({"ok_receiver": "not a wallet"}, "ok_receiver", "neither a wallet ID"),
        ({"ok_currency": "XYZ"}, "ok_currency", "is not a currency"),
        ({"ok_currency": "JPY"}, "ok_currency", "only hold"),
        ({"ok_p_daily_amount": "12,5x"}, "ok_p_daily_amount", "is not an amount"),
        ({"ok_p_monthly_amount": "0.00"}, "ok_p_monthly_amount", "more than zero"),
        (
            {"ok_p_daily_amount": None, "ok_p_monthly_amount": None},
            "ok_p_daily_amount",
            "At least one limit is required",
        ),
        ({"ok_p_end_date": "2025-12-31"}, "ok_p_end_date", "is in the past"),
        ({"ok_p_end_date": "31/12/2026"}, "ok_p_end_date", "is not a date"),
        ({"ok_p_title": "x" * 128}, "ok_p_title", "at most 127"),
        ({"ok_p_title": None}, "ok_p_title", "is required"),
        ({"ok_kind": "barter"}, "ok_kind", "Unknown kind"),
        ({"ok_fees": "2"}, "ok_fees", "Must be 0"),
        ({"ok_ipn": "ftp://shop/ipn"}, "ok_ipn", "absolute http"),
    ],
)
def test_checkout_bad_variable_shows_error_page(client, seeded, overrides, field, text):
    """Each bad or missing variable is named on a 400 page, never a traceback."""
    link = _preapproved_link(
        seeded.wallet("merchant@example.com").wallet_id, **overrides
    )
    response = client.get(reverse("okpay_emulator:checkout"), link)
    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert f"<code>{field}</code>" in html
    assert text in html
    assert "Traceback" not in html


def test_checkout_several_problems_are_all_listed(client, seeded):
    """An error page lists every problem, not just the first."""
    response = client.get(
        reverse("okpay_emulator:checkout"),
        {"ok_kind": "preapproved", "ok_currency": "XYZ"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    for field in ("ok_receiver", "ok_currency", "ok_p_title", "ok_p_daily_amount"):
        assert f"<code>{field}</code>" in html
    assert "4 problems" in html


def test_checkout_payment_without_items_is_an_error(client, seeded):
    """A payment link needs at least one item."""
    response = client.get(
        reverse("okpay_emulator:checkout"),
        {"ok_receiver": "merchant@example.com", "ok_currency": "USD"},
    )
    assert response.status_code == 400
    assert "at least one item" in response.content.decode()


def test_checkout_preapproved_shows_the_payment_charged_on_approval(client, seeded):
    """Items on a pre-approved link are shown as the first charge; approving charges nothing."""
    merchant = seeded.wallet("merchant@example.com")
    link = _preapproved_link(
        merchant.wallet_id,
        ok_item_1_name="Hosting, first month",
        ok_item_1_price="9.90",
        ok_fees="1",
    )
    page_url = _open(client, link)
    html = client.get(page_url).content.decode()
    first = re.search(r'<dd id="first-payment">(.*?)</dd>', html, re.S)
    assert first is not None
    assert "<strong>9.90 EUR</strong> for Hosting, first month" in first.group(1)
    assert "paid by you on each charge" in html

    token = _token(page_url)
    _sign_in(client, token, "alice@example.com")
    signed_in = client.get(page_url).content.decode()
    assert "A limit below 9.90 EUR leaves the merchant unable" in signed_in
    response = client.post(
        reverse("okpay_emulator:checkout-approve", args=[token]),
        {"ok_p_daily_amount": "20.00", "ok_p_monthly_amount": "100.00"},
    )
    assert response.status_code == 200
    assert Contract.objects.get().status == ContractStatus.ACTIVE
    assert Transaction.objects.count() == 0  # the merchant charges it, not the page


def test_checkout_preapproved_without_items_shows_no_first_payment(client, seeded):
    """Without items the page promises no charge."""
    merchant = seeded.wallet("merchant@example.com")
    html = client.get(_open(client, _preapproved_link(merchant.wallet_id))).content
    assert b"first-payment" not in html
    assert b"Charged on approval" not in html
