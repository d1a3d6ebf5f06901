"""The SOAP endpoint at its edges: schema lexical forms, huge envelopes, fault logging."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest

from okpay_gateway.emulator.models import Transaction
from okpay_gateway.emulator.soap import MAX_ENVELOPE_BYTES
from tests.emulator.test_soap import assert_soap_fault, envelope, post, signed


def charge(client, merchant, contract, amount: str, invoice: str = "lex-1"):
    body = signed(
        merchant,
        "PreapprovedPayment_Charge",
        PreapprovedPaymentID=contract.id,
        Amount=amount,
        Comment=invoice,
    )
    return post(client, body, "PreapprovedPayment_Charge")


def no_tracebacks(caplog) -> None:
    assert [r for r in caplog.records if r.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    "amount",
    [
        "1e0",
        "1E-2",
        "1.5e1",
        "\u0663",  # ARABIC-INDIC DIGIT THREE: Python's Decimal reads it as 3
        "\uff11.00",  # FULLWIDTH DIGIT ONE
        "1\u00a0",  # no-break space is not XML whitespace
        "Infinity",
        "NaN",
        "1,00",
        "1 .00",
        "0x10",
        "",
    ],
)
def test_amount_that_is_not_xs_decimal_is_refused_and_not_charged(
    client, merchant, contract, amount, caplog
):
    """Only xs:decimal's lexical form is an amount; nothing moves otherwise."""
    response = charge(client, merchant, contract, amount)
    assert_soap_fault(response, "s:Client", "Incorrect_Parameters")
    assert Transaction.objects.count() == 0
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("+1.00", D("1.00")), (" 2.5\n\t", D("2.50")), (".5", D("0.50")), ("3.", D("3"))],
)
def test_amount_in_any_xs_decimal_form_is_charged(
    client, merchant, contract, amount, expected
):
    """A sign and surrounding XML whitespace are valid xs:decimal (schema collapse)."""
    response = charge(client, merchant, contract, amount)
    assert response.status_code == 200, response.content
    assert Transaction.objects.get().amount == expected


@pytest.mark.parametrize(
    "contract_id",
    ["abc", "4242.0", "1e3", "\u0663", "99999999999999999999", "", "0x1"],
)
def test_contract_id_that_is_not_xs_long_is_incorrect_parameters(
    client, merchant, contract, contract_id, caplog
):
    """Not PreapprovedPayment_Not_Found, and no traceback in the log."""
    for operation in ("PreapprovedPayment_Get", "PreapprovedPayment_Cancel"):
        body = signed(merchant, operation, PreapprovedPaymentID=contract_id)
        assert_soap_fault(
            post(client, body, operation), "s:Client", "Incorrect_Parameters"
        )
    no_tracebacks(caplog)


def test_contract_id_with_sign_and_whitespace_is_found(client, merchant, contract):
    """``+<id>`` with surrounding whitespace is a valid xs:long."""
    body = signed(
        merchant, "PreapprovedPayment_Get", PreapprovedPaymentID=f" +{contract.id}\n"
    )
    response = post(client, body, "PreapprovedPayment_Get")
    assert response.status_code == 200, response.content


def test_boolean_outside_xs_boolean_is_incorrect_parameters(client, customer, merchant):
    """``yes`` is not an xs:boolean (only true, false, 1, 0)."""
    body = signed(
        customer,
        "Send_Money",
        Receiver=merchant.wallet_id,
        Currency="USD",
        Amount="1.00",
        IsReceiverPaysFees="yes",
    )
    assert_soap_fault(
        post(client, body, "Send_Money"), "s:Client", "Incorrect_Parameters"
    )
    assert Transaction.objects.count() == 0


def test_envelope_over_the_size_cap_is_a_soap_fault(client, frozen, caplog):
    """A body over the cap is refused with a SOAP fault, not Django's HTML 400."""
    padding = "x" * (MAX_ENVELOPE_BYTES + 1)
    body = envelope("Get_Date_Time").replace("<s:Body>", f"<!--{padding}--><s:Body>")
    response = post(client, body, "Get_Date_Time")
    assert_soap_fault(
        response,
        "s:Client",
        f"Malformed SOAP message: larger than {MAX_ENVELOPE_BYTES} bytes",
    )
    assert b"<html" not in response.content.lower()
    no_tracebacks(caplog)


def test_envelope_just_under_the_size_cap_is_answered(client, frozen):
    """The cap refuses only what is over it."""
    body = envelope("Get_Date_Time")
    padding = "x" * (MAX_ENVELOPE_BYTES - len(body.encode()) - 7)
    body = body.replace("<s:Body>", f"<!--{padding}--><s:Body>")
    assert len(body.encode()) == MAX_ENVELOPE_BYTES
    assert post(client, body, "Get_Date_Time").status_code == 200
