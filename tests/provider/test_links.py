"""Checkout link builders: field order, values and every validation error."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from okpay_gateway.exceptions import LinkError
from okpay_gateway.provider.currencies import SUPPORTED_CURRENCIES
from okpay_gateway.provider.fees import OkFees
from okpay_gateway.provider.links import (
    PAYER_FIELDS,
    CheckoutLink,
    LinkItem,
    build_payment_link,
    build_preapproved_link,
)

CHECKOUT = "https://checkout.okpay.com/"
TODAY = date(2026, 3, 15)


def preapproved(**overrides):
    values = {
        "checkout_url": CHECKOUT,
        "receiver": "OK426375940",
        "title": "Hosting plan",
        "currency": "EUR",
        "monthly_amount": Decimal("50.00"),
        "today": TODAY,
    }
    values.update(overrides)
    return build_preapproved_link(**values)


def payment(**overrides):
    values = {
        "checkout_url": CHECKOUT,
        "receiver": "shop@example.com",
        "currency": "USD",
        "items": [LinkItem(name="Widget", price=Decimal("9.99"))],
    }
    values.update(overrides)
    return build_payment_link(**values)


def test_build_preapproved_link_all_fields_in_documented_order():
    """Every pre-approved variable comes out in the documented order and format."""
    link = build_preapproved_link(
        checkout_url=CHECKOUT,
        receiver="OK426375940",
        title="Сервер VPS",
        currency="eur",
        daily_amount=Decimal("5"),
        weekly_amount=Decimal("20.5"),
        monthly_amount=Decimal("1234567.89"),
        end_date=date(2027, 1, 31),
        invoice="order-42",
        ipn_url="https://shop.example/okpay/ipn?channel=eu",
        return_success="https://shop.example/ok",
        return_fail="http://shop.example/fail",
        fee_payer=OkFees.MERCHANT,
        language="en",
        payer={
            "ok_payer_zip": "10115",
            "ok_payer_email": "buyer@example.org",
            "ok_payer_first_name": "Anna",
            "ok_payer_country_code": "de",
        },
        today=TODAY,
    )
    assert link.action == CHECKOUT
    assert link.fields == (
        ("ok_receiver", "OK426375940"),
        ("ok_kind", "preapproved"),
        ("ok_p_title", "Сервер VPS"),
        ("ok_currency", "EUR"),
        ("ok_p_daily_amount", "5.00"),
        ("ok_p_weekly_amount", "20.50"),
        ("ok_p_monthly_amount", "1234567.89"),
        ("ok_p_end_date", "2027-01-31"),
        ("ok_invoice", "order-42"),
        ("ok_fees", "0"),
        ("ok_language", "EN"),
        ("ok_ipn", "https://shop.example/okpay/ipn?channel=eu"),
        ("ok_return_success", "https://shop.example/ok"),
        ("ok_return_fail", "http://shop.example/fail"),
        ("ok_payer_first_name", "Anna"),
        ("ok_payer_email", "buyer@example.org"),
        ("ok_payer_country_code", "DE"),
        ("ok_payer_zip", "10115"),
    )


def test_build_preapproved_link_minimal_omits_optional_fields():
    """Only receiver, kind, title, currency, the one limit and ok_fees are sent."""
    link = preapproved(invoice="", language=None)
    assert link.fields == (
        ("ok_receiver", "OK426375940"),
        ("ok_kind", "preapproved"),
        ("ok_p_title", "Hosting plan"),
        ("ok_currency", "EUR"),
        ("ok_p_monthly_amount", "50.00"),
        ("ok_fees", "0"),
    )


def test_build_preapproved_link_first_payment_as_items_after_the_limits():
    """The amount charged on approval travels as ok_item_1_* after the agreement's terms."""
    link = preapproved(
        invoice="agr-1",
        first_payment=[LinkItem(name="Hosting, first month", price=Decimal("9.90"))],
    )
    assert link.fields == (
        ("ok_receiver", "OK426375940"),
        ("ok_kind", "preapproved"),
        ("ok_p_title", "Hosting plan"),
        ("ok_currency", "EUR"),
        ("ok_p_monthly_amount", "50.00"),
        ("ok_item_1_name", "Hosting, first month"),
        ("ok_item_1_quantity", "1"),
        ("ok_item_1_price", "9.90"),
        ("ok_invoice", "agr-1"),
        ("ok_fees", "0"),
    )


