"""Money operations of okpay_gateway.payments against the in-process emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okpay_gateway import payments, signals
from okpay_gateway.emulator import faults, operations
from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.emulator.models import FaultKind, Wallet
from okpay_gateway.emulator.models import Transaction as EmuTransaction
from okpay_gateway.exceptions import NotRefundable, RefundAmountInvalid
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Payment,
    PaymentEventKind,
    PaymentStatus,
)
from tests.payments.support import (
    CUSTOMER_WALLET,
    MERCHANT_WALLET,
    local_contract,
    seed_world,
)

pytestmark = pytest.mark.django_db

CHARGE = "PreapprovedPayment_Charge"


def _kinds(payment: Payment) -> list[str]:
    return list(payment.events.order_by("pk").values_list("kind", flat=True))


def _received(signal):
    seen: list[dict] = []

    def _receiver(**kwargs):
        seen.append(kwargs)

    signal.connect(_receiver, weak=False)
    return seen, lambda: signal.disconnect(_receiver)


def test_charge_contract_active_agreement_completes_with_ledger(
    okpay_settings, django_capture_on_commit_callbacks
):
    """A charge on an active agreement completes, records both ledger rows and signals."""
    contract = local_contract(seed_world())
    seen, stop = _received(signals.payment_completed)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            payment = payments.charge_contract(
                contract,
                amount=Decimal("25.00"),
                invoice="inv-ok-1",
                okpay_settings=okpay_settings,
            )
    finally:
        stop()
    assert payment.status == PaymentStatus.COMPLETED
    txn = EmuTransaction.objects.get(invoice="inv-ok-1")
    assert payment.okpay_txn_id == txn.id
    assert payment.fee == txn.fee
    assert _kinds(payment) == [
        PaymentEventKind.CHARGE_REQUESTED,
        PaymentEventKind.CHARGE_COMPLETED,
    ]
    assert [kw["payment"].pk for kw in seen] == [payment.pk]
    assert Wallet.objects.get(wallet_id=CUSTOMER_WALLET).balance("USD") == Decimal(
        "475.00"
    )


def test_charge_contract_same_invoice_twice_moves_money_once(okpay_settings):
    """Charging the same invoice again returns the completed payment, no second transfer."""
    contract = local_contract(seed_world())
    first = payments.charge_contract(
        contract,
        amount=Decimal("10.00"),
        invoice="inv-twice",
        okpay_settings=okpay_settings,
    )
    second = payments.charge_contract(
        contract,
        amount=Decimal("10.00"),
        invoice="inv-twice",
        okpay_settings=okpay_settings,
    )
    assert first.pk == second.pk
    assert second.status == PaymentStatus.COMPLETED
    assert EmuTransaction.objects.filter(invoice="inv-twice").count() == 1
    assert _kinds(second).count(PaymentEventKind.CHARGE_COMPLETED) == 1


def test_charge_payment_empty_wallet_declines_insufficient_funds(
    okpay_settings, django_capture_on_commit_callbacks
):
    """A customer without money is declined with insufficient_funds and nothing moves."""
    contract = local_contract(seed_world(customer_balance="0.00"))
    seen, stop = _received(signals.payment_declined)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            payment = payments.charge_contract(
                contract,
                amount=Decimal("10.00"),
                invoice="inv-poor",
                okpay_settings=okpay_settings,
            )
    finally:
        stop()
    assert [(kw["payment"].pk, kw["code"]) for kw in seen] == [
        (payment.pk, "insufficient_funds")
    ]
    assert payment.status == PaymentStatus.DECLINED
    assert payment.decline_code == "insufficient_funds"
    assert not EmuTransaction.objects.filter(invoice="inv-poor").exists()
    declined = payment.events.get(kind=PaymentEventKind.CHARGE_DECLINED)
    assert declined.detail["fault_code"] == "Not_Enough_Money"
    assert payments.decline_message(payment.decline_code) == (
        "The OKPAY wallet does not hold enough money."
    )


def test_charge_payment_over_limit_declines_limit_exceeded(okpay_settings):
    """A charge above the monthly limit is declined with limit_exceeded."""
    contract = local_contract(seed_world(monthly="50.00"))
    payment = payments.charge_contract(
        contract,
        amount=Decimal("60.00"),
        invoice="inv-big",
        okpay_settings=okpay_settings,
    )
    assert payment.status == PaymentStatus.DECLINED
    assert payment.decline_code == "limit_exceeded"


def test_charge_payment_incompatible_status_fault_declines_not_allowed(okpay_settings):
    """An Incompatible_PreapprovedPayment_Status fault becomes a not_allowed decline."""
    contract = local_contract(seed_world())
    faults.add_rule(
        FaultKind.FAULT,
        operation=CHARGE,
        fault_code="Incompatible_PreapprovedPayment_Status",
    )
    payment = payments.charge_contract(
        contract,
        amount=Decimal("5.00"),
        invoice="inv-na",
        okpay_settings=okpay_settings,
    )
    assert payment.status == PaymentStatus.DECLINED
    assert payment.decline_code == "not_allowed"


def test_charge_payment_applied_late_unknown_then_resolved_without_second_charge(
    okpay_settings, django_capture_on_commit_callbacks
):
    """A read timeout after OKPAY applied the charge is UNKNOWN, resolves to COMPLETED, never re-charges."""
    contract = local_contract(seed_world())
    faults.add_rule(FaultKind.APPLIED_LATE, operation=CHARGE, delay_seconds=120)
    seen, stop = _received(signals.payment_outcome_unknown)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            payment = payments.charge_contract(
                contract,
                amount=Decimal("30.00"),
                invoice="inv-late",
                okpay_settings=okpay_settings,
            )
    finally:
        stop()
    assert [kw["payment"].pk for kw in seen] == [payment.pk]
    assert payment.status == PaymentStatus.UNKNOWN
    assert EmuTransaction.objects.filter(invoice="inv-late").count() == 1
    assert _kinds(payment)[-1] == PaymentEventKind.CHARGE_UNKNOWN

    resolved = payments.resolve_payment(payment, okpay_settings=okpay_settings)
    assert resolved.status == PaymentStatus.COMPLETED
    assert resolved.okpay_txn_id == EmuTransaction.objects.get(invoice="inv-late").id

    again = payments.charge_payment(resolved, okpay_settings=okpay_settings)
    assert again.status == PaymentStatus.COMPLETED
    assert EmuTransaction.objects.filter(invoice="inv-late").count() == 1
    assert Wallet.objects.get(wallet_id=CUSTOMER_WALLET).balance("USD") == Decimal(
        "470.00"
    )
    assert _kinds(again).count(PaymentEventKind.CHARGE_RESOLVED) == 1


def test_charge_payment_unknown_outcome_charging_again_resolves_first(okpay_settings):
    """Charging an UNKNOWN payment asks OKPAY first and finds the earlier transfer."""
    contract = local_contract(seed_world())
    faults.add_rule(FaultKind.APPLIED_LATE, operation=CHARGE, delay_seconds=120)
    payment = payments.charge_contract(
        contract,
        amount=Decimal("12.00"),
        invoice="inv-retry",
        okpay_settings=okpay_settings,
    )
    assert payment.status == PaymentStatus.UNKNOWN
    again = payments.charge_payment(payment, okpay_settings=okpay_settings)
    assert again.status == PaymentStatus.COMPLETED
    assert EmuTransaction.objects.filter(invoice="inv-retry").count() == 1


def test_charge_payment_slow_not_applied_resolves_to_pending_then_charges_once(
    okpay_settings,
):
    """A timeout before OKPAY acted resolves to PENDING; the next charge moves money once."""
    contract = local_contract(seed_world())
    faults.add_rule(FaultKind.SLOW, operation=CHARGE, delay_seconds=120)
    payment = payments.charge_contract(
        contract,
        amount=Decimal("8.00"),
        invoice="inv-slow",
        okpay_settings=okpay_settings,
    )
    assert payment.status == PaymentStatus.UNKNOWN
    assert not EmuTransaction.objects.filter(invoice="inv-slow").exists()
    resolved = payments.resolve_payment(payment, okpay_settings=okpay_settings)
    assert resolved.status == PaymentStatus.PENDING
    charged = payments.charge_payment(resolved, okpay_settings=okpay_settings)
    assert charged.status == PaymentStatus.COMPLETED
    assert EmuTransaction.objects.filter(invoice="inv-slow").count() == 1


def test_complete_payment_from_notification_twice_records_once(okpay_settings):
    """Applying the same completed-payment IPN twice leaves one charge_completed event."""
    contract = local_contract(seed_world())
    Payment.objects.create(
        invoice="inv-ipn", contract=contract, amount=Decimal("9.00"), currency="USD"
    )
    for _ in range(2):
        payment = payments.complete_payment_from_notification(
            invoice="inv-ipn",
            txn_id=777,
            amount=Decimal("9.00"),
            currency="USD",
            fee=Decimal("0.05"),
            contract=contract,
        )
    assert payment.status == PaymentStatus.COMPLETED
    assert payment.okpay_txn_id == 777
    assert _kinds(payment) == [PaymentEventKind.CHARGE_COMPLETED]
    assert (
        payments.complete_payment_from_notification(
            invoice="nope",
            txn_id=1,
            amount=None,
            currency=None,
            fee=None,
            contract=None,
        )
        is None
    )


def test_refund_payment_partial_then_rest_returns_money_to_wallet(okpay_settings):
    """A partial refund then the rest refunds exactly the captured amount."""
    contract = local_contract(seed_world())
    payment = payments.charge_contract(
        contract,
        amount=Decimal("40.00"),
        invoice="inv-ref",
        okpay_settings=okpay_settings,
    )
    partly = payments.refund_payment(
        payment, amount=Decimal("15.00"), okpay_settings=okpay_settings
    )
    assert partly.status == PaymentStatus.PARTIALLY_REFUNDED
    assert partly.refunded_amount == Decimal("15.00")
    assert EmuTransaction.objects.get(invoice="inv-ref-refund-1").amount == Decimal(
        "15.00"
    )
    full = payments.refund_payment(partly, okpay_settings=okpay_settings)
    assert full.status == PaymentStatus.REFUNDED
    assert full.refunded_amount == Decimal("40.00")
    assert EmuTransaction.objects.get(invoice="inv-ref-refund-2").amount == Decimal(
        "25.00"
    )
    assert Wallet.objects.get(wallet_id=CUSTOMER_WALLET).balance("USD") == Decimal(
        "500.00"
    )
    with pytest.raises(RefundAmountInvalid):
        payments.refund_payment(
            full, amount=Decimal("0.01"), okpay_settings=okpay_settings
        )


def test_refund_payment_more_than_captured_refused(okpay_settings):
    """A refund above the captured amount is refused before anything is sent."""
    contract = local_contract(seed_world())
    payment = payments.charge_contract(
        contract,
        amount=Decimal("10.00"),
        invoice="inv-over",
        okpay_settings=okpay_settings,
    )
    with pytest.raises(RefundAmountInvalid):
        payments.refund_payment(
            payment, amount=Decimal("10.01"), okpay_settings=okpay_settings
        )
    assert not EmuTransaction.objects.filter(
        invoice__startswith="inv-over-refund"
    ).exists()


def test_cancel_contract_active_is_final_and_blocks_charges(okpay_settings):
    """Canceling closes the agreement at OKPAY and here; later charges are declined."""
    okpay_id = seed_world()
    contract = local_contract(okpay_id)
    closed = payments.cancel_contract(
        contract, okpay_settings=okpay_settings, comment="bye"
    )
    assert closed.status == ContractStatus.CANCELED
    assert EmuContract.objects.get(id=okpay_id).status == "Canceled"
    assert closed.events.filter(kind=PaymentEventKind.CONTRACT_CANCEL).count() == 1
    again = payments.cancel_contract(closed, okpay_settings=okpay_settings)
    assert again.status == ContractStatus.CANCELED
    payment = payments.charge_contract(
        closed,
        amount=Decimal("5.00"),
        invoice="inv-after",
        okpay_settings=okpay_settings,
    )
    assert payment.status == PaymentStatus.DECLINED
    assert payment.decline_code == payments.CONTRACT_INACTIVE
    assert not EmuTransaction.objects.filter(invoice="inv-after").exists()


def test_sync_contracts_new_and_closed_agreements_reported(okpay_settings):
    """Sync creates rows for unknown agreements and closes those OKPAY closed."""
    known_id = seed_world()
    known = local_contract(known_id)
    merchant = Wallet.objects.get(wallet_id=MERCHANT_WALLET)
    client = Wallet.objects.get(wallet_id=CUSTOMER_WALLET)
    other = operations.grant_contract(
        receiver=merchant,
        client=client,
        title="Other",
        currency="USD",
        monthly_limit=Decimal("20.00"),
        invoice="agr-elsewhere",
        notify=False,
    )
    operations.cancel_contract(wallet=merchant, contract_id=known_id)
    report = payments.sync_contracts(okpay_settings=okpay_settings)
    assert report.new == (other.id,)
    assert report.closed == (known_id,)
    assert report.errors == ()
    known.refresh_from_db()
    assert known.status == ContractStatus.CANCELED
    created = Contract.objects.get(okpay_id=other.id)
    assert created.status == ContractStatus.ACTIVE
    assert created.client_wallet == CUSTOMER_WALLET
    assert created.invoice == "agr-elsewhere"


def test_complete_from_return_granted_at_okpay_activates_and_charges(okpay_settings):
    """The return page asks OKPAY, grants the pending contract and charges the waiting payment."""
    seed_world()
    merchant = Wallet.objects.get(wallet_id=MERCHANT_WALLET)
    client = Wallet.objects.get(wallet_id=CUSTOMER_WALLET)
    contract = local_contract(None, status=ContractStatus.PENDING, invoice="agr-ret")
    Payment.objects.create(
        invoice="pay-ret",
        contract=contract,
        amount=Decimal("20.00"),
        currency="USD",
        status=PaymentStatus.ACTION_REQUIRED,
    )
    granted = operations.grant_contract(
        receiver=merchant,
        client=client,
        title="Hosting",
        currency="USD",
        monthly_limit=Decimal("100.00"),
        invoice="agr-ret",
        notify=False,
    )
    payment = payments.complete_from_return(
        invoice="agr-ret", okpay_settings=okpay_settings
    )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.okpay_id == granted.id
    assert payment.invoice == "pay-ret"
    assert payment.status == PaymentStatus.COMPLETED
    assert EmuTransaction.objects.filter(invoice="pay-ret").count() == 1
    # A second return (reload) changes nothing.
    payments.complete_from_return(invoice="agr-ret", okpay_settings=okpay_settings)
    assert EmuTransaction.objects.filter(invoice="pay-ret").count() == 1


def test_complete_from_return_not_approved_leaves_payment_waiting(okpay_settings):
    """Without an agreement at OKPAY the return page changes nothing."""
    seed_world()
    contract = local_contract(None, status=ContractStatus.PENDING, invoice="agr-none")
    Payment.objects.create(
        invoice="pay-none",
        contract=contract,
        amount=Decimal("20.00"),
        currency="USD",
        status=PaymentStatus.ACTION_REQUIRED,
    )
    payment = payments.complete_from_return(
        invoice="agr-none", okpay_settings=okpay_settings
    )
    assert payment.status == PaymentStatus.ACTION_REQUIRED
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING


def test_okpay_sync_contracts_command_prints_report(okpay_settings):
    """The management command syncs and prints the counts."""
    from io import StringIO

    from django.core.management import call_command

    seed_world()
    out = StringIO()
    call_command("okpay_sync_contracts", stdout=out)
    assert (
        out.getvalue().strip() == "1 agreements: 1 new, 0 changed, 0 closed, 0 errors"
    )
    assert Contract.objects.get(invoice="agr-seed-1").status == ContractStatus.ACTIVE


def test_refund_payment_of_uncaptured_payment_is_not_refundable(okpay_settings):
    """Refunding a payment that never completed raises our own refund error."""
    contract = local_contract(seed_world())
    payment = payments.authorize_on_contract(
        contract, amount=Decimal("5.00"), invoice="inv-norefund"
    )
    with pytest.raises(NotRefundable) as caught:
        payments.refund_payment(payment, okpay_settings=okpay_settings)
    assert caught.value.user_message == "Only a completed payment can be refunded."
    assert not EmuTransaction.objects.filter(
        invoice__startswith="inv-norefund-refund"
    ).exists()
