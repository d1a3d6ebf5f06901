"""The Saleor-compatible checkout subset on the standalone host."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
from okpay_gateway.graphql.checkout import checkout_token_for
from okpay_gateway.host.customer import store_customer_id
from okpay_gateway.host.models import HostPayment
from okpay_gateway.models import Payment, PaymentStatus
from tests.okpay_ledger import charges

from .shop import open_checkout
from .support import approve_at_okpay, make_contract

pytestmark = pytest.mark.django_db

GATEWAYS = """
query ($currency: String) {
  paymentGateways(currency: $currency) { id name currencies config { field value } }
}
"""
CREATE = """
mutation ($id: ID!, $input: PaymentInput!) {
  checkoutPaymentCreate(id: $id, input: $input) {
    payment { id gateway chargeStatus total { amount currency } returnUrl }
    errors { field message code }
  }
}
"""
COMPLETE = """
mutation ($id: ID!) {
  checkoutComplete(id: $id) {
    confirmationNeeded
    confirmationData
    payment { chargeStatus capturedAmount { amount currency } pspReference }
    errors { field message code }
  }
}
"""
ME = """
{ me { email storedPaymentSources {
    gateway paymentMethodId
    creditCardInfo { brand lastDigits expYear }
    metadata { key value } } } }
"""


def _pay_input(**overrides):
    values = {"gateway": PLUGIN_ID, "returnUrl": "http://shop.example/thanks/"}
    values.update(overrides)
    return values


def test_payment_gateways_supported_currency_lists_okpay(gql):
    """USD (configured) lists the OKPAY gateway with its public config as strings."""
    result = gql(GATEWAYS, currency="USD")
    assert result["data"]["paymentGateways"] == [
        {
            "id": PLUGIN_ID,
            "name": "OKPAY",
            "currencies": ["USD"],
            "config": [
                {"field": "store_customer_card", "value": "true"},
                {"field": "environment", "value": "emulator"},
                {"field": "automatic_capture", "value": "true"},
            ],
        }
    ]


def test_payment_gateways_other_currency_lists_nothing(gql):
    """EUR is not among the plugin's currencies, so no gateway is offered."""
    assert gql(GATEWAYS, currency="EUR")["data"]["paymentGateways"] == []


def test_checkout_complete_without_contract_needs_confirmation_with_checkout_url(
    gql, customer
):
    """No agreement yet: confirmationNeeded with OKPAY's approval URL; nothing charged."""
    open_checkout("chk-1", customer=customer)
    gql.login(customer)
    created = gql(CREATE, id="chk-1", input=_pay_input())["data"][
        "checkoutPaymentCreate"
    ]
    assert created["errors"] == []
    assert created["payment"]["total"] == {"amount": "20.00", "currency": "USD"}
    assert created["payment"]["chargeStatus"] == "NOT_CHARGED"
    host_payment = HostPayment.objects.get()

    result = gql(COMPLETE, id="chk-1")["data"]["checkoutComplete"]
    assert result["errors"] == []
    assert result["confirmationNeeded"] is True
    # A JSON string, as in Saleor: clients JSON.parse it.
    data = json.loads(result["confirmationData"])
    url = urlsplit(data["redirect_url"])
    assert (
        f"{url.scheme}://{url.netloc}{url.path}"
        == "http://okpay.emulator/okpay-emulator/"
    )
    query = parse_qs(url.query)
    assert query["ok_invoice"] == [f"agr-{host_payment.pk}"]
    assert data["fields"]["ok_currency"] == "USD"
    assert result["payment"]["chargeStatus"] == "NOT_CHARGED"
    okpay_payment = Payment.objects.get(invoice=f"pay-{host_payment.pk}")
    assert okpay_payment.status == PaymentStatus.ACTION_REQUIRED
    assert okpay_payment.return_url == "http://shop.example/thanks/"
    assert checkout_token_for(okpay_payment) == "chk-1"


def test_checkout_complete_after_approval_completes_once(
    gql, customer, django_capture_on_commit_callbacks
):
    """Approval + IPN charge the payment; the second checkoutComplete reports it paid."""
    open_checkout("chk-2", customer=customer)
    gql.login(customer)
    gql(CREATE, id="chk-2", input=_pay_input())
    first = gql(COMPLETE, id="chk-2")["data"]["checkoutComplete"]
    with django_capture_on_commit_callbacks(execute=True):
        approve_at_okpay(json.loads(first["confirmationData"])["fields"])

    second = gql(COMPLETE, id="chk-2")["data"]["checkoutComplete"]
    host_payment = HostPayment.objects.get()
    assert second["errors"] == []
    assert second["confirmationNeeded"] is False
    assert second["confirmationData"] is None
    assert second["payment"]["chargeStatus"] == "FULLY_CHARGED"
    assert second["payment"]["capturedAmount"] == {"amount": "20.00", "currency": "USD"}
    assert charges(f"pay-{host_payment.pk}").count() == 1
    third = gql(COMPLETE, id="chk-2")["data"]["checkoutComplete"]
    assert third["payment"]["chargeStatus"] == "FULLY_CHARGED"
    assert charges(f"pay-{host_payment.pk}").count() == 1


def test_checkout_complete_with_active_contract_charges_at_once(gql, okpay, customer):
    """An active agreement in the currency: charged on the first checkoutComplete."""
    make_contract(okpay, customer)
    open_checkout("chk-3", customer=customer)
    gql.login(customer)
    gql(CREATE, id="chk-3", input=_pay_input())
    result = gql(COMPLETE, id="chk-3")["data"]["checkoutComplete"]
    host_payment = HostPayment.objects.get()
    okpay_payment = Payment.objects.get(invoice=f"pay-{host_payment.pk}")
    assert result["errors"] == []
    assert result["confirmationNeeded"] is False
    assert result["payment"]["chargeStatus"] == "FULLY_CHARGED"
    assert result["payment"]["pspReference"] == str(okpay_payment.okpay_txn_id)
    assert okpay_payment.status == PaymentStatus.COMPLETED
    assert okpay_payment.contract.okpay_id == okpay