def test_build_preapproved_link_first_payment_over_a_limit_refused():
    """A first payment no limit lets the merchant charge is a LinkError on that limit."""
    with pytest.raises(LinkError) as caught:
        preapproved(
            daily_amount=Decimal("5.00"),
            first_payment=[LinkItem(name="Plan", price=Decimal("9.90"))],
        )
    assert caught.value.field == "ok_p_daily_amount"
    assert "9.90" in str(caught.value)


def test_build_preapproved_link_end_date_today_accepted():
    """The end date is inclusive (A13), so today is still valid."""
    link = preapproved(end_date=TODAY)
    assert link.as_dict()["ok_p_end_date"] == "2026-03-15"


def test_checkout_link_url_round_trips_through_parse_qsl():
    """The GET url carries exactly the fields, in order, with UTF-8 text intact."""
    link = preapproved(
        title="Abo & Co = 100% ✓",
        ipn_url="https://shop.example/ipn?a=1&b=2",
        invoice="inv #7/+",
    )
    parts = urlsplit(link.url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "checkout.okpay.com",
        "/",
    )
    assert tuple(parse_qsl(parts.query, keep_blank_values=True)) == link.fields


def test_checkout_link_url_existing_query_is_kept_and_extended():
    """A checkout URL that already has a query gets the fields appended after '&'."""
    link = preapproved(checkout_url="http://127.0.0.1:8765/?lang=de#top")
    parts = urlsplit(link.url)
    assert parts.fragment == "top"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    assert pairs[0] == ("lang", "de")
    assert tuple(pairs[1:]) == link.fields
    assert link.url.startswith(
        "http://127.0.0.1:8765/?lang=de&ok_receiver=OK426375940&"
    )


def test_checkout_link_as_dict_matches_fields():
    """as_dict gives the form fields with the same values and order."""
    link = preapproved()
    assert list(link.as_dict().items()) == list(link.fields)


def test_checkout_link_is_frozen_and_hashable():
    """CheckoutLink is an immutable value."""
    link = preapproved()
    with pytest.raises(AttributeError):
        link.action = "https://evil.example/"  # type: ignore[misc]
    assert hash(link) == hash(CheckoutLink(link.action, link.fields))


def test_build_payment_link_items_in_documented_order():
    """Items come out as ok_item_N_* groups in the documented order."""
    link = build_payment_link(
        checkout_url=CHECKOUT,
        receiver="OK635569857",
        currency="rub",
        items=[
            LinkItem(
                name="Пополнение счёта",
                price=Decimal("100"),
                quantity=3,
                article="5000010",
                type="service",
                handling=Decimal("1.50"),
                shipping=Decimal("2.00"),
                shipping2=Decimal("0.50"),
                tax=Decimal("3.10"),
                custom_1_title="User",
                custom_1_value="42",
            ),
            LinkItem(name="Gift wrap", price=Decimal("0.99")),
        ],
        invoice="A-1",
        fee_payer=OkFees.CLIENT,
        ipn_url="https://shop.example/ipn",
    )
    assert link.fields == (
        ("ok_receiver", "OK635569857"),
        ("ok_kind", "payment"),
        ("ok_currency", "RUB"),
        ("ok_item_1_name", "Пополнение счёта"),
        ("ok_item_1_article", "5000010"),
        ("ok_item_1_type", "service"),
        ("ok_item_1_quantity", "3"),
        ("ok_item_1_price", "100.00"),
        ("ok_item_1_handling", "1.50"),
        ("ok_item_1_shipping", "2.00"),
        ("ok_item_1_shipping2", "0.50"),
        ("ok_item_1_tax", "3.10"),
        ("ok_item_1_custom_1_title", "User"),
        ("ok_item_1_custom_1_value", "42"),
        ("ok_item_2_name", "Gift wrap"),
        ("ok_item_2_quantity", "1"),
        ("ok_item_2_price", "0.99"),
        ("ok_invoice", "A-1"),
        ("ok_fees", "1"),
        ("ok_ipn", "https://shop.example/ipn"),
    )


