"""Renewals of subscriptions bought in a real Saleor, a month later on the emulator's clock.

Live: needs the ``OKPAY_SALEOR_*`` variables (see ``conftest.py``); skipped without them.
Each test resets the emulator's clock, buys a subscription product (the product
the session marked ``okpay.interval=month``), moves the clock 31 days and renews
as a separate process would: ``manage.py okpay_renew`` or a Celery worker on
Saleor's Celery app running our beat task. Both must charge the period once.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.saleor.conftest import run_saleor

pytestmark = pytest.mark.live

RENEW_TASK = "okpay_gateway.billing.tasks.renew_due_subscriptions"
CELERY_APP = "saleor.celeryconf:app"


def _subscriber(shop):
    customer = shop.new_customer()
    bought = shop.buy_first_time(customer, variant_id=shop.subscription_variant_id)
    invoice = bought["confirmation"]["fields"]["ok_invoice"]
    contract = shop.emulator.contract(invoice)
    (first_charge,) = shop.emulator.transactions(contract_id=contract["id"])
    return customer, contract, invoice, Decimal(first_charge["amount"])


def _charges(shop, contract) -> list[Decimal]:
    return [
        Decimal(t["amount"])
        for t in shop.emulator.transactions(contract_id=contract["id"])
    ]


def _wait_for_charges(shop, contract, count: int, seconds: float) -> list[Decimal]:
    deadline = time.monotonic() + seconds
    while True:
        charges = _charges(shop, contract)
        if len(charges) >= count or time.monotonic() > deadline:
            return charges
        time.sleep(1)


def test_okpay_renew_new_process_after_clock_moved_charges_period_once(shop):
    """A month later a cron-style okpay_renew charges the live subscription once, never the revoked one."""
    shop.emulator.reset_clock()
    _keeper, kept, _invoice, price = _subscriber(shop)
    revoker, revoked, revoked_invoice, _ = _subscriber(shop)
    shop.emulator.revoke(revoked["id"])
    shop.wait_for_ipns(revoked_invoice, 3)  # granted, first payment, revoked
    assert shop.payment_sources(revoker) == []

    as_of = shop.emulator.move_clock(days=31)
    first = run_saleor(
        shop.target, "okpay_renew", "--as-of", as_of, "--progress", "never"
    )
    print("okpay_renew (first run):\n" + first.stdout + first.stderr)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _charges(shop, kept) == [price, price]
    assert _charges(shop, revoked) == [price]

    second = run_saleor(
        shop.target, "okpay_renew", "--as-of", as_of, "--progress", "never"
    )
    print("okpay_renew (second run):\n" + second.stdout + second.stderr)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _charges(shop, kept) == [price, price]


@pytest.fixture
def celery_worker(shop, tmp_path):
    """A Celery worker on Saleor's Celery app, in its own process, stopped afterwards."""
    target = shop.target
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            target.python,
            "-m",
            "celery",
            "-A",
            CELERY_APP,
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "-n",
            f"okpay-e2e-{secrets.token_hex(3)}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=str(Path(target.manage_py).parent),
        env=target.subprocess_env(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while "ready." not in log.read_text(errors="replace"):
        assert worker.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(1)
    yield log
    worker.terminate()
    worker.wait(timeout=60)


def _send_renew_task(shop, as_of: str) -> None:
    target = shop.target
    sent = subprocess.run(
        [
            target.python,
            "-m",
            "celery",
            "-A",
            CELERY_APP,
            "call",
            RENEW_TASK,
            "--kwargs",
            json.dumps({"as_of": as_of}),
        ],
        cwd=str(Path(target.manage_py).parent),
        env=target.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr


def test_celery_worker_runs_beat_task_and_charges_period_once(shop, celery_worker):
    """The beat task, sent twice to Saleor's Celery app, charges the due period once."""
    shop.emulator.reset_clock()
    _customer, contract, _invoice, price = _subscriber(shop)
    as_of = shop.emulator.move_clock(days=31)

    _send_renew_task(shop, as_of)
    charges = _wait_for_charges(shop, contract, 2, seconds=120)
    assert charges == [price, price], celery_worker.read_text(errors="replace")[-4000:]

    _send_renew_task(shop, as_of)
    time.sleep(10)
    assert _charges(shop, contract) == [price, price]
    print(celery_worker.read_text(errors="replace")[-3000:])