def test_checkout_complete_declined_charge_reports_payment_error(gql, okpay, customer):
    """A charge over the agreement's limits fails with PAYMENT_ERROR and a safe message."""
    make_contract(okpay, customer)
    open_checkout("chk-4", customer=customer, amount="450.00")
    gql.login(customer)
    gql(CREATE, id="chk-4", input=_pay_input())
    result = gql(COMPLETE, id="chk-4")["data"]["checkoutComplete"]
    assert result["confirmationNeeded"] is False
    assert [error["code"] for error in result["errors"]] == ["PAYMENT_ERROR"]
    assert result["errors"][0]["message"]
    assert HostPayment.objects.get().is_active is False


def test_checkout_complete_without_payment_is_not_fully_paid(gql, customer):
    """checkoutComplete before checkoutPaymentCreate: CHECKOUT_NOT_FULLY_PAID."""
    open_checkout("chk-5", customer=customer)
    gql.login(customer)
    result = gql(COMPLETE, id="chk-5")["data"]["checkoutComplete"]
    assert result["errors"][0]["code"] == "CHECKOUT_NOT_FULLY_PAID"
    assert result["confirmationNeeded"] is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "19.99"}, "amount"),
        ({"gateway": "mirumee.payments.dummy"}, "gateway"),
        ({"returnUrl": "http://evil.example/steal/"}, "returnUrl"),
    ],
)
def test_checkout_payment_create_bad_input_is_invalid(gql, customer, overrides, field):
    """Wrong amount, unknown gateway or a foreign return URL: INVALID on that field."""
    open_checkout("chk-6", customer=customer)
    gql.login(customer)
    result = gql(CREATE, id="chk-6", input=_pay_input(**overrides))
    errors = result["data"]["checkoutPaymentCreate"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, "INVALID")]
    assert HostPayment.objects.count() == 0


def test_checkout_payment_create_amount_as_number_is_accepted(gql, customer):
    """A JSON number amount is read through its decimal text (20.0 == 20.00)."""
    open_checkout("chk-7", customer=customer)
    gql.login(customer)
    result = gql(CREATE, id="chk-7", input=_pay_input(amount=20.0))
    assert result["data"]["checkoutPaymentCreate"]["errors"] == []


def test_checkout_payment_create_other_customers_checkout_is_denied(
    gql, customer, other_customer
):
    """A checkout that belongs to another customer: PERMISSION_DENIED."""
    open_checkout("chk-8", customer=customer)
    gql.login(other_customer)
    result = gql(CREATE, id="chk-8", input=_pay_input())
    errors = result["data"]["checkoutPaymentCreate"]["errors"]
    assert [e["code"] for e in errors] == ["PERMISSION_DENIED"]


def test_checkout_payment_create_unknown_checkout_is_not_found(gql):
    """An unknown token: NOT_FOUND on id."""
    result = gql(CREATE, id="nope", input=_pay_input())
    errors = result["data"]["checkoutPaymentCreate"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("id", "NOT_FOUND")]


def test_checkout_payment_create_again_voids_waiting_payment(gql, customer):
    """A new payment cancels the one waiting for approval, so it can never be charged."""
    open_checkout("chk-9", customer=customer)
    gql.login(customer)
    gql(CREATE, id="chk-9", input=_pay_input())
    gql(COMPLETE, id="chk-9")
    first = HostPayment.objects.get()
    again = gql(CREATE, id="chk-9", input=_pay_input())["data"]["checkoutPaymentCreate"]
    assert again["errors"] == []
    first.refresh_from_db()
    assert first.is_active is False
    assert (
        Payment.objects.get(invoice=f"pay-{first.pk}").status == PaymentStatus.CANCELED
    )
    assert HostPayment.objects.filter(is_active=True).count() == 1


def test_me_stored_payment_sources_lists_active_agreement(gql, okpay, customer):
    """A customer with an active agreement sees it as an OKPAY payment source."""
    contract = make_contract(okpay, customer)
    store_customer_id(customer, PLUGIN_ID, str(okpay))
    gql.login(customer)
    me = gql(ME)["data"]["me"]
    assert me["email"] == "alice@example.com"
    assert me["storedPaymentSources"] == [
        {
            "gateway": PLUGIN_ID,
            "paymentMethodId": str(okpay),
            "creditCardInfo": {
                "brand": "okpay",
                "lastDigits": str(okpay)[-4:],
                "expYear": None,
            },
            "metadata": [
                {"key": "currency", "value": "USD"},
                {"key": "title", "value": contract.title},
            ],
        }
    ]


def test_me_anonymous_is_null(gql):
    """Without a signed-in user ``me`` is null and not an error."""
    result = gql(ME)
    assert result["data"] == {"me": None}
    assert "errors" not in result


def test_checkout_query_own_checkout_is_described(gql, customer, other_customer):
    """``checkout(token)`` shows the shop's checkout to its customer only."""
    open_checkout("chk-10", customer=customer)
    query = '{ checkout(token: "chk-10") { id total { amount currency } lines { planId interval } } }'
    gql.login(customer)
    assert gql(query)["data"]["checkout"] == {
        "id": "chk-10",
        "total": {"amount": "20.00", "currency": "USD"},
        "lines": [{"planId": "pro", "interval": "month"}],
    }
    gql.login(other_customer)
    assert gql(query)["data"]["checkout"] is None