def test_link_item_gross_follows_okpay_formula():
    """price*qty + tax + handling + shipping + shipping2*(qty-1)."""
    item = LinkItem(
        name="x",
        price=Decimal("100.00"),
        quantity=3,
        handling=Decimal("1.50"),
        shipping=Decimal("2.00"),
        shipping2=Decimal("0.50"),
        tax=Decimal("3.10"),
    )
    assert item.gross == Decimal("307.60")


@pytest.mark.parametrize("currency", SUPPORTED_CURRENCIES)
def test_build_payment_link_each_supported_currency_accepted(currency):
    """All 20 currencies of OKPAY's module are accepted, in any case."""
    link = payment(currency=currency.lower())
    assert link.as_dict()["ok_currency"] == currency


def test_build_payment_link_payer_prefill_uses_canonical_order():
    """Payer details are emitted in PAYER_FIELDS order regardless of input order."""
    payer = {
        name: f"v{index}" for index, name in reversed(list(enumerate(PAYER_FIELDS)))
    }
    payer["ok_payer_email"] = "p@example.com"
    payer["ok_payer_country_code"] = "ru"
    link = payment(payer=payer)
    emitted = [name for name, _ in link.fields if name.startswith("ok_payer_")]
    assert emitted == list(PAYER_FIELDS)
    assert link.as_dict()["ok_payer_country_code"] == "RU"


# -- validation errors ----------------------------------------------------------

PREAPPROVED_ERRORS = [
    ({"receiver": "OK12345678"}, "ok_receiver", "wallet ID"),
    ({"receiver": "ok426375940"}, "ok_receiver", "wallet ID"),
    ({"receiver": "OK4263759401"}, "ok_receiver", "wallet ID"),
    ({"receiver": "not-an-email"}, "ok_receiver", "e-mail"),
    ({"receiver": ""}, "ok_receiver", "required"),
    ({"receiver": None}, "ok_receiver", "required"),
    ({"currency": "BTC"}, "ok_currency", "does not accept"),
    ({"currency": "US"}, "ok_currency", "does not accept"),
    ({"currency": None}, "ok_currency", "does not accept"),
    ({"title": ""}, "ok_p_title", "required"),
    ({"title": "   "}, "ok_p_title", "required"),
    ({"title": None}, "ok_p_title", "required"),
    ({"title": "x" * 128}, "ok_p_title", "128 characters"),
    ({"title": "two\nlines"}, "ok_p_title", "control characters"),
    ({"title": 5}, "ok_p_title", "text"),
    ({"monthly_amount": None}, "ok_p_daily_amount", "at least one limit"),
    ({"monthly_amount": 10.0}, "ok_p_monthly_amount", "float"),
    ({"monthly_amount": 10}, "ok_p_monthly_amount", "Decimal"),
    ({"monthly_amount": "10.00"}, "ok_p_monthly_amount", "Decimal"),
    ({"daily_amount": Decimal("0")}, "ok_p_daily_amount", "more than zero"),
    ({"weekly_amount": Decimal("-1.00")}, "ok_p_weekly_amount", "more than zero"),
    ({"weekly_amount": Decimal("NaN")}, "ok_p_weekly_amount", "more than zero"),
    ({"monthly_amount": Decimal("1.001")}, "ok_p_monthly_amount", "two decimal"),
    (
        {"monthly_amount": Decimal("1234567890123.45")},
        "ok_p_monthly_amount",
        "too large",
    ),
    ({"end_date": date(2026, 3, 14)}, "ok_p_end_date", "in the past"),
    ({"end_date": datetime(2027, 1, 1)}, "ok_p_end_date", "must be a date"),
    ({"end_date": "2027-01-01"}, "ok_p_end_date", "must be a date"),
    ({"invoice": "i" * 128}, "ok_invoice", "at most 127"),
    ({"ipn_url": "/relative/ipn"}, "ok_ipn", "absolute"),
    ({"ipn_url": "ftp://shop.example/ipn"}, "ok_ipn", "absolute"),
    ({"ipn_url": "https://shop example/ipn"}, "ok_ipn", "spaces"),
    ({"return_success": "javascript:alert(1)"}, "ok_return_success", "absolute"),
    ({"return_fail": "https://"}, "ok_return_fail", "absolute"),
    ({"checkout_url": "checkout.okpay.com"}, "checkout_url", "absolute"),
    ({"checkout_url": None}, "checkout_url", "required"),
    ({"fee_payer": "2"}, "ok_fees", "OkFees"),
    ({"language": "eng"}, "ok_language", "two-letter"),
    ({"payer": {"ok_payer_nickname": "x"}}, "ok_payer_nickname", "not a payer field"),
    ({"payer": {"first_name": "x"}}, "first_name", "not a payer field"),
    ({"payer": {"ok_payer_email": "nope"}}, "ok_payer_email", "e-mail"),
    (
        {"payer": {"ok_payer_country_code": "DEU"}},
        "ok_payer_country_code",
        "two-letter",
    ),
    ({"payer": {"ok_payer_city": "c" * 128}}, "ok_payer_city", "at most 127"),
    ({"payer": {"ok_payer_city": 7}}, "ok_payer_city", "text"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), PREAPPROVED_ERRORS)
