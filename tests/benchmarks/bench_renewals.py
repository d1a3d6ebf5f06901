"""Renewal throughput and memory (a script, not a test).

    python tests/benchmarks/bench_renewals.py [--subs 10000] [--latency 0.05]
        [--concurrency 1 8 32] [--memory-subs 100000] [--sqlite]

For each concurrency level a fresh set of ``--subs`` due subscriptions is
renewed against the in-process emulator, which answers every charge after an
injected delay (a ``slow`` fault rule of ``--latency`` seconds). It prints the
wall time, the ideal ``N × latency / concurrency`` and their ratio. Then it
creates ``--memory-subs`` due subscriptions and prints the peak traced memory
(tracemalloc) of walking all of them in batches the way a run does (selection
and decision, no charge), next to the peak for a tenth of them: flat means
batches, not lists. Runs on PostgreSQL (a scratch database ``okpay_bench``
created and dropped by the script) unless ``--sqlite``.

The emulator runs in this process, so its own CPU time (SOAP parsing, Django
request handling) shares the GIL with the engine's threads; the ratio at high
concurrency includes that cost, which a remote OKPAY would not add.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _setup(use_sqlite: bool) -> None:
    if not use_sqlite:
        os.environ["OKPAY_TEST_DB"] = "postgres"
        os.environ["OKPAY_TEST_PG_TEST_NAME"] = "okpay_bench"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()


def _seed(customers: int) -> list:
    """Emulator wallets and agreements plus our Contract rows, in bulk."""
    from okpay_gateway.emulator.models import Balance, Wallet
    from okpay_gateway.emulator.models import Contract as EmuContract
    from okpay_gateway.models import Contract, ContractStatus
    from tests.billing_engine.wiring import (
        API_PASSWORD,
        MERCHANT_EMAIL,
        MERCHANT_WALLET,
    )

    now = datetime.now(UTC)
    merchant = Wallet.objects.create(
        wallet_id=MERCHANT_WALLET,
        account_id=1,
        email=MERCHANT_EMAIL,
        api_password=API_PASSWORD,
    )
    Balance.objects.create(wallet=merchant, currency="EUR", amount=Decimal("0.00"))
    wallets = Wallet.objects.bulk_create(
        [
            Wallet(
                wallet_id=f"OK{100000000 + n:09d}",
                account_id=1000 + n,
                email=f"c{n}@example.com",
            )
            for n in range(customers)
        ],
        batch_size=2000,
    )
    Balance.objects.bulk_create(
        [
            Balance(wallet=w, currency="EUR", amount=Decimal("100000.00"))
            for w in wallets
        ],
        batch_size=2000,
    )
    EmuContract.objects.bulk_create(
        [
            EmuContract(
                id=200000 + n,
                receiver=merchant,
                client=w,
                title="Plan",
                currency="EUR",
                monthly_limit=Decimal("100000.00"),
                created_at=now,
            )
            for n, w in enumerate(wallets)
        ],
        batch_size=2000,
    )
    return Contract.objects.bulk_create(
        [
            Contract(
                okpay_id=200000 + n,
                receiver_wallet=MERCHANT_WALLET,
                client_email=w.email,
                title="Plan",
                currency="EUR",
                monthly_amount=Decimal("100000.00"),
                status=ContractStatus.ACTIVE,
                invoice=f"agr-{n}",
            )
            for n, w in enumerate(wallets)
        ],
        batch_size=2000,
    )


def _subscribe(contracts: list, count: int, due: datetime) -> None:
    from okpay_gateway.models import Subscription

    anchor = due - timedelta(days=31)
    rows = (
        Subscription(
            contract=contracts[n % len(contracts)],
            title="Plan",
            amount=Decimal("1.00"),
            currency="EUR",
            interval_unit="month",
            interval_count=1,
            anchor=anchor,
            period_index=1,
            next_charge_at=due,
        )
        for n in range(count)
    )
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            Subscription.objects.bulk_create(batch)
            batch = []
    if batch:
        Subscription.objects.bulk_create(batch)


def _throughput(args: argparse.Namespace, contracts: list) -> None:
    from okpay_gateway import clients, conf
    from okpay_gateway.billing import engine
    from okpay_gateway.emulator import clock, faults
    from okpay_gateway.models import Subscription

    now = datetime.now(UTC).replace(microsecond=0)
    clock.reset()
    faults.clear()
    faults.add_rule(
        "slow",
        operation="PreapprovedPayment_Charge",
        delay_seconds=args.latency,
        uses=None,
    )
    clients.client_for(conf.get_settings())
    print(
        f"{'concurrency':>11} {'N':>7} {'wall s':>9} {'ideal s':>9} {'ratio':>7} outcomes"
    )
    for level in args.concurrency:
        # Older sets are not due any more: each moved to period 2 next month.
        _subscribe(contracts, args.subs, now)
        started = time.perf_counter()
        report = engine.run_renewals(now=now, concurrency=level, resolve_first=False)
        wall = time.perf_counter() - started
        ideal = args.subs * args.latency / level
        print(
            f"{level:>11} {args.subs:>7} {wall:>9.1f} {ideal:>9.1f} {wall / ideal:>7.2f} "
            f"{dict(report.outcomes)}",
            flush=True,
        )
        Subscription.objects.filter(next_charge_at__lte=now).update(next_charge_at=None)
    faults.clear()


def _walk(now: datetime, limit: int, decide: bool) -> int:
    """A run's walk over the due set: batched selection and row loading (and decisions)."""
    from okpay_gateway.billing import engine
    from okpay_gateway.models import Subscription

    config = engine.RenewalConfig.from_settings()
    seen = 0
    for page in engine.iter_due_ids(now, batch_size=config.batch_size, limit=limit):
        for sub in Subscription.objects.filter(pk__in=page).select_related("contract"):
            if decide:
                engine.preview_subscription(sub, now, config)
            seen += 1
    return seen


def _memory(args: argparse.Namespace, contracts: list) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    _subscribe(contracts, args.memory_subs, due)
    small = args.memory_subs // 10
    # Deciding costs a few queries per subscription; over the whole set only
    # the selection and loading are traced unless --memory-decide.
    plan = [
        ("1/10, decided", small, True),
        ("1/10", small, False),
        ("all", args.memory_subs, args.memory_decide),
    ]
    for label, limit, decide in plan:
        tracemalloc.start()
        started = time.perf_counter()
        seen = _walk(due, limit, decide)
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"memory: {seen:>7} due subscriptions ({label}) walked in {wall:.1f} s, "
            f"peak traced {peak / 1024 / 1024:.1f} MiB",
            flush=True,
        )
    import resource

    print(
        f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subs", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--memory-subs", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--memory-decide", action="store_true")
    args = parser.parse_args()
    _setup(args.sqlite)
    from django.db import connection
    from django.test.utils import override_settings

    from tests.billing_engine.wiring import gateway_settings

    creation = connection.creation
    name = creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"database: {connection.vendor} ({name})")
    try:
        with override_settings(OKPAY_GATEWAY=gateway_settings(READ_TIMEOUT=30)):
            contracts = _seed(args.customers)
            if not args.skip_throughput:
                _throughput(args, contracts)
            if args.memory_subs:
                _memory(args, contracts)
    finally:
        creation.destroy_test_db(name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
