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


@pytest.mark.django_db(transaction=True)
def test_ipn_view_three_identical_ipns_at_once_apply_once(signal_log):
    """Three threads post the same verified grant together: one applies, two are duplicates."""
    merchant = support.create_merchant()
    buyer = support.create_client()
    contract = Contract.objects.create(
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        invoice="agr-1",
    )
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
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
    assert statuses == [200] * THREADS
    states = sorted(Notification.objects.values_list("state", flat=True))
    assert states == [
        NotificationState.DUPLICATE,
        NotificationState.DUPLICATE,
        NotificationState.PROCESSED,
    ]
    ipn_key = f"ipn:{message.ipn_id}"
    contract_key = f"contract:{emu.id}:access_granted:active"
    assert ProcessedEvent.objects.filter(key=ipn_key).count() == 1
    assert ProcessedEvent.objects.filter(key=contract_key).count() == 1
    winner = Notification.objects.get(state=NotificationState.PROCESSED)
    assert set(ProcessedEvent.objects.values_list("notification_id", flat=True)) == {
        winner.pk
    }
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.okpay_id == emu.id
    assert len(signal_log.of("contract_granted")) == 1