def test_build_preapproved_link_invalid_value_raises_link_error(
    overrides, field, message
):
    """Each invalid value raises LinkError naming the ok_* field and the problem."""
    with pytest.raises(LinkError) as info:
        preapproved(**overrides)
    assert info.value.field == field
    assert message in str(info.value)
    assert info.value.user_message == str(info.value)


PAYMENT_ERRORS = [
    ({"items": []}, "ok_item_1_name", "at least one item"),
    ({"items": "Widget"}, "ok_item_1_name", "at least one item"),
    ({"items": [("Widget", Decimal("1.00"))]}, "ok_item_1_name", "LinkItem"),
    ({"items": [LinkItem(name="", price=Decimal("1"))]}, "ok_item_1_name", "required"),
    (
        {"items": [LinkItem(name="n" * 128, price=Decimal("1"))]},
        "ok_item_1_name",
        "127",
    ),
    (
        {
            "items": [
                LinkItem(name="a", price=Decimal("1")),
                LinkItem(name="b", price=1.5),
            ]
        },
        "ok_item_2_price",
        "float",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("0.00"))]},
        "ok_item_1_price",
        "more than zero",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), quantity=0)]},
        "ok_item_1_quantity",
        "whole number",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), quantity=2.0)]},
        "ok_item_1_quantity",
        "whole number",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), quantity=True)]},
        "ok_item_1_quantity",
        "whole number",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), quantity=100_000_000)]},
        "ok_item_1_quantity",
        "whole number",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), article="a" * 41)]},
        "ok_item_1_article",
        "40",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), type="t" * 65)]},
        "ok_item_1_type",
        "64",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), tax=Decimal("0.001"))]},
        "ok_item_1_tax",
        "two decimal",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), shipping2=-Decimal("1"))]},
        "ok_item_1_shipping2",
        "more than zero",
    ),
    (
        {"items": [LinkItem(name="a", price=Decimal("1"), custom_2_value="v" * 128)]},
        "ok_item_1_custom_2_value",
        "127",
    ),
    ({"receiver": "OK 426375940"}, "ok_receiver", "wallet ID"),
    ({"currency": "PHP"}, "ok_currency", "does not accept"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), PAYMENT_ERRORS)
def test_build_payment_link_invalid_value_raises_link_error(overrides, field, message):
    """Each invalid payment-link value raises LinkError naming the ok_* field."""
    with pytest.raises(LinkError) as info:
        payment(**overrides)
    assert info.value.field == field
    assert message in str(info.value)
