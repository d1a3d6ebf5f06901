"""The IPN pipeline end to end: real emulator IPNs, real postbacks, the view."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from okpay_gateway import notifications, views
from okpay_gateway.emulator import faults, ipn_sender
from okpay_gateway.emulator.models import FaultKind
from okpay_gateway.emulator.simulator import SimulatorRequest, build_simulator_fields
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    PaymentStatus,
    ProcessedEvent,
    VerificationState,
)
from tests.core import support

pytestmark = pytest.mark.usefixtures("gateway")


def _our_contract(invoice: str = "agr-1", **values) -> Contract:
    defaults = {
        "receiver_wallet": support.MERCHANT_WALLET,
        "title": "Monthly box",
        "currency": "USD",
        "monthly_amount": Decimal("100.00"),
        "invoice": invoice,
    }
    defaults.update(values)
    return Contract.objects.create(**defaults)


def _our_payment(invoice: str = "pay-1", **values) -> Payment:
    defaults = {
        "invoice": invoice,
        "amount": Decimal("25.00"),
        "currency": "USD",
        "status": PaymentStatus.ACTION_REQUIRED,
    }
    defaults.update(values)
    return Payment.objects.create(**defaults)


def _only_notification() -> Notification:
    rows = list(Notification.objects.all())
    assert len(rows) == 1
    return rows[0]


def test_ipn_view_genuine_access_granted_activates_contract(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """A verified access_granted IPN activates the pending contract and records its keys."""
    contract = _our_contract()
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    message = support.last_ipn("access_granted")

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.body_of(message))

    assert response.status_code == 200
    assert response.content == b"OK"
    row = _only_notification()
    assert row.state == NotificationState.PROCESSED
    assert row.verification == VerificationState.VERIFIED
    assert row.verification_answer == "VERIFIED"
    assert row.ipn_id == message.ipn_id
    assert row.contract_okpay_id == emu.id
    assert row.event == "access_granted"
    assert row.invoice == "agr-1"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.okpay_id == emu.id
    assert contract.client_email == buyer.email
    assert contract.client_name == "Anna Buyer"
    assert contract.granted_at is not None
    assert sorted(ProcessedEvent.objects.values_list("key", flat=True)) == [
        f"contract:{emu.id}:access_granted:active",
        f"ipn:{message.ipn_id}",
    ]
    assert [kw["contract"].pk for kw in signal_log.of("contract_granted")] == [
        contract.pk
    ]
    assert [
        kw["notification"].pk for kw in signal_log.of("notification_processed")
    ] == [row.pk]
    assert signal_log.of("notification_flagged") == []


def test_ipn_view_body_and_headers_stored_exactly(client, merchant, buyer):
    """The raw bytes, content type and remote address are stored; credentials are not."""
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn("access_granted"))

    support.post_ipn(
        client,
        body,
        HTTP_COOKIE="sessionid=secret-cookie",
        HTTP_AUTHORIZATION="Bearer secret-token",
        HTTP_USER_AGENT="OKPAY-IPN/1.0",
        REMOTE_ADDR="78.140.166.69",
    )

    row = _only_notification()
    assert bytes(row.body) == body
    assert row.content_type == support.FORM
    assert row.remote_addr == "78.140.166.69"
    assert row.headers["User-Agent"] == "OKPAY-IPN/1.0"
    stored = repr(row.headers).lower()
    assert "cookie" not in stored
    assert "authorization" not in stored
    assert "secret" not in stored


def test_ipn_view_get_request_answers_405_without_row(client, db):
    """Only POSTs are IPNs: a GET is refused and leaves no row."""
    response = client.get(support.IPN_PATH)

    assert response.status_code == 405
    assert Notification.objects.count() == 0


def test_ipn_view_malformed_body_answers_400_and_keeps_bytes(
    client, db, signal_log, django_capture_on_commit_callbacks
):
    """A body that is no IPN is stored byte for byte, flagged malformed and answered 400."""
    body = b"ok_txn_id=12x&ok_ipn_id=1\xff\x00garbage"

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, body)

    assert response.status_code == 400
    row = _only_notification()
    assert bytes(row.body) == body
    assert row.state == NotificationState.MALFORMED
    assert row.flag_codes == ["malformed"]
    assert row.verification == VerificationState.PENDING
    assert [kw["flags"][0]["code"] for kw in signal_log.of("notification_flagged")] == [
        "malformed"
    ]


def test_ipn_view_forged_message_is_invalid_and_not_applied(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """An IPN the emulator never sent is INVALID (200), flagged and changes nothing."""
    contract = _our_contract()
    forged = [
        ("ok_charset", "utf-8"),
        ("ok_receiver_wallet", support.MERCHANT_WALLET),
        ("ok_txn_id", ""),
        ("ok_txn_kind", "preapproved"),
        ("ok_txn_currency", "USD"),
        ("ok_invoice", "agr-1"),
        ("ok_p_id", "424242"),
        ("ok_p_event", "access_granted"),
        ("ok_p_status", "active"),
        ("ok_ipn_id", "777777"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.encode_ipn(forged))

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.INVALID
    assert row.verification == VerificationState.INVALID
    assert row.flag_codes == ["verification_invalid"]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING
    assert contract.okpay_id is None
    assert ProcessedEvent.objects.count() == 0
    assert len(signal_log.of("notification_flagged")) == 1
    assert signal_log.of("contract_granted") == []


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("ok_txn_gross", "1.00"),
        ("ok_txn_currency", "EUR"),
        ("ok_receiver_wallet", "OK999999999"),
        ("ok_invoice", "pay-2"),
    ],
)
def test_ipn_view_tampered_payment_is_invalid(
    client, merchant, buyer, field_name, value
):
    """Changing one field of a genuine payment IPN makes the postback INVALID."""
    _our_payment(amount=Decimal("1.00"))
    _our_payment(invoice="pay-2")
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    support.charge_at_emulator(merchant, emu.id, amount="25.00", invoice="pay-1")
    fields = support.fields_of(support.last_ipn("payment"))

    response = support.post_ipn(
        client, support.encode_ipn(support.replaced(fields, **{field_name: value}))
    )

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.INVALID
    assert row.flag_codes == ["verification_invalid"]
    assert set(Payment.objects.values_list("status", flat=True)) == {
        PaymentStatus.ACTION_REQUIRED
    }
    assert ProcessedEvent.objects.count() == 0


def test_ipn_view_verified_ipn_for_other_wallet_is_flagged_receiver_mismatch(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """A genuine IPN the emulator sent to another merchant is VERIFIED but flagged."""
    other = support.create_merchant(wallet_id="OK200000002", email="other@example.com")
    contract = _our_contract()
    support.grant_at_emulator(other, buyer, invoice="agr-1")

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.body_of(support.last_ipn()))

    assert response.status_code == 200
    row = _only_notification()
    assert row.verification == VerificationState.VERIFIED
    assert row.state == NotificationState.FLAGGED
    assert "receiver_mismatch" in row.flag_codes
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING
    assert ProcessedEvent.objects.count() == 0
    assert signal_log.of("notification_flagged")[0]["flags"] == row.flags


def test_ipn_view_test_answer_in_live_mode_is_invalid(client, merchant, gateway):
    """A simulator message (verify says TEST) is refused in live mode, answered 200."""
    gateway.OKPAY_GATEWAY = support.gateway_settings(
        ENVIRONMENT="live", VERIFY_URL=support.EMULATOR_URL + "ipn-verify"
    )
    request = SimulatorRequest(
        url="http://shop.example/okpay/ipn/",
        receiver=merchant,
        event="access_granted",
        txn_kind="preapproved",
        p_status="active",
    )
    message = ipn_sender.queue_ipn("", build_simulator_fields(request), is_test=True)

    response = support.post_ipn(client, support.body_of(message))

    assert response.status_code == 200
    row = _only_notification()
    assert row.verification == VerificationState.TEST
    assert row.state == NotificationState.INVALID
    assert row.flag_codes == ["test_in_live_mode"]
    assert row.is_test is True
    assert Contract.objects.count() == 0


def test_ipn_view_verify_endpoint_down_answers_503_then_reverify_applies_once(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """Could-not-verify is RETRY + 503; reverify_due applies it once the endpoint is back."""
    contract = _our_contract()
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn("access_granted"))
    rule = faults.add_rule(FaultKind.HTTP_500, operation="ipn-verify", uses=None)

    response = support.post_ipn(client, body)

    assert response.status_code == 503
    row = _only_notification()
    assert row.state == NotificationState.RETRY
    assert row.verification == VerificationState.UNVERIFIABLE
    assert row.verification_answer == "HTTP 500"
    assert row.verify_attempts == 1
    assert row.next_verify_at > row.received_at
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING

    # Not due yet: nothing happens.
    assert notifications.reverify_due(now=timezone.now()) == []
    rule.delete()
    later = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        handled = notifications.reverify_due(now=later)
        again = notifications.reverify_due(now=later + timedelta(hours=1))

    assert [(n.pk, n.state) for n in handled] == [(row.pk, NotificationState.PROCESSED)]
    assert again == []
    row.refresh_from_db()
    assert row.verification == VerificationState.VERIFIED
    assert row.verify_attempts == 2
    assert row.next_verify_at is None
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.okpay_id == emu.id
    assert len(signal_log.of("contract_granted")) == 1

    # OKPAY's own redelivery of the same bytes is counted on the same row.
    response = support.post_ipn(client, body)
    assert response.status_code == 200
    row = _only_notification()
    assert (row.state, row.hit_count) == (NotificationState.PROCESSED, 2)
    assert len(signal_log.of("contract_granted")) == 1


def test_ipn_view_refused_connection_is_retry(client, merchant, buyer, gateway):
    """A verify call that cannot connect is RETRY with the error recorded, answered 503."""
    gateway.OKPAY_GATEWAY = support.gateway_settings(
        SESSION_FACTORY="tests.core.support.refusing_session"
    )
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")

    response = support.post_ipn(client, support.body_of(support.last_ipn()))

    assert response.status_code == 503
    row = _only_notification()
    assert row.state == NotificationState.RETRY
    assert "ConnectionError" in row.verification_answer


def test_reverify_gives_up_after_max_attempts(merchant, buyer, gateway, client):
    """After REVERIFY_MAX_ATTEMPTS failed postbacks the row is FAILED, not retried forever."""
    gateway.OKPAY_GATEWAY = support.gateway_settings(
        SESSION_FACTORY="tests.core.support.refusing_session", REVERIFY_MAX_ATTEMPTS=2
    )
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    support.post_ipn(client, support.body_of(support.last_ipn()))

    handled = notifications.reverify_due(now=timezone.now() + timedelta(days=1))

    assert [n.state for n in handled] == [NotificationState.FAILED]
    row = _only_notification()
    assert row.verify_attempts == 2
    assert row.next_verify_at is None
    assert row.error.startswith("gave up after 2 verification attempts")


def test_okpay_reverify_command_reports_states(client, merchant, buyer):
    """The management command re-verifies due rows and prints what became of them."""
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    _our_contract()
    rule = faults.add_rule(FaultKind.HTTP_500, operation="ipn-verify", uses=1)
    support.post_ipn(client, support.body_of(support.last_ipn()))
    rule.delete()
    Notification.objects.update(next_verify_at=timezone.now() - timedelta(seconds=1))
    from io import StringIO

    out = StringIO()
    call_command("okpay_reverify", stdout=out)

    assert out.getvalue().strip() == "1 IPNs re-verified (processed: 1)"
    assert _only_notification().state == NotificationState.PROCESSED


def test_ipn_view_same_message_twice_applies_once(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """A redelivered IPN is counted on its row (200): one key set, one grant, one signal."""
    _our_contract()
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn())

    with django_capture_on_commit_callbacks(execute=True):
        first = support.post_ipn(client, body)
        second = support.post_ipn(client, body)

    assert (first.status_code, second.status_code) == (200, 200)
    row = _only_notification()
    assert (row.state, row.hit_count) == (NotificationState.PROCESSED, 2)
    assert row.last_seen_at >= row.received_at
    assert ProcessedEvent.objects.count() == 2
    assert {e.notification_id for e in ProcessedEvent.objects.all()} == {row.pk}
    assert len(signal_log.of("contract_granted")) == 1
    assert len(signal_log.of("notification_processed")) == 1


def test_ipn_view_same_grant_in_other_bytes_is_duplicate(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """The same IPN with a different header-level charset is a new row, a DUPLICATE."""
    _our_contract()
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn())

    with django_capture_on_commit_callbacks(execute=True):
        first = support.post_ipn(client, body)
        second = client.post(
            support.IPN_PATH, data=body, content_type=support.FORM + "; charset=utf-8"
        )

    assert (first.status_code, second.status_code) == (200, 200)
    states = list(Notification.objects.order_by("pk").values_list("state", flat=True))
    assert states == [NotificationState.PROCESSED, NotificationState.DUPLICATE]
    assert len(signal_log.of("contract_granted")) == 1


def _state_after(deliveries, client, capture) -> tuple:
    with capture(execute=True):
        for body in deliveries:
            assert support.post_ipn(client, body).status_code == 200
    contract = Contract.objects.get(invoice="agr-1")
    payment = Payment.objects.get(invoice="pay-1")
    return (
        contract.status,
        contract.okpay_id,
        payment.status,
        payment.okpay_txn_id,
        payment.amount,
        payment.contract_id == contract.pk,
    )


def test_ipn_view_payment_before_access_granted_ends_like_in_order(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """Out-of-order delivery (payment first) leaves the same state as in-order delivery."""
    contract = _our_contract()
    _our_payment(contract=contract)
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    granted = support.body_of(support.last_ipn("access_granted"))
    txn = support.charge_at_emulator(merchant, emu.id, amount="25.00", invoice="pay-1")
    paid = support.body_of(support.last_ipn("payment"))

    out_of_order = _state_after(
        [paid, granted], client, django_capture_on_commit_callbacks
    )

    assert out_of_order == (
        ContractStatus.ACTIVE,
        emu.id,
        PaymentStatus.COMPLETED,
        txn.id,
        Decimal("25.00"),
        True,
    )
    states = list(Notification.objects.order_by("pk").values_list("state", flat=True))
    assert states == [NotificationState.PROCESSED, NotificationState.PROCESSED]
    assert len(signal_log.of("contract_granted")) == 1
    assert len(signal_log.of("payment_completed")) == 1
    payment = Payment.objects.get(invoice="pay-1")
    assert payment.fee == Decimal("0.13")


def test_ipn_view_in_order_flow_charges_waiting_payment(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """In order: the grant charges the waiting payment; its payment IPN is then a no-op."""
    contract = _our_contract()
    _our_payment(contract=contract)
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    granted = support.body_of(support.last_ipn("access_granted"))

    with django_capture_on_commit_callbacks(execute=True):
        assert support.post_ipn(client, granted).status_code == 200
    # The grant's after-commit charge went through SOAP; the emulator stored its IPN.
    paid_message = support.last_ipn("payment")
    in_order = _state_after(
        [support.body_of(paid_message)], client, django_capture_on_commit_callbacks
    )

    txn_id = int(paid_message.field_dict()["ok_txn_id"])
    assert in_order == (
        ContractStatus.ACTIVE,
        emu.id,
        PaymentStatus.COMPLETED,
        txn_id,
        Decimal("25.00"),
        True,
    )
    assert len(signal_log.of("payment_completed")) == 1
    assert list(
        Notification.objects.order_by("pk").values_list("state", flat=True)
    ) == [
        NotificationState.PROCESSED,
        NotificationState.PROCESSED,
    ]


def test_ipn_view_amount_mismatch_flagged_then_reprocessed(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """A verified payment for another amount is flagged, consumes no key, and applies after a fix."""
    contract = _our_contract(status=ContractStatus.ACTIVE)
    payment = _our_payment(contract=contract, amount=Decimal("30.00"))
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    Contract.objects.filter(pk=contract.pk).update(okpay_id=emu.id)
    support.charge_at_emulator(merchant, emu.id, amount="25.00", invoice="pay-1")

    response = support.post_ipn(client, support.body_of(support.last_ipn("payment")))

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.FLAGGED
    assert row.flag_codes == ["amount_mismatch"]
    assert ProcessedEvent.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ACTION_REQUIRED

    Payment.objects.filter(pk=payment.pk).update(amount=Decimal("25.00"))
    with django_capture_on_commit_callbacks(execute=True):
        notifications.reprocess(row)

    row.refresh_from_db()
    assert row.state == NotificationState.PROCESSED
    assert row.flags == []
    assert row.verify_attempts == 1  # trusted already: no second postback
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED
    assert len(signal_log.of("payment_completed")) == 1


def test_ipn_view_payment_for_unknown_invoice_flagged_unknown_payment(
    client, merchant, buyer
):
    """Money for an invoice we never issued is recorded and flagged unknown_payment."""
    contract = _our_contract(status=ContractStatus.ACTIVE)
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    Contract.objects.filter(pk=contract.pk).update(okpay_id=emu.id)
    support.charge_at_emulator(merchant, emu.id, amount="25.00", invoice="nobody-knows")

    response = support.post_ipn(client, support.body_of(support.last_ipn("payment")))

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.FLAGGED
    assert row.flag_codes == ["unknown_payment"]
    assert ProcessedEvent.objects.filter(notification=row).count() == 2
    assert Payment.objects.count() == 0


def test_ipn_view_revoke_closes_contract_and_late_grant_is_flagged(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """access_denied/canceled closes the contract; an older grant cannot reopen it."""
    from okpay_gateway.emulator import control

    contract = _our_contract()
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    granted = support.body_of(support.last_ipn("access_granted"))
    with django_capture_on_commit_callbacks(execute=True):
        support.post_ipn(client, granted)
    control.revoke_contract(emu.id)

    with django_capture_on_commit_callbacks(execute=True):
        support.post_ipn(client, support.body_of(support.last_ipn("access_denied")))

    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELED
    assert contract.closed_at is not None
    closed = signal_log.of("contract_closed")
    assert [(kw["contract"].pk, kw["reason"]) for kw in closed] == [
        (contract.pk, "revoked")
    ]

    # The merchant re-sends the old grant from the emulator's IPN history: the
    # same (agreement, event, status) was applied once already.
    replay = ipn_sender.queue_ipn(
        "", support.fields_of(support.last_ipn("access_granted"))[:-1]
    )
    support.post_ipn(client, support.body_of(replay))
    row = Notification.objects.order_by("-pk").first()
    assert row.state == NotificationState.DUPLICATE
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELED


def test_ipn_view_grant_for_contract_closed_here_is_flagged_contract_closed(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """A grant arriving for a contract the shop already abandoned does not reopen it."""
    contract = _our_contract(status=ContractStatus.CANCELED)
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.body_of(support.last_ipn()))

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.FLAGGED
    assert row.flag_codes == ["contract_closed"]
    assert ProcessedEvent.objects.count() == 0
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELED
    assert contract.okpay_id is None
    assert signal_log.of("contract_granted") == []
    assert [kw["flags"][0]["code"] for kw in signal_log.of("notification_flagged")] == [
        "contract_closed"
    ]


def test_ipn_view_grant_for_unknown_agreement_records_contract(client, merchant, buyer):
    """A verified grant for an agreement we have no row for is recorded, not lost."""
    emu = support.grant_at_emulator(merchant, buyer, invoice="made-elsewhere")

    support.post_ipn(client, support.body_of(support.last_ipn()))

    contract = Contract.objects.get()
    assert contract.okpay_id == emu.id
    assert contract.status == ContractStatus.ACTIVE
    assert contract.invoice == "made-elsewhere"
    assert contract.currency == "USD"
    assert contract.monthly_amount == Decimal("100.00")
    assert contract.customer is None


def test_ipn_view_currency_mismatch_on_contract_flagged(client, merchant, buyer):
    """A grant in another currency than the contract we issued is flagged, not applied."""
    contract = _our_contract(currency="EUR")
    support.grant_at_emulator(merchant, buyer, invoice="agr-1", currency="USD")

    support.post_ipn(client, support.body_of(support.last_ipn()))

    row = _only_notification()
    assert row.state == NotificationState.FLAGGED
    assert row.flag_codes == ["currency_mismatch"]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING


def test_ipn_view_unhandled_kind_is_ignored(client, merchant):
    """A verified message of a kind we do not handle is acknowledged and IGNORED."""
    fields = [
        ("ok_charset", "utf-8"),
        ("ok_receiver_wallet", support.MERCHANT_WALLET),
        ("ok_txn_id", "5550001"),
        ("ok_txn_kind", "payment_link"),
        ("ok_txn_gross", "-5.00"),
        ("ok_txn_currency", "USD"),
        ("ok_txn_status", "reversed"),
        ("ok_invoice", "pay-1"),
    ]
    message = ipn_sender.queue_ipn("", fields)

    response = support.post_ipn(client, support.body_of(message))

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.IGNORED
    assert row.flag_codes == ["unhandled_kind"]
    assert ProcessedEvent.objects.count() == 0


def test_ipn_view_unexpected_error_is_failed_500_with_traceback(
    client, merchant, buyer, gateway, caplog
):
    """An unexpected exception stores FAILED with the traceback, logs ERROR, answers 500."""
    gateway.OKPAY_GATEWAY = support.gateway_settings(
        SESSION_FACTORY="tests.core.support.exploding_session"
    )
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")

    with caplog.at_level(logging.ERROR, logger="okpay_gateway.notifications"):
        response = support.post_ipn(client, support.body_of(support.last_ipn()))

    assert response.status_code == 500
    row = _only_notification()
    assert row.state == NotificationState.FAILED
    assert "RuntimeError: transport exploded" in row.error
    assert "Traceback" in row.error
    records = [
        r
        for r in caplog.records
        if r.levelno == logging.ERROR and r.name == "okpay_gateway.notifications"
    ]
    assert [r.okpay_notification_id for r in records] == [row.pk]


def test_ipn_view_broken_configuration_still_stores_message(client, gateway, db):
    """With OKPAY_GATEWAY unusable the message is stored and FAILED (500), not lost."""
    gateway.OKPAY_GATEWAY = {"ENVIRONMENT": "emulator"}
    body = b"ok_txn_id=1&ok_ipn_id=2"

    response = support.post_ipn(client, body)

    assert response.status_code == 500
    row = _only_notification()
    assert bytes(row.body) == body
    assert row.state == NotificationState.FAILED
    assert "WALLET_ID" in row.error


def test_ipn_view_is_csrf_exempt_and_not_atomic(merchant, buyer):
    """The view works for a client that enforces CSRF and opts out of ATOMIC_REQUESTS."""
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    strict = Client(enforce_csrf_checks=True)

    response = support.post_ipn(strict, support.body_of(support.last_ipn()))

    assert response.status_code == 200
    assert "default" in views.ipn_view._non_atomic_requests


def test_handle_ipn_request_records_channel(rf, merchant, buyer):
    """The plugin's entry point stores the channel it was called for."""
    from okpay_gateway import conf

    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    request = rf.post(
        "/plugins/channel/eu/okpay/ipn/",
        data=support.body_of(support.last_ipn()),
        content_type=support.FORM,
    )

    response = notifications.handle_ipn_request(
        request, okpay_settings=conf.get_settings(), channel="eu"
    )

    assert response.status_code == 200
    row = _only_notification()
    assert row.channel == "eu"
    assert Contract.objects.get().channel == "eu"


