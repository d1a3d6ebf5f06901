"""How many SQL statements one genuine IPN costs (a regression guard, not a timing).

The postback goes to the in-process emulator, which shares the database
connection; its own statements (on ``okpay_gateway_emulator_*`` tables) are
left out of the count, which is the shop's alone. Transaction control
(``BEGIN``/``COMMIT``, which SQLite's IMMEDIATE mode logs and PostgreSQL does
not) is counted apart: the pipeline commits twice (the stored row, then the
verification and the outcome together).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    PaymentStatus,
)
from tests.core import support

pytestmark = [
    pytest.mark.usefixtures("gateway"),
    pytest.mark.django_db(transaction=True),
]

# Issue 9's budget for a genuine IPN.
MAX_STATEMENTS = 6


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def _shop_statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if "okpay_gateway_emulator_" not in query["sql"]
        and query["sql"].split(None, 1)[0].upper() not in _CONTROL
    ]


def _post_counted(client, body: bytes) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = support.post_ipn(client, body)
    return response.status_code, _shop_statements(captured)


def _print(label: str, statements: list[str]) -> None:
    print(f"\n{label}: {len(statements)} SQL statements")
    for sql in statements:
        print(f"  {sql[:150]}")


def test_genuine_payment_ipn_costs_at_most_six_statements(client):
    """A verified payment IPN for a charge the shop sent: one INSERT ... one UPDATE."""
    merchant = support.create_merchant()
    buyer = support.create_client()
    emu = support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    contract = Contract.objects.create(
        okpay_id=emu.id,
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        status=ContractStatus.ACTIVE,
        invoice="agr-1",
    )
    payment = Payment.objects.create(
        invoice="pay-1",
        contract=contract,
        amount=Decimal("25.00"),
        currency="USD",
        status=PaymentStatus.SENDING,
    )
    support.charge_at_emulator(merchant, emu.id, amount="25.00", invoice="pay-1")
    body = support.body_of(support.last_ipn("payment"))

    status, statements = _post_counted(client, body)

    _print("genuine payment IPN", statements)
    assert status == 200
    assert Notification.objects.get().state == NotificationState.PROCESSED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED
    assert len(statements) <= MAX_STATEMENTS
    reads = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, "the payment (with its contract) is read once"

    # The same bytes again: counted on the row, nothing applied, no postback.
    status, statements = _post_counted(client, body)
    _print("repeat of the same bytes", statements)
    assert status == 200
    assert Notification.objects.get().hit_count == 2
    assert len(statements) <= 3


def test_genuine_access_granted_ipn_statements(client):
    """A verified grant of the shop's pending contract stays within the budget too."""
    merchant = support.create_merchant()
    buyer = support.create_client()
    Contract.objects.create(
        receiver_wallet=support.MERCHANT_WALLET,
        title="Monthly box",
        currency="USD",
        monthly_amount=Decimal("100.00"),
        invoice="agr-1",
    )
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn("access_granted"))

    status, statements = _post_counted(client, body)

    _print("genuine access_granted IPN", statements)
    assert status == 200
    assert Notification.objects.get().state == NotificationState.PROCESSED
    assert Contract.objects.get().status == ContractStatus.ACTIVE
    assert len(statements) <= MAX_STATEMENTS
