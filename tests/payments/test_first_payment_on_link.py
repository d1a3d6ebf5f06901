"""The first payment on a pre-approved link is an assumption the merchant can turn off."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from okpay_gateway import payments

pytestmark = pytest.mark.django_db


def _link_fields(okpay_settings, invoice: str) -> dict[str, list[str]]:
    _, link = payments.request_agreement(
        payment_invoice=f"{invoice}-pay",
        contract_invoice=f"{invoice}-agr",
        amount=Decimal("12.50"),
        currency="USD",
        terms=payments.AgreementTerms(title="Plan", monthly_amount=Decimal("20.00")),
        okpay_settings=okpay_settings,
        description="First month",
    )
    return parse_qs(urlsplit(link.url).query)


def test_first_payment_is_on_the_link_by_default(okpay_settings):
    """By default the approval page is told what approving costs at once."""
    fields = _link_fields(okpay_settings, "fp-on")
    assert fields["ok_item_1_name"] == ["First month"]
    assert fields["ok_item_1_price"] == ["12.50"]


def test_link_first_payment_off_sends_no_items(okpay_settings, settings):
    """LINK_FIRST_PAYMENT=False leaves ok_item_N_* off the pre-approved link."""
    settings.OKPAY_GATEWAY = {**settings.OKPAY_GATEWAY, "LINK_FIRST_PAYMENT": False}
    fields = _link_fields(okpay_settings, "fp-off")
    assert not [name for name in fields if name.startswith("ok_item_")]
    assert fields["ok_kind"] == ["preapproved"]
