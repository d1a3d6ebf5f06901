"""PostgreSQL: parallel workers, SIGKILLed runs and Celery workers never charge a period twice.

Sizes are modest by default; ``OKPAY_BILLING_FULL=1`` runs the issue's sizes
(2,000 subscriptions with 4 workers; 500 subscriptions killed 20 times).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from okpay_gateway.billing import engine
from okpay_gateway.emulator import clock as emulator_clock
from okpay_gateway.emulator import faults
from okpay_gateway.models import (
    ChargeAttempt,
    ChargeAttemptStatus,
    RenewalDecision,
    Subscription,
)
from tests.billing_engine.support import (
    bulk_subscribe,
    emulator_invoices,
    seed_customers,
    set_time,
    utc,
)
from tests.conftest import require_service

FULL = os.environ.get("OKPAY_BILLING_FULL") == "1"
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


def _expected(subs) -> dict[str, int]:
    return {f"{sub.pk}-1": 1 for sub in subs}


def test_four_workers_charge_every_subscription_exactly_once(okpay):
    """Four threads, each with its own connection, over many due subscriptions: one charge each."""
    size = 2000 if FULL else 300
    due = utc(2027, 2, 3)
    subs = bulk_subscribe(seed_customers(size), due_at=due)

    report = engine.run_renewals(now=set_time(due), concurrency=4)

    assert report.outcomes == {"charged": size}
    assert emulator_invoices() == _expected(subs)
    assert RenewalDecision.objects.filter(run_id=report.run_id).count() == size
    assert (
        ChargeAttempt.objects.filter(status=ChargeAttemptStatus.COMPLETED).count()
        == size
    )


def test_four_competing_runs_charge_every_subscription_exactly_once(okpay):
    """Four separate runs started together share the work without charging anything twice."""
    import threading

    size = 200
    due = utc(2027, 2, 3)
    subs = bulk_subscribe(seed_customers(size), due_at=due)
    set_time(due)
    reports = []

    def one_run():
        try:
            reports.append(
                engine.run_renewals(now=due, concurrency=1, resolve_first=False)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=one_run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.outcomes["charged"] for r in reports) == size
    assert emulator_invoices() == _expected(subs)


def _worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.billing_engine.worker_settings",
        OKPAY_TEST_DB="postgres",
        OKPAY_TEST_PG_NAME=connection.settings_dict["NAME"],
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


# How long a worker may take to start charging (process start, Django set-up,
# WSDL parsing) on a slow, loaded machine before the test gives up.
PROGRESS_WAIT_SECONDS = 120


def _charges_made() -> int:
    """Charges OKPAY (the emulator) has recorded so far, by any run."""
    return sum(emulator_invoices().values())


def _wait_for_charges(process: subprocess.Popen, *, more_than: int) -> bool:
    """Wait until the emulator has recorded a charge by ``process``'s run.

    False when the process ended, or the time ran out, without one.
    """
    deadline = time.monotonic() + PROGRESS_WAIT_SECONDS
    while time.monotonic() < deadline:
        if _charges_made() > more_than:
            return True
        if process.poll() is not None:
            return _charges_made() > more_than
        time.sleep(0.05)
    return False


def test_sigkilled_runs_then_resolver_charge_every_period_exactly_once(okpay):
    """Runs killed at random points (also inside applied-late answers) lose nothing and repeat nothing."""
    size, kills = (500, 20) if FULL else (200, 5)
    rng = random.Random(20270203)
    due = utc(2027, 2, 3)
    subs = bulk_subscribe(seed_customers(size), due_at=due)
    # Every charge is applied, then answered late: a kill often lands in between.
    faults.add_rule(
        "applied_late",
        operation="PreapprovedPayment_Charge",
        delay_seconds=0.15,
        uses=None,
    )
    lease = timedelta(seconds=600)
    as_of = due
    kills_mid_run = 0
    for _ in range(kills):
        set_time(as_of)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.billing_engine.renew_worker",
                "--as-of",
                as_of.isoformat(),
                "--concurrency",
                str(rng.choice([1, 2])),
            ],
            cwd=REPO,
            env=_worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        charged_before = _charges_made()
        progressed = _wait_for_charges(process, more_than=charged_before)
        # Kill at a random point of the charging, not of the start-up: a slow
        # machine that has not charged yet would otherwise test nothing.
        time.sleep(rng.uniform(0.0, 1.5))
        killed_mid_run = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert progressed, "the worker charged nothing before it was killed"
        kills_mid_run += killed_mid_run
        # The next run starts after the dead run's leases ran out.
        as_of = as_of + lease + timedelta(seconds=1)
    faults.clear()
    in_doubt = ChargeAttempt.objects.filter(status=ChargeAttemptStatus.SENDING).count()
    charged_by_killed_runs = _charges_made()
    # Some kill must have landed while the run still had work, or no crash was tested.
    assert kills_mid_run >= 1
    assert charged_by_killed_runs > 0

    resolved = {}
    for _ in range(5):
        report = engine.run_renewals(now=set_time(as_of))
        for key, value in report.resolved.items():
            resolved[key] = resolved.get(key, 0) + value
        if report.total == 0 and report.resolved == {}:
            break
        as_of += timedelta(minutes=5)

    sys.stderr.write(
        f"\ncrash test: {kills_mid_run}/{kills} kills mid-run, "
        f"{charged_by_killed_runs}/{size} charged by killed runs, "
        f"{in_doubt} attempts in doubt after kills; resolver {resolved}\n"
    )
    assert emulator_invoices() == _expected(subs)
    assert set(ChargeAttempt.objects.values_list("status", flat=True)) == {
        ChargeAttemptStatus.COMPLETED
    }
    assert not Subscription.objects.filter(period_index=1).exists()


def test_celery_workers_with_redis_charge_every_subscription_once(okpay):
    """The beat task fans out batches to real Celery workers over Redis; one charge each."""
    require_service("Redis", "127.0.0.1", 6379)
    # celery comes with the test command's extras: missing it is a failure.
    import celery  # noqa: F401

    queue = f"okpay-test-{uuid.uuid4().hex[:8]}"
    os.environ["OKPAY_TEST_QUEUE"] = queue
    # The same broker the workers read (worker_settings), so parallel suites
    # can each use their own database.
    broker = os.environ.get("OKPAY_TEST_BROKER", "redis://127.0.0.1:6379/15")
    okpay.CELERY_BROKER_URL = broker
    okpay.OKPAY_GATEWAY = {
        **okpay.OKPAY_GATEWAY,
        "RENEWAL_QUEUE": queue,
        "RENEWAL_BATCH_SIZE": 10,
    }
    from tests.billing_engine.celery_app import app

    app.conf.broker_url = broker
    size = 120
    # Real time: the workers' tokens follow the wall clock.
    emulator_clock.reset()
    due = datetime.now(UTC).replace(microsecond=0)
    subs = bulk_subscribe(seed_customers(size), due_at=due)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.billing_engine.celery_app",
                "worker",
                "-Q",
                queue,
                "-c",
                "2",
                "--pool",
                "prefork",
                "-n",
                f"w{n}-{queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ],
            cwd=REPO,
            env=_worker_env(OKPAY_TEST_QUEUE=queue),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(2)
    ]
    try:
        from okpay_gateway.billing.tasks import renew_due_subscriptions

        summary = renew_due_subscriptions(as_of=due.isoformat())
        assert summary["subscriptions"] == size
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if RenewalDecision.objects.filter(run_id=summary["run"]).count() >= size:
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        os.environ.pop("OKPAY_TEST_QUEUE", None)

    decisions = RenewalDecision.objects.filter(run_id=summary["run"])
    assert set(decisions.values_list("outcome", flat=True)) == {"charged"}
    assert decisions.count() == size
    assert emulator_invoices() == _expected(subs)
