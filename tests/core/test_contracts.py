"""Contract state changes: the transition table, grant, close, sync, lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from okpay_gateway import clients, conf, contracts
from okpay_gateway.exceptions import InvalidTransition
from okpay_gateway.models import Contract, ContractStatus
from okpay_gateway.provider.messages import PreapprovedPayment
from tests.core import support

PENDING = ContractStatus.PENDING
ACTIVE = ContractStatus.ACTIVE
FAILED = ContractStatus.FAILED
CANCELED = ContractStatus.CANCELED
EXPIRED = ContractStatus.EXPIRED


def _contract(invoice: str = "agr-1", **values) -> Contract:
    defaults = {
        "receiver_wallet": support.MERCHANT_WALLET,
        "title": "Monthly box",
        "currency": "USD",
        "monthly_amount": Decimal("100.00"),
        "invoice": invoice,
    }
    defaults.update(values)
    return Contract.objects.create(**defaults)


def _pp(**values) -> PreapprovedPayment:
    wire = {
        "AvailableAmount": "75.00",
        "Client": {
            "AccountID": 100000002,
            "Email": "buyer@example.com",
            "Name": "Anna Buyer",
            "VerificationStatus": "Verified",
            "WalletID": "OK426375901",
        },
        "ClientPaysFee": "false",
        "Currency": "USD",
        "EndDate": "2027-12-31 00:00:00",
        "ID": 100001,
        "Invoice": "agr-1",
        "MerchantWalletID": support.MERCHANT_WALLET,
        "PaymentsAmount": "25.00",
        "PaymentsDone": 1,
        "StartDate": "2026-01-01 10:00:00",
        "Status": "Active",
        "Title": "Monthly box",
    }
    wire.update(values)
    return PreapprovedPayment.from_wire(wire)


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        (PENDING, ACTIVE, True),
        (PENDING, FAILED, True),
        (PENDING, CANCELED, True),
        (PENDING, EXPIRED, False),
        (ACTIVE, CANCELED, True),
        (ACTIVE, EXPIRED, True),
        (ACTIVE, FAILED, True),
        (ACTIVE, PENDING, False),
        (CANCELED, ACTIVE, False),
        (EXPIRED, ACTIVE, False),
        (FAILED, ACTIVE, False),
        (CANCELED, EXPIRED, False),
    ],
)
def test_can_transition_follows_table(current, requested, allowed):
    """The table allows pending→active/failed/canceled, active→closed, nothing from closed."""
    assert contracts.can_transition(current, requested) is allowed


def test_ensure_transition_closed_contract_raises_invalid_transition():
    """Leaving a terminal state raises InvalidTransition naming both states."""
    with pytest.raises(InvalidTransition) as info:
        contracts.ensure_transition(CANCELED, ACTIVE)

    assert (info.value.current, info.value.requested) == (CANCELED, ACTIVE)


def test_grant_contract_pending_becomes_active_once(
    db, signal_log, django_capture_on_commit_callbacks
):
    """The first grant activates and signals after commit; a repeat changes nothing."""
    contract = _contract()
    details = contracts.GrantDetails(
        okpay_id=100001, client_wallet="OK426375901", client_email="buyer@example.com"
    )
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        first = contracts.grant_contract(contract, details, now=now)
        second = contracts.grant_contract(contract, details)

    assert (first, second) == (True, False)
    contract.refresh_from_db()
    assert contract.status == ACTIVE
    assert contract.okpay_id == 100001
    assert contract.granted_at == now
    assert contract.client_wallet == "OK426375901"
    assert [kw["contract"].pk for kw in signal_log.of("contract_granted")] == [
        contract.pk
    ]


def test_grant_contract_wider_echo_keeps_requested_limits(db):
    """An echoed limit above what the shop asked for is ignored; gaps are filled."""
    contract = _contract(monthly_amount=Decimal("100.00"))
    details = contracts.GrantDetails(
        okpay_id=7, monthly_amount=Decimal("999.00"), daily_amount=Decimal("10.00")
    )

    contracts.grant_contract(contract, details)

    contract.refresh_from_db()
    assert contract.monthly_amount == Decimal("100.00")
    assert contract.daily_amount == Decimal("10.00")


def test_grant_contract_customer_lowered_limit_is_stored(db):
    """A limit or end date the customer tightened on OKPAY's page replaces the request."""
    contract = _contract(monthly_amount=Decimal("100.00"), end_date=date(2027, 12, 31))
    details = contracts.GrantDetails(
        okpay_id=8, monthly_amount=Decimal("50.00"), end_date=date(2027, 6, 30)
    )

    contracts.grant_contract(contract, details)

    contract.refresh_from_db()
    assert contract.monthly_amount == Decimal("50.00")
    assert contract.end_date == date(2027, 6, 30)