def test_ipn_view_denied_agreement_fails_contract_and_declines_waiting_payment(
    client, merchant, buyer, signal_log, django_capture_on_commit_callbacks
):
    """access_denied/failed closes the pending contract; its waiting payment is declined."""
    from okpay_gateway.emulator.models import ContractStatus as EmulatorStatus

    contract = _our_contract()
    payment = _our_payment(contract=contract)
    emu = support.operations.grant_contract(
        receiver=merchant,
        client=buyer,
        title="Monthly box",
        currency="USD",
        monthly_limit=Decimal("100.00"),
        invoice="agr-1",
        status=EmulatorStatus.FAILED,
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.body_of(support.last_ipn()))

    assert response.status_code == 200
    assert _only_notification().state == NotificationState.PROCESSED
    contract.refresh_from_db()
    assert contract.status == ContractStatus.FAILED
    assert contract.okpay_id == emu.id
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.DECLINED
    assert payment.decline_code == "contract_not_approved"
    assert [kw["reason"] for kw in signal_log.of("contract_closed")] == ["failed"]


def test_ipn_view_pending_payment_activates_contract_without_completing(
    client, merchant, buyer, django_capture_on_commit_callbacks
):
    """A pending payment event proves the grant but does not complete the payment."""
    contract = _our_contract()
    # In flight: charge_waiting_payments after the grant leaves it alone.
    payment = _our_payment(contract=contract, status=PaymentStatus.SENDING)
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    support.charge_at_emulator(merchant, emu.id, amount="25.00", invoice="pay-1")
    fields = support.replaced(
        support.fields_of(support.last_ipn("payment"))[:-1], ok_txn_status="pending"
    )
    message = ipn_sender.queue_ipn("", fields)

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.body_of(message))

    assert response.status_code == 200
    row = _only_notification()
    assert row.state == NotificationState.PROCESSED
    assert row.flag_codes == ["pending"]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SENDING
    txn_id = message.field_dict()["ok_txn_id"]
    assert ProcessedEvent.objects.filter(key=f"txn:{txn_id}:pending").exists()


