"""okpayContracts, okpayContract and okpaySubscriptions: data and permissions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from okpay_gateway.models import Contract, ContractStatus, PaymentEvent
from okpay_gateway.payments import charge_contract, settings_for_channel

from .support import gid, make_contract, make_subscription

pytestmark = pytest.mark.django_db

CONTRACTS = """
query ($filter: OkPayContractFilterInput) {
  okpayContracts(filter: $filter) { id invoice status currency monthlyLimit }
}
"""
CONTRACT = """
query ($id: ID!) {
  okpayContract(id: $id) {
    id okpayId status feePayer
    payments { invoice amount status okpayTransactionId }
    operations {
      ledger { kind amount currency invoice paymentInvoice }
      provider { id amount currency invoice status }
      providerError { code }
    }
  }
}
"""
SUBSCRIPTIONS = """
query ($filter: OkPaySubscriptionFilterInput) {
  okpaySubscriptions(filter: $filter) { id title status intervalUnit amount }
}
"""


@pytest.fixture
def contracts(okpay, customer, other_customer):
    """Alice's active USD agreement and Bob's pending EUR one (created a week ago)."""
    mine = make_contract(okpay, customer)
    theirs = make_contract(
        None,
        other_customer,
        status=ContractStatus.PENDING,
        currency="EUR",
        invoice="agr-bob",
        title="Bob's plan",
    )
    Contract.objects.filter(pk=theirs.pk).update(
        created_at=timezone.now() - timedelta(days=7)
    )
    return mine, theirs


def test_okpay_contracts_anonymous_is_permission_denied(gql, contracts):
    """Anonymous callers get null and an error with code PERMISSION_DENIED."""
    result = gql(CONTRACTS)
    assert result["data"] == {"okpayContracts": None}
    assert [e["extensions"]["code"] for e in result["errors"]] == ["PERMISSION_DENIED"]
    assert result["errors"][0]["path"] == ["okpayContracts"]


def test_okpay_contracts_customer_sees_only_own(gql, contracts, customer):
    """A customer lists their own agreements only."""
    mine, _ = contracts
    gql.login(customer)
    assert gql(CONTRACTS)["data"]["okpayContracts"] == [
        {
            "id": gid("OkPayContract", mine),
            "invoice": mine.invoice,
            "status": "ACTIVE",
            "currency": "USD",
            "monthlyLimit": "300.00",
        }
    ]


def test_okpay_contracts_staff_sees_all_newest_first(gql, contracts, staff):
    """Staff list every agreement, newest first."""
    mine, theirs = contracts
    gql.login(staff)
    listed = gql(CONTRACTS)["data"]["okpayContracts"]
    assert [c["invoice"] for c in listed] == [mine.invoice, theirs.invoice]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"status": ["PENDING"]}, ["agr-bob"]),
        ({"status": ["ACTIVE", "PENDING"]}, None),
        ({"currency": "eur"}, ["agr-bob"]),
        ({"search": "bob@"}, ["agr-bob"]),
        ({"search": "hosting"}, "mine"),
        ({"createdFrom": str(timezone.now().date())}, "mine"),
        ({"createdTo": str((timezone.now() - timedelta(days=3)).date())}, ["agr-bob"]),
    ],
)
def test_okpay_contracts_filter_narrows_list(gql, contracts, staff, filter_, expected):
    """Each filter condition narrows the staff list to the matching agreements."""
    mine, theirs = contracts
    if expected is None:
        expected = [mine.invoice, theirs.invoice]
    elif expected == "mine":
        expected = [mine.invoice]
    gql.login(staff)
    listed = gql(CONTRACTS, filter=filter_)["data"]["okpayContracts"]
    assert [c["invoice"] for c in listed] == expected


def test_okpay_contracts_search_by_okpay_id(gql, contracts, staff, okpay):
    """A number searches OKPAY's agreement ID."""
    gql.login(staff)
    listed = gql(CONTRACTS, filter={"search": str(okpay)})["data"]["okpayContracts"]
    assert [c["invoice"] for c in listed] == [contracts[0].invoice]