def test_grant_contract_closed_raises_invalid_transition(db, signal_log):
    """A closed contract cannot be granted again."""
    contract = _contract(status=EXPIRED)

    with pytest.raises(InvalidTransition):
        contracts.grant_contract(contract, contracts.GrantDetails(okpay_id=5))

    contract.refresh_from_db()
    assert contract.status == EXPIRED
    assert contract.okpay_id is None


def test_grant_contract_other_agreement_raises_invalid_transition(db):
    """A contract bound to one agreement is not re-bound to another."""
    contract = _contract(status=ACTIVE, okpay_id=5)

    with pytest.raises(InvalidTransition):
        contracts.grant_contract(contract, contracts.GrantDetails(okpay_id=6))

    contract.refresh_from_db()
    assert contract.okpay_id == 5


def test_close_contract_active_to_expired_signals_reason(
    db, signal_log, django_capture_on_commit_callbacks
):
    """Closing sets status and closed_at and sends contract_closed with the reason."""
    contract = _contract(status=ACTIVE, okpay_id=5)

    with django_capture_on_commit_callbacks(execute=True):
        changed = contracts.close_contract(contract, EXPIRED, "expired")
        again = contracts.close_contract(contract, EXPIRED, "expired")

    assert (changed, again) == (True, False)
    assert contract.status == EXPIRED
    assert contract.closed_at is not None
    assert [
        (kw["contract"].pk, kw["reason"]) for kw in signal_log.of("contract_closed")
    ] == [(contract.pk, "expired")]


def test_close_contract_other_terminal_status_raises(db):
    """A canceled contract cannot become expired."""
    contract = _contract(status=CANCELED)

    with pytest.raises(InvalidTransition):
        contracts.close_contract(contract, EXPIRED, "expired")


def test_close_contract_non_closing_status_raises(db):
    """close_contract only closes."""
    contract = _contract(status=PENDING)

    with pytest.raises(InvalidTransition):
        contracts.close_contract(contract, ACTIVE, "reopened")


def test_sync_contract_from_provider_active_grants_pending(
    db, signal_log, django_capture_on_commit_callbacks
):
    """OKPAY's Active agreement activates our pending contract with its details."""
    contract = _contract()

    with django_capture_on_commit_callbacks(execute=True):
        changed = contracts.sync_contract_from_provider(contract, _pp())

    assert changed is True
    contract.refresh_from_db()
    assert contract.status == ACTIVE
    assert contract.okpay_id == 100001
    assert contract.client_email == "buyer@example.com"
    assert contract.client_name == "Anna Buyer"
    assert contract.available_amount == Decimal("75.00")
    assert contract.end_date == date(2027, 12, 31)
    assert contract.synced_at is not None
    assert len(signal_log.of("contract_granted")) == 1


def test_sync_contract_from_provider_canceled_closes_active(
    db, signal_log, django_capture_on_commit_callbacks
):
    """OKPAY's Canceled closes an active contract as revoked."""
    contract = _contract(status=ACTIVE, okpay_id=100001)

    with django_capture_on_commit_callbacks(execute=True):
        changed = contracts.sync_contract_from_provider(
            contract, _pp(Status="Canceled")
        )

    assert changed is True
    assert contract.status == CANCELED
    assert [kw["reason"] for kw in signal_log.of("contract_closed")] == ["revoked"]


