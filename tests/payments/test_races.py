"""Exactly-once under concurrency: the return page and the IPN racing (PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from okpay_gateway import contracts, payments, signals
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.models import (
    ContractStatus,
    Payment,
    PaymentEventKind,
    PaymentStatus,
)
from tests.okpay_ledger import charges
from tests.payments.support import (
    CUSTOMER_WALLET,
    MERCHANT_WALLET,
    local_contract,
    seed_world,
)


def _run_together(*calls):
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def worker(call):
        try:
            barrier.wait(timeout=30)
            call()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_complete_from_return_racing_ipn_grant_charges_exactly_once(okpay_settings):
    """Return page and access_granted IPN racing grant once and move the money once."""
    seed_world()
    merchant = Wallet.objects.get(wallet_id=MERCHANT_WALLET)
    client = Wallet.objects.get(wallet_id=CUSTOMER_WALLET)
    contract = local_contract(None, status=ContractStatus.PENDING, invoice="agr-race")
    payment = Payment.objects.create(
        invoice="pay-race",
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
        invoice="agr-race",
        notify=False,
    )
    completed: list[int] = []

    def on_completed(**kwargs):
        completed.append(kwargs["payment"].pk)

    signals.payment_completed.connect(on_completed, weak=False)

    def return_page():
        payments.complete_from_return(invoice="agr-race", okpay_settings=okpay_settings)

    def ipn_apply():
        local = contracts.find_contract(invoice="agr-race")
        try:
            contracts.grant_contract(local, contracts.GrantDetails(okpay_id=granted.id))
        finally:
            payments.charge_waiting_payments(local, okpay_settings=okpay_settings)

    try:
        errors = _run_together(return_page, ipn_apply)
    finally:
        signals.payment_completed.disconnect(on_completed)
    assert errors == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED
    assert charges("pay-race").count() == 1
    completions = payment.events.filter(
        kind__in=[PaymentEventKind.CHARGE_COMPLETED, PaymentEventKind.CHARGE_RESOLVED],
        detail__has_key="previous_status",
    )
    assert completions.count() == 1
    assert completed == [payment.pk]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