def test_okpay_contract_with_operations_shows_ledger_and_okpay_list(
    gql, contracts, customer, okpay
):
    """A charged agreement shows its payment, our ledger and OKPAY's operations."""
    mine, _ = contracts
    payment = charge_contract(
        mine,
        amount=Decimal("12.50"),
        invoice="manual-test-1",
        okpay_settings=settings_for_channel(mine.channel),
    )
    gql.login(customer)
    found = gql(CONTRACT, id=gid("OkPayContract", mine))["data"]["okpayContract"]
    assert found["okpayId"] == str(okpay)
    assert found["status"] == "ACTIVE"
    assert found["feePayer"] == "MERCHANT"
    assert found["payments"] == [
        {
            "invoice": "manual-test-1",
            "amount": "12.50",
            "status": "COMPLETED",
            "okpayTransactionId": str(payment.okpay_txn_id),
        }
    ]
    ledger = found["operations"]["ledger"]
    kinds = list(
        PaymentEvent.objects.filter(payment=payment)
        .order_by("created_at", "pk")
        .values_list("kind", flat=True)
    )
    assert [entry["kind"] for entry in ledger] == [kind.upper() for kind in kinds]
    assert {entry["paymentInvoice"] for entry in ledger} == {"manual-test-1"}
    provider = found["operations"]["provider"]
    assert found["operations"]["providerError"] is None
    charged = [op for op in provider if op["id"] == str(payment.okpay_txn_id)]
    assert charged == [
        {
            "id": str(payment.okpay_txn_id),
            "amount": "12.50",
            "currency": "USD",
            # OKPAY files no invoice on a pre-approved charge.
            "invoice": None,
            "status": "Completed",
        }
    ]


def test_okpay_contract_pending_has_no_provider_list(gql, contracts, other_customer):
    """An agreement OKPAY has not granted yet has no OKPAY list and no error."""
    _, theirs = contracts
    gql.login(other_customer)
    found = gql(CONTRACT, id=gid("OkPayContract", theirs))["data"]["okpayContract"]
    assert found["operations"]["provider"] is None
    assert found["operations"]["providerError"] is None
    assert found["okpayId"] is None


def test_okpay_contract_of_someone_else_is_null(gql, contracts, customer):
    """Another customer's agreement is invisible: null, no error."""
    _, theirs = contracts
    gql.login(customer)
    result = gql(CONTRACT, id=gid("OkPayContract", theirs))
    assert result["data"] == {"okpayContract": None}
    assert "errors" not in result


def test_okpay_subscriptions_customer_sees_own_staff_all(
    gql, contracts, customer, other_customer, staff
):
    """Customers list their own subscriptions; staff list all; filters apply."""
    mine, theirs = contracts
    own = make_subscription(mine, customer)
    make_subscription(theirs, other_customer, title="Bob's", status="canceled")
    gql.login(customer)
    assert gql(SUBSCRIPTIONS)["data"]["okpaySubscriptions"] == [
        {
            "id": gid("OkPaySubscription", own),
            "title": "Pro plan",
            "status": "ACTIVE",
            "intervalUnit": "MONTH",
            "amount": "20.00",
        }
    ]
    gql.login(staff)
    assert len(gql(SUBSCRIPTIONS)["data"]["okpaySubscriptions"]) == 2
    canceled = gql(SUBSCRIPTIONS, filter={"status": ["CANCELED"]})
    assert [s["title"] for s in canceled["data"]["okpaySubscriptions"]] == ["Bob's"]


def test_okpay_subscriptions_anonymous_is_permission_denied(gql, okpay):
    """Anonymous callers cannot list subscriptions."""
    result = gql(SUBSCRIPTIONS)
    assert result["data"] == {"okpaySubscriptions": None}
    assert result["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_okpay_contracts_page_too_large_is_invalid(gql, staff, okpay):
    """first above 100 is refused with code INVALID."""
    gql.login(staff)
    result = gql("{ okpayContracts(first: 101) { id } }")
    assert result["errors"][0]["extensions"]["code"] == "INVALID"