def test_sync_contract_from_provider_closed_stays_closed(db):
    """Two different terminal words leave our closed contract as it is."""
    contract = _contract(status=CANCELED, okpay_id=100001)

    changed = contracts.sync_contract_from_provider(contract, _pp(Status="Expired"))

    assert changed is False
    contract.refresh_from_db()
    assert contract.status == CANCELED
    assert contract.synced_at is not None


def test_sync_contract_from_provider_active_for_closed_raises(db):
    """OKPAY saying Active for a contract closed here is refused, not reopened."""
    contract = _contract(status=CANCELED)

    with pytest.raises(InvalidTransition):
        contracts.sync_contract_from_provider(contract, _pp())


def test_sync_contract_from_provider_unlimited_available_amount_stored_as_none(db):
    """.NET's decimal.MaxValue ("no cap") does not overflow the column."""
    contract = _contract(status=ACTIVE, okpay_id=100001)

    contracts.sync_contract_from_provider(
        contract, _pp(AvailableAmount="79228162514264337593543950335")
    )

    contract.refresh_from_db()
    assert contract.available_amount is None


def test_sync_contract_from_provider_with_emulator_answer(settings, merchant, buyer):
    """A PreapprovedPayment_Get answer from the emulator syncs the contract."""
    settings.OKPAY_GATEWAY = support.gateway_settings()
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    contract = _contract()
    client = clients.client_for(conf.get_settings())

    changed = contracts.sync_contract_from_provider(
        contract, client.preapproved_payment_get(emu.id)
    )

    assert changed is True
    contract.refresh_from_db()
    assert contract.status == ACTIVE
    assert contract.okpay_id == emu.id
    assert contract.client_wallet == buyer.wallet_id
    assert contract.available_amount == Decimal("100.00")


def test_active_contract_for_picks_newest_usable(db):
    """Only active, unexpired contracts of that customer, currency and channel count."""
    user = get_user_model().objects.create_user("anna")
    other = get_user_model().objects.create_user("bob")
    today = date(2026, 6, 1)
    older = _contract(
        "a",
        customer=user,
        status=ACTIVE,
        okpay_id=1,
        granted_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    newer = _contract(
        "b",
        customer=user,
        status=ACTIVE,
        okpay_id=2,
        granted_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    _contract(
        "c",
        customer=user,
        status=ACTIVE,
        okpay_id=3,
        end_date=date(2026, 5, 31),
        granted_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    _contract("d", customer=user, status=CANCELED, okpay_id=4)
    _contract("e", customer=user, status=ACTIVE, okpay_id=5, currency="EUR")
    _contract("f", customer=user, status=ACTIVE, okpay_id=6, channel="eu")
    _contract("g", customer=other, status=ACTIVE, okpay_id=7)

    assert contracts.active_contract_for(user, "usd", today=today) == newer
    assert contracts.active_contract_for(user.pk, "USD", today=today) == newer
    assert contracts.active_contract_for(user, "EUR", today=today).okpay_id == 5
    assert contracts.active_contract_for(user, "USD", "eu", today=today).okpay_id == 6
    assert contracts.active_contract_for(None, "USD") is None
    assert older != newer


def test_active_contract_for_end_date_today_still_counts(db):
    """The end date is inclusive (A13)."""
    user = get_user_model().objects.create_user("anna")
    contract = _contract(
        customer=user, status=ACTIVE, okpay_id=1, end_date=date(2026, 6, 1)
    )

    assert (
        contracts.active_contract_for(user, "USD", today=date(2026, 6, 1)) == contract
    )
    assert contracts.active_contract_for(user, "USD", today=date(2026, 6, 2)) is None