def test_ipn_view_plain_payment_completes_payment_by_invoice(
    client, merchant, signal_log, django_capture_on_commit_callbacks
):
    """A verified plain (link) payment IPN completes the payment with that invoice."""
    payment = _our_payment(amount=Decimal("10.00"), status=PaymentStatus.PENDING)
    fields = [
        ("ok_charset", "utf-8"),
        ("ok_receiver", support.MERCHANT_WALLET),
        ("ok_receiver_wallet", support.MERCHANT_WALLET),
        ("ok_txn_id", "5550002"),
        ("ok_txn_kind", "payment_link"),
        ("ok_txn_gross", "10.00"),
        ("ok_txn_net", "9.95"),
        ("ok_txn_fee", "0.05"),
        ("ok_txn_currency", "USD"),
        ("ok_txn_status", "completed"),
        ("ok_invoice", "pay-1"),
    ]
    message = ipn_sender.queue_ipn("", fields)

    with django_capture_on_commit_callbacks(execute=True):
        response = support.post_ipn(client, support.body_of(message))

    assert response.status_code == 200
    assert _only_notification().state == NotificationState.PROCESSED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED
    assert payment.okpay_txn_id == 5550002
    assert payment.fee == Decimal("0.05")
    assert sorted(ProcessedEvent.objects.values_list("key", flat=True)) == [
        f"ipn:{message.ipn_id}",
        "txn:5550002:completed",
    ]
    assert len(signal_log.of("payment_completed")) == 1


def test_reverify_invalid_row_after_fault_cleared_applies_it(
    client, merchant, buyer, django_capture_on_commit_callbacks
):
    """The admin's reverify asks OKPAY again and applies a row that is now VERIFIED."""
    contract = _our_contract()
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    faults.add_rule(FaultKind.INVALID_VERIFY, operation="ipn-verify", uses=1)
    support.post_ipn(client, support.body_of(support.last_ipn()))
    row = _only_notification()
    assert row.state == NotificationState.INVALID

    with django_capture_on_commit_callbacks(execute=True):
        notifications.reverify(row)

    row.refresh_from_db()
    assert row.state == NotificationState.PROCESSED
    assert row.flags == []
    assert row.verify_attempts == 2
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_reprocess_processed_row_is_left_alone(client, merchant, buyer):
    """Reprocessing a PROCESSED row changes nothing."""
    _our_contract()
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    support.post_ipn(client, support.body_of(support.last_ipn()))
    row = _only_notification()
    processed_at = row.processed_at

    notifications.reprocess(row)

    row.refresh_from_db()
    assert (row.state, row.processed_at) == (NotificationState.PROCESSED, processed_at)
