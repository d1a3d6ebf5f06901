"""IPN sender: exact fields, delivery over real HTTP, retries, faults, injection."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from requests.adapters import BaseAdapter

from okpay_gateway.emulator import clock, faults, ipn_sender, operations
from okpay_gateway.emulator.models import IpnDeliveryAttempt, IpnMessage, IpnStatus

pytestmark = pytest.mark.live


class RecordingAdapter(BaseAdapter):
    """A transport of our own: answers 200 and keeps each request and its timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[object] = []

    def send(
        self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None
    ):
        self.requests.append(request)
        self.timeouts.append(timeout)
        response = requests.Response()
        response.status_code = 200
        response._content = b"OK"
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass


def _contract(seeded, ipn_url: str):
    merchant = operations.find_wallet(seeded.wallet("merchant@example.com").wallet_id)
    alice = operations.find_wallet("alice@example.com")
    return operations.grant_contract(
        receiver=merchant,
        client=alice,
        title="Plan",
        currency="USD",
        monthly_limit=Decimal("50.00"),
        invoice="agr-1",
        ipn_url=ipn_url,
        notify=False,
    )


def _queue(url: str, fields=None) -> IpnMessage:
    return ipn_sender.queue_ipn(
        url, fields or [("ok_charset", "utf-8"), ("ok_txn_id", "5")], event="payment"
    )


def test_queue_ipn_appends_ipn_id_last_and_keeps_order(seeded, manual_delivery):
    """queue_ipn stores fields in order with a fresh ok_ipn_id at the end."""
    first = _queue("http://127.0.0.1:9/ipn")
    second = _queue("http://127.0.0.1:9/ipn")
    assert first.fields == [
        ["ok_charset", "utf-8"],
        ["ok_txn_id", "5"],
        ["ok_ipn_id", str(first.ipn_id)],
    ]
    assert second.ipn_id == first.ipn_id + 1
    assert first.status == IpnStatus.QUEUED
    assert first.next_attempt_at == clock.now()


def test_queue_ipn_without_url_is_stored_but_never_sent(seeded, manual_delivery):
    """A message with no target URL stays Queued and is not due."""
    message = _queue("")
    assert message.next_attempt_at is None
    assert ipn_sender.deliver_due() == 0
    message.refresh_from_db()
    assert message.status == IpnStatus.QUEUED
    assert message.attempts == 0


def test_notify_contract_event_payment_has_transaction_fields(seeded, manual_delivery):
    """A payment IPN carries ok_txn_* with merchant-paid fee and ok_p_* echo."""
    contract = _contract(seeded, "http://127.0.0.1:9/ipn")
    merchant = contract.receiver
    txn = operations.charge_contract(
        merchant=merchant,
        contract_id=contract.id,
        amount=Decimal("10.00"),
        invoice="c-1",
    )
    message = IpnMessage.objects.get(event="payment")
    assert message.transaction_id == txn.id
    assert message.contract_id == contract.id
    names = [name for name, _ in message.fields]
    assert names[:5] == [
        "ok_charset",
        "ok_receiver",
        "ok_receiver_id",
        "ok_receiver_wallet",
        "ok_receiver_email",
    ]
    assert names[-1] == "ok_ipn_id"
    fields = message.field_dict()
    assert fields["ok_txn_id"] == str(txn.id)
    assert fields["ok_txn_kind"] == "preapproved"
    assert fields["ok_txn_payment_type"] == "instant"
    assert fields["ok_txn_gross"] == "10.00"
    assert fields["ok_txn_fee"] == "0.05"
    assert fields["ok_txn_net"] == "9.95"
    assert fields["ok_txn_amount"] == "9.95"
    assert fields["ok_txn_datetime"] == "2026-01-15 10:30:00"
    assert fields["ok_txn_status"] == "completed"
    assert fields["ok_invoice"] == "c-1"
    assert fields["ok_p_event"] == "payment"
    assert fields["ok_p_status"] == "active"
    assert fields["ok_p_monthly_amount"] == "50.00"
    assert fields["ok_p_daily_amount"] == ""


