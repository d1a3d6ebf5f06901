"""okpayContractCancel/Charge (staff) and okpaySubscriptionCancel (own only)."""

from __future__ import annotations

import pytest

from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.models import ContractStatus, Payment, PaymentStatus
from tests.okpay_ledger import charges

from .support import gid, make_contract, make_subscription

pytestmark = pytest.mark.django_db

CANCEL = """
mutation ($id: ID!) {
  okpayContractCancel(id: $id, comment: "customer asked") {
    contract { status }
    errors { field message code }
  }
}
"""
CHARGE = """
mutation ($id: ID!, $amount: OkPayDecimal!, $invoice: String) {
  okpayContractCharge(id: $id, amount: $amount, comment: "extra", invoice: $invoice) {
    payment { invoice amount status }
    errors { field message code }
  }
}
"""
SUB_CANCEL = """
mutation ($id: ID!) {
  okpaySubscriptionCancel(id: $id) {
    subscription { status endReason }
    errors { field code }
  }
}
"""


@pytest.fixture
def contract(okpay, customer):
    return make_contract(okpay, customer)


def _codes(payload):
    return [(error["field"], error["code"]) for error in payload["errors"]]


def test_okpay_contract_cancel_customer_is_denied(gql, contract, customer):
    """Customers cannot cancel agreements through this mutation."""
    gql.login(customer)
    payload = gql(CANCEL, id=gid("OkPayContract", contract))["data"][
        "okpayContractCancel"
    ]
    assert _codes(payload) == [(None, "PERMISSION_DENIED")]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_okpay_contract_cancel_anonymous_is_denied(gql, contract):
    """Anonymous callers cannot cancel agreements."""
    payload = gql(CANCEL, id=gid("OkPayContract", contract))["data"][
        "okpayContractCancel"
    ]
    assert _codes(payload) == [(None, "PERMISSION_DENIED")]


def test_okpay_contract_cancel_staff_cancels_at_okpay(gql, contract, staff, okpay):
    """Staff cancel: the agreement is canceled here and at OKPAY."""
    gql.login(staff)
    payload = gql(CANCEL, id=gid("OkPayContract", contract))["data"][
        "okpayContractCancel"
    ]
    assert payload == {"contract": {"status": "CANCELED"}, "errors": []}
    assert EmuContract.objects.get(pk=okpay).status == "Canceled"


def test_okpay_contract_cancel_unknown_id_is_not_found(gql, staff, okpay):
    """An ID that names no agreement: NOT_FOUND on id."""
    gql.login(staff)
    payload = gql(CANCEL, id=gid("OkPayContract", Payment(pk=999)))["data"][
        "okpayContractCancel"
    ]
    assert _codes(payload) == [("id", "NOT_FOUND")]


def test_okpay_contract_charge_staff_charges_once_per_invoice(gql, contract, staff):
    """Staff charge; repeating with the same invoice returns the same payment."""
    gql.login(staff)
    variables = {
        "id": gid("OkPayContract", contract),
        "amount": "15.00",
        "invoice": "extra-1",
    }
    first = gql(CHARGE, **variables)["data"]["okpayContractCharge"]
    again = gql(CHARGE, **variables)["data"]["okpayContractCharge"]
    expected = {"invoice": "extra-1", "amount": "15.00", "status": "COMPLETED"}
    assert first == {"payment": expected, "errors": []}
    assert again == {"payment": expected, "errors": []}
    assert charges("extra-1").count() == 1


def test_okpay_contract_charge_customer_is_denied(gql, contract, customer):
    """Customers cannot charge agreements."""
    gql.login(customer)
    payload = gql(CHARGE, id=gid("OkPayContract", contract), amount="15.00")["data"][
        "okpayContractCharge"
    ]
    assert _codes(payload) == [(None, "PERMISSION_DENIED")]
    assert Payment.objects.count() == 0


