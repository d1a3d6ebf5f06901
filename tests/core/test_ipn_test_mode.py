"""TEST IPNs (simulator, sandbox) only ever touch records a TEST IPN made.

Where the settings accept TEST answers (the emulator here), a simulator
message is applied, but it must never change an agreement granted by a
VERIFIED IPN or one the shop asked for, nor complete a real payment.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from okpay_gateway.emulator import ipn_sender
from okpay_gateway.emulator.simulator import SimulatorRequest, build_simulator_fields
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    PaymentStatus,
    VerificationState,
)
from tests.core import support

pytestmark = pytest.mark.usefixtures("gateway")


def _simulated_body(merchant, **values) -> bytes:
    request = SimulatorRequest(
        url="http://shop.example/okpay/ipn/", receiver=merchant, **values
    )
    message = ipn_sender.queue_ipn("", build_simulator_fields(request), is_test=True)
    return support.body_of(message)


def _live_granted_contract(client, merchant, buyer) -> Contract:
    Contract.objects.create(
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        invoice="agr-1",
    )
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    granted = support.body_of(support.last_ipn("access_granted"))
    assert support.post_ipn(client, granted).status_code == 200
    contract = Contract.objects.get()
    assert (contract.status, contract.is_test) == (ContractStatus.ACTIVE, False)
    return contract


def _row_of(body: bytes) -> Notification:
    return next(n for n in Notification.objects.all() if bytes(n.body) == body)


def test_simulator_cancel_of_live_agreement_is_flagged_not_applied(
    client, merchant, buyer, signal_log
):
    """The issue's case: a TEST access_denied leaves the VERIFIED agreement active."""
    contract = _live_granted_contract(client, merchant, buyer)
    body = _simulated_body(
        merchant,
        event="access_denied",
        txn_kind="preapproved",
        p_status="canceled",
        contract_id=contract.okpay_id,
    )

    response = support.post_ipn(client, body)

    assert response.status_code == 200
    row = _row_of(body)
    assert row.verification == VerificationState.TEST
    assert row.state == NotificationState.FLAGGED
    assert row.flag_codes == ["test_on_live_record"]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert signal_log.of("contract_closed") == []


def test_simulator_grant_cannot_take_the_shops_pending_contract(client, merchant):
    """A TEST grant naming the shop's pending contract's invoice leaves it pending."""
    contract = Contract.objects.create(
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        invoice="Payment Invoice",
    )
    body = _simulated_body(
        merchant,
        event="access_granted",
        txn_kind="preapproved",
        p_status="active",
        contract_id=4242,
    )

    assert support.post_ipn(client, body).status_code == 200

    assert _row_of(body).flag_codes == ["test_on_live_record"]
    contract.refresh_from_db()
    assert (contract.status, contract.okpay_id) == (ContractStatus.PENDING, None)


def test_simulator_payment_does_not_complete_a_live_payment(client, merchant):
    """A TEST payment IPN matching a real payment's invoice and amount completes nothing."""
    contract = Contract.objects.create(
        okpay_id=1,
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        status=ContractStatus.ACTIVE,
        invoice="agr-1",
    )
    payment = Payment.objects.create(
        invoice="Payment Invoice",
        contract=contract,
        amount=Decimal("100.00"),
        currency="USD",
        status=PaymentStatus.SENDING,
    )
    body = _simulated_body(
        merchant,
        event="payment",
        txn_kind="preapproved",
        p_status="active",
        contract_id=1,
    )

    assert support.post_ipn(client, body).status_code == 200

    assert _row_of(body).flag_codes == ["test_on_live_record"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SENDING


def test_simulator_messages_run_their_own_test_agreement(
    client, merchant, signal_log, django_capture_on_commit_callbacks
):
    """A TEST grant of an unknown agreement records a TEST contract; TEST may close it."""
    granted = _simulated_body(
        merchant,
        event="access_granted",
        txn_kind="preapproved",
        p_status="active",
        contract_id=4242,
    )
    canceled = _simulated_body(
        merchant,
        event="access_denied",
        txn_kind="preapproved",
        p_status="canceled",
        contract_id=4242,
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert support.post_ipn(client, granted).status_code == 200
        contract = Contract.objects.get()
        assert (contract.status, contract.is_test) == (ContractStatus.ACTIVE, True)
        assert support.post_ipn(client, canceled).status_code == 200

    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELED
    assert _row_of(canceled).state == NotificationState.PROCESSED


def test_verified_grant_makes_a_test_contract_live(client, merchant, buyer):
    """An agreement OKPAY itself vouches for (VERIFIED) is live from then on."""
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    Contract.objects.create(
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        invoice="agr-1",
        is_test=True,
    )
    granted = support.body_of(support.last_ipn("access_granted"))

    assert support.post_ipn(client, granted).status_code == 200

    contract = Contract.objects.get()
    assert (contract.status, contract.okpay_id) == (ContractStatus.ACTIVE, emu.id)
    assert contract.is_test is False
