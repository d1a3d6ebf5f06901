"""Identical IPNs arriving at the same moment apply once (PostgreSQL only).

Run with ``OKPAY_TEST_DB=postgres python -m pytest tests/core -m postgres``.
SQLite serialises writers, so only PostgreSQL shows what the unique
constraint on ``ProcessedEvent.key`` does under real concurrency.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    ProcessedEvent,
)
from tests.core import support

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("gateway")]

THREADS = 3


def _pending_contract_granted_at_emulator():
    """The shop's pending contract, and the agreement the customer approved for it."""
    merchant = support.create_merchant()
    buyer = support.create_client()
    contract = Contract.objects.create(
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        invoice="agr-1",
    )
    return contract, support.grant_at_emulator(merchant, buyer, invoice="agr-1")


@pytest.mark.django_db(transaction=True)
def test_ipn_view_three_identical_ipns_at_once_apply_once(signal_log):
    """Three threads post the same verified grant together: one row, applied once."""
    contract, emu = _pending_contract_granted_at_emulator()
    message = support.last_ipn("access_granted")
    body = support.body_of(message)
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            statuses.append(support.post_ipn(client, body).status_code)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    # The first arrival is applied; a copy that finds it still in flight is
    # told to come back (503), one that finds it done gets its answer (200).
    assert sorted(statuses)[0] == 200
    assert set(statuses) <= {200, 503}
    row = Notification.objects.get()
    assert row.state == NotificationState.PROCESSED
    assert row.hit_count == THREADS
    ipn_key = f"ipn:{message.ipn_id}"
    contract_key = f"contract:{emu.id}:access_granted:active"
    assert ProcessedEvent.objects.filter(key=ipn_key).count() == 1
    assert ProcessedEvent.objects.filter(key=contract_key).count() == 1
    assert set(ProcessedEvent.objects.values_list("notification_id", flat=True)) == {
        row.pk
    }
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.okpay_id == emu.id
    assert len(signal_log.of("contract_granted")) == 1
    # OKPAY's later redelivery of a 503'd copy is answered from the row.
    assert support.post_ipn(Client(), body).status_code == 200
    assert len(signal_log.of("contract_granted")) == 1


@pytest.mark.django_db(transaction=True)
def test_ipn_view_same_ipn_in_different_bytes_at_once_applies_once(signal_log):
    """Copies of one grant differing in bytes race on the dedupe keys: one applies."""
    contract, emu = _pending_contract_granted_at_emulator()
    body = support.body_of(support.last_ipn("access_granted"))
    # Same fields, different content types: distinct rows, the same keys.
    content_types = [
        support.FORM,
        support.FORM + "; charset=utf-8",
        support.FORM + "; charset=UTF-8",
    ]
    barrier = threading.Barrier(len(content_types))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def deliver(content_type: str) -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.generic(
                "POST", support.IPN_PATH, data=body, content_type=content_type
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(ct,)) for ct in content_types]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert statuses == [200] * len(content_types)
    states = sorted(Notification.objects.values_list("state", flat=True))
    assert states == [
        NotificationState.DUPLICATE,
        NotificationState.DUPLICATE,
        NotificationState.PROCESSED,
    ]
    winner = Notification.objects.get(state=NotificationState.PROCESSED)
    assert set(ProcessedEvent.objects.values_list("notification_id", flat=True)) == {
        winner.pk
    }
    contract.refresh_from_db()
    assert (contract.status, contract.okpay_id) == (ContractStatus.ACTIVE, emu.id)
    assert len(signal_log.of("contract_granted")) == 1