def test_okpay_contract_charge_over_limit_is_limit_exceeded(gql, contract, staff):
    """A charge above the monthly limit is declined with LIMIT_EXCEEDED."""
    gql.login(staff)
    payload = gql(CHARGE, id=gid("OkPayContract", contract), amount="350.00")["data"][
        "okpayContractCharge"
    ]
    assert _codes(payload) == [("amount", "LIMIT_EXCEEDED")]
    assert payload["payment"]["status"] == "DECLINED"


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.234"])
def test_okpay_contract_charge_bad_amount_is_invalid(gql, contract, staff, amount):
    """Zero, negative or sub-cent amounts are refused before OKPAY is called."""
    gql.login(staff)
    payload = gql(CHARGE, id=gid("OkPayContract", contract), amount=amount)["data"][
        "okpayContractCharge"
    ]
    assert _codes(payload) == [("amount", "INVALID")]
    assert Payment.objects.count() == 0


def test_okpay_contract_charge_closed_contract_is_not_allowed(gql, contract, staff):
    """A canceled agreement cannot be charged: NOT_ALLOWED."""
    contract.status = ContractStatus.CANCELED
    contract.save()
    gql.login(staff)
    payload = gql(CHARGE, id=gid("OkPayContract", contract), amount="5.00")["data"][
        "okpayContractCharge"
    ]
    assert _codes(payload) == [("id", "NOT_ALLOWED")]


def test_okpay_contract_charge_amount_not_a_number_is_graphql_error(
    gql, contract, staff
):
    """A non-decimal amount fails validation as a GraphQL error, nothing is run."""
    gql.login(staff)
    response = gql.raw(CHARGE, {"id": gid("OkPayContract", contract), "amount": "ten"})
    assert response.status_code == 400
    assert response.json()["data"] is None
    assert PaymentStatus.COMPLETED not in Payment.objects.values_list(
        "status", flat=True
    )


def test_okpay_subscription_cancel_own_is_canceled(gql, contract, customer):
    """A customer cancels their own subscription; the agreement stays active."""
    subscription = make_subscription(contract, customer)
    gql.login(customer)
    payload = gql(SUB_CANCEL, id=gid("OkPaySubscription", subscription))["data"][
        "okpaySubscriptionCancel"
    ]
    assert payload == {
        "subscription": {"status": "CANCELED", "endReason": "canceled by the customer"},
        "errors": [],
    }
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_okpay_subscription_cancel_twice_is_not_allowed(gql, contract, customer):
    """Canceling an ended subscription reports NOT_ALLOWED."""
    subscription = make_subscription(contract, customer)
    gql.login(customer)
    gql(SUB_CANCEL, id=gid("OkPaySubscription", subscription))
    payload = gql(SUB_CANCEL, id=gid("OkPaySubscription", subscription))["data"][
        "okpaySubscriptionCancel"
    ]
    assert _codes(payload) == [("id", "NOT_ALLOWED")]


def test_okpay_subscription_cancel_someone_elses_is_denied(
    gql, contract, customer, other_customer, staff
):
    """Another customer (or staff) cannot cancel it here: PERMISSION_DENIED."""
    subscription = make_subscription(contract, customer)
    for user in (other_customer, staff):
        gql.login(user)
        payload = gql(SUB_CANCEL, id=gid("OkPaySubscription", subscription))["data"][
            "okpaySubscriptionCancel"
        ]
        assert _codes(payload) == [("id", "PERMISSION_DENIED")]
    subscription.refresh_from_db()
    assert subscription.status == "active"


def test_okpay_subscription_cancel_anonymous_is_denied(gql, contract, customer):
    """Anonymous callers are denied."""
    subscription = make_subscription(contract, customer)
    payload = gql(SUB_CANCEL, id=gid("OkPaySubscription", subscription))["data"][
        "okpaySubscriptionCancel"
    ]
    assert _codes(payload) == [(None, "PERMISSION_DENIED")]