def test_notify_contract_event_cancel_reports_canceled_status(seeded, manual_delivery):
    """Cancelling queues access_denied with ok_p_status=canceled."""
    contract = _contract(seeded, "http://127.0.0.1:9/ipn")
    operations.cancel_contract(wallet=contract.receiver, contract_id=contract.id)
    fields = IpnMessage.objects.get(event="access_denied").field_dict()
    assert fields["ok_p_status"] == "canceled"


def test_contract_ipn_url_falls_back_to_wallet_url(seeded, manual_delivery):
    """Without ok_ipn the merchant wallet's IPN URL is the target."""
    contract = _contract(seeded, "")
    contract.receiver.ipn_url = "http://127.0.0.1:9/wallet-ipn"
    contract.receiver.save()
    message = ipn_sender.notify_contract_event(contract, "access_granted")
    assert message.url == "http://127.0.0.1:9/wallet-ipn"


def test_deliver_due_retries_until_listener_answers_200(
    seeded, manual_delivery, listener
):
    """Two 500s then a 200: three attempts recorded, status Sent, same body each time."""
    listener.statuses = [500, 503]
    message = _queue(
        listener.url, [("ok_charset", "utf-8"), ("ok_item_1_name", "Книга")]
    )

    assert ipn_sender.deliver_due() == 1
    message.refresh_from_db()
    assert message.status == IpnStatus.RETRYING
    assert message.attempts == 1
    assert message.last_status_code == 500

    assert ipn_sender.deliver_due() == 1
    assert ipn_sender.deliver_due() == 1
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT
    assert message.attempts == 3
    assert message.last_status_code == 200
    assert message.next_attempt_at is None
    codes = list(message.delivery_attempts.values_list("status_code", flat=True))
    assert codes == [500, 503, 200]
    assert ipn_sender.deliver_due() == 0

    expected = [
        ("ok_charset", "utf-8"),
        ("ok_item_1_name", "Книга"),
        ("ok_ipn_id", str(message.ipn_id)),
    ]
    assert listener.bodies == [expected, expected, expected]
    assert listener.content_types[0] == "application/x-www-form-urlencoded"
    assert b"ok_item_1_name=%D0%9A%D0%BD%D0%B8%D0%B3%D0%B0" in listener.raw[0]


def test_deliver_due_gives_up_after_retry_cap(seeded, manual_delivery, listener):
    """With three retry delays, the fourth failure marks the message Failed."""
    listener.default = 500
    message = _queue(listener.url)
    for _ in range(6):
        ipn_sender.deliver_due()
    message.refresh_from_db()
    assert message.status == IpnStatus.FAILED
    assert message.attempts == 4
    assert message.next_attempt_at is None
    assert len(listener.bodies) == 4


def test_deliver_due_connection_error_is_recorded_and_retried(
    seeded, manual_delivery, listener
):
    """An unreachable listener gives an attempt without status code and a retry."""
    url = listener.url
    listener.stop()
    message = _queue(url)
    ipn_sender.deliver_due()
    message.refresh_from_db()
    attempt = IpnDeliveryAttempt.objects.get(message=message)
    assert message.status == IpnStatus.RETRYING
    assert attempt.status_code is None
    assert attempt.error.startswith("connection error")


def test_retry_waits_for_emulator_time(seeded, settings, listener):
    """With real delays a retry is due only after the clock moves past the gap."""
    settings.OKPAY_EMULATOR = {
        **settings.OKPAY_EMULATOR,
        "IPN_DELIVERY": "manual",
        "IPN_RETRY_DELAYS": [60, 120],
    }
    listener.statuses = [500]
    message = _queue(listener.url)
    ipn_sender.deliver_due()
    message.refresh_from_db()
    assert message.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert ipn_sender.deliver_due() == 0
    clock.advance(timedelta(seconds=61))
    assert ipn_sender.deliver_due() == 1
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT


def test_default_retry_schedule_is_fifteen_resends_over_about_four_days(settings):
    """Without a setting the G6 schedule applies: 15 re-sends, 1 minute first."""
    settings.OKPAY_EMULATOR = {}
    delays = ipn_sender.retry_delays()
    assert len(delays) == 15
    assert delays[0] == timedelta(minutes=1)
    assert delays[10] == timedelta(hours=16)
    assert sum(delays, timedelta()) == timedelta(days=3, hours=8, minutes=3)


def test_sync_delivery_sends_after_commit(
    seeded, listener, django_capture_on_commit_callbacks
):
    """In sync mode the IPN goes out when the queueing transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        message = _queue(listener.url)
        assert listener.bodies == []
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT
    assert len(listener.bodies) == 1


def test_resend_sends_again_and_keeps_ipn_id(seeded, manual_delivery, listener):
    """A manual re-send of a Sent message posts the same fields and ok_ipn_id (A20)."""
    message = _queue(listener.url)
    ipn_sender.deliver_due()
    ipn_sender.resend(message)
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT
    assert message.attempts == 2
    assert listener.bodies[0] == listener.bodies[1]


def test_session_factory_is_used_with_explicit_timeouts(seeded, manual_delivery):
    """An injected session carries the POST, with a (connect, read) timeout."""
    adapter = RecordingAdapter()

    def factory() -> requests.Session:
        session = requests.Session()
        session.mount("http://", adapter)
        return session

    ipn_sender.set_session_factory(factory)
    message = _queue("http://shop.invalid/ipn")
    ipn_sender.deliver_due()
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT
    assert adapter.timeouts == [(5.0, 10.0)]
    assert adapter.requests[0].url == "http://shop.invalid/ipn"
    assert (
        adapter.requests[0].body
        == f"ok_charset=utf-8&ok_txn_id=5&ok_ipn_id={message.ipn_id}".encode()
    )


def test_duplicate_ipn_fault_sends_the_message_twice(seeded, manual_delivery, listener):
    """duplicate_ipn delivers the same message (same ok_ipn_id) two times."""
    faults.add_rule("duplicate_ipn", uses=1)
    message = _queue(listener.url)
    ipn_sender.deliver_due()
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT
    assert message.attempts == 2
    assert len(listener.bodies) == 2
    assert listener.bodies[0] == listener.bodies[1]


def test_out_of_order_fault_holds_access_granted_until_payment_is_sent(
    seeded, manual_delivery, listener
):
    """out_of_order_ipn makes the payment IPN arrive before access_granted."""
    faults.add_rule("out_of_order_ipn", operation="access_granted", uses=1)
    contract = _contract(seeded, listener.url)
    granted = ipn_sender.notify_contract_event(contract, "access_granted")
    assert ipn_sender.deliver_due() == 0
    operations.charge_contract(
        merchant=contract.receiver, contract_id=contract.id, amount=Decimal("5.00")
    )
    ipn_sender.deliver_due()
    ipn_sender.deliver_due()
    events = [dict(body)["ok_p_event"] for body in listener.bodies]
    assert events == ["payment", "access_granted"]
    granted.refresh_from_db()
    assert granted.status == IpnStatus.SENT


def test_endpoint_down_fault_forces_a_retry(seeded, manual_delivery, listener):
    """ipn_endpoint_down makes one attempt fail without reaching the listener."""
    faults.add_rule("ipn_endpoint_down", uses=1)
    message = _queue(listener.url)
    ipn_sender.deliver_due()
    message.refresh_from_db()
    assert message.status == IpnStatus.RETRYING
    assert listener.bodies == []
    ipn_sender.deliver_due()
    message.refresh_from_db()
    assert message.status == IpnStatus.SENT
