"""Renewals against a zero-CPU provider stub, side by side with a hand-written floor.

    python tests/benchmarks/bench_renewals_floor.py [--subs 2000] [--latency 0.05]
        [--concurrency 8 32] [--memory 10000 100000] [--dry-run-subs 100000]

A script that prints figures, not a test. The provider is
:mod:`charge_stub` in its own process (answers ``PreapprovedPayment_Charge``
after ``--latency`` seconds at ~0 CPU), so only the shop's own cost shows; no
emulator is in the measured path. The shop runs on PostgreSQL (a scratch
database created and dropped here).

For each concurrency level ``--subs`` fresh due subscriptions are renewed by
the engine (``run_renewals``), then another ``--subs`` by the floor loop of
:mod:`renewals_floor` (same tables, same write-before-call guarantee). It
prints the wall time of each and their ratio, the shop's CPU per renewal
(this process, all threads) and its ratio, and the SQL statements per renewal
(every statement sent on a Django connection, resp. by the floor; commits
not counted). Then the peak traced memory (tracemalloc) of a run of
``--subs`` renewals with 10k and with 100k subscriptions due (``--memory``),
and the wall time of ``--dry-run`` over ``--dry-run-subs`` due subscriptions
(not traced: tracemalloc slows Python down several times).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
import tracemalloc
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


class StatementCounter:
    """Counts statements on every Django connection (execute_wrapper hook)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(
        self, execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        with self._lock:
            self.count += 1
        return execute(sql, params, many, context)

    def install(self) -> None:
        from django.db import connection
        from django.db.backends.signals import connection_created

        def hook(sender: Any, connection: Any, **kwargs: Any) -> None:
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)

        connection_created.connect(hook, weak=False)
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)


@contextmanager
def _stub(latency: float) -> Any:
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("charge_stub.py")),
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if not match:
            raise SystemExit(f"the stub did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _dsn() -> str:
    from django.db import connection

    s = connection.settings_dict
    return (
        f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} "
        f"user={s['USER']} dbname={s['NAME']}"
        + (f" password={s['PASSWORD']}" if s["PASSWORD"] else "")
    )


def _retire(now: datetime) -> None:
    from okpay_gateway.models import Subscription

    Subscription.objects.filter(next_charge_at__lte=now).update(next_charge_at=None)


def _side_by_side(args: argparse.Namespace, contracts: list, stub_url: str) -> None:
    from bench_renewals import _subscribe
    from renewals_floor import Floor

    from okpay_gateway.billing import engine
    from tests.billing_engine.wiring import API_PASSWORD, MERCHANT_WALLET

    counter = StatementCounter()
    counter.install()
    floor = Floor(_dsn(), f"{stub_url}OkPayAPI", MERCHANT_WALLET, API_PASSWORD)
    n = args.subs
    print(
        f"{'c':>3} {'engine s':>9} {'floor s':>8} {'ratio':>6} {'ideal s':>8} "
        f"{'cpu ms/renewal':>15} {'floor':>6} {'ratio':>6} "
        f"{'stmts/renewal':>14} {'floor':>6}  outcomes"
    )
    for level in args.concurrency:
        now = datetime.now(UTC).replace(microsecond=0)
        _subscribe(contracts, n, now)
        before = counter.count
        cpu, started = time.process_time(), time.perf_counter()
        report = engine.run_renewals(now=now, concurrency=level, resolve_first=False)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        statements = counter.count - before
        _retire(now)
        _subscribe(contracts, n, now)
        floor.statements = 0
        result = floor.run(now, concurrency=level, batch=max(50, level))
        _retire(now)
        print(
            f"{level:>3} {wall:>9.2f} {result.wall:>8.2f} {wall / result.wall:>6.2f} "
            f"{n * args.latency / level:>8.2f} {cpu * 1000 / n:>15.2f} "
            f"{result.cpu * 1000 / n:>6.2f} {cpu / result.cpu:>6.2f} "
            f"{statements / n:>14.2f} {result.statements / n:>6.2f}  "
            f"{dict(report.outcomes)} floor charged {result.charged}",
            flush=True,
        )


def _memory(args: argparse.Namespace, contracts: list) -> None:
    from bench_renewals import _subscribe

    from okpay_gateway.billing import engine

    for size in args.memory:
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=200)
        _subscribe(contracts, size, due)
        tracemalloc.start()
        started = time.perf_counter()
        report = engine.run_renewals(
            now=due, concurrency=32, limit=args.subs, resolve_first=False
        )
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"memory: {size:>7} due, a run of {report.total} renewals "
            f"({wall:.1f} s): peak traced {peak / 1024 / 1024:.1f} MiB",
            flush=True,
        )
        _retire(due + timedelta(days=1))


def _dry_run(args: argparse.Namespace, contracts: list) -> None:
    from bench_renewals import _subscribe

    from okpay_gateway.billing import engine

    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=300)
    _subscribe(contracts, args.dry_run_subs, due)
    started = time.perf_counter()
    report = engine.run_renewals(now=due, dry_run=True)
    wall = time.perf_counter() - started
    print(
        f"dry run: {report.total} due planned in {wall:.1f} s: {dict(report.outcomes)}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subs", type=int, default=2_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--memory", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--dry-run-subs", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=2_000)
    args = parser.parse_args()
    os.environ["OKPAY_TEST_DB"] = "postgres"
    os.environ["OKPAY_TEST_PG_TEST_NAME"] = f"okpay_bench_floor_{os.getpid()}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from bench_renewals import _seed_shop
    from django.db import connection
    from django.test.utils import override_settings

    from tests.billing_engine.wiring import gateway_settings

    creation = connection.creation
    name = creation.create_test_db(verbosity=0, autoclobber=True)
    print(
        f"database: {connection.vendor} ({name}); latency {args.latency * 1000:.0f} ms"
    )
    try:
        with _stub(args.latency) as stub_url:
            options = gateway_settings(
                READ_TIMEOUT=30,
                EMULATOR_URL=stub_url,
                SESSION_FACTORY="bench_renewals.pooled_session",
                BILLING_EMAILS=False,
            )
            with override_settings(OKPAY_GATEWAY=options):
                contracts = _seed_shop(args.customers)
                _side_by_side(args, contracts, stub_url)
                if args.memory:
                    _memory(args, contracts)
                if args.dry_run_subs:
                    _dry_run(args, contracts)
    finally:
        connection.close()
        creation.destroy_test_db(name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
