"""Renewal throughput and memory (a script, not a test).

    python tests/benchmarks/bench_renewals.py [--subs 10000] [--latency 0.05]
        [--concurrency 1 8 32] [--memory-subs 100000] [--sqlite]
        [--in-process] [--customers 2000]

For each concurrency level a fresh set of ``--subs`` due subscriptions is
renewed against the emulator, which answers every charge after an injected
delay (a ``slow`` fault rule of ``--latency`` seconds). It prints the wall
time, the ideal ``N × latency / concurrency``, their ratio, and the CPU time
spent by this process (the shop: engine, payments, SOAP client) and by the
emulator's process. Then it creates ``--memory-subs`` due subscriptions and
prints the peak traced memory (tracemalloc) of walking all of them in batches
the way a run does (selection and decision, no charge), next to the peak for
a tenth of them: flat means batches, not lists. The shop side runs on
PostgreSQL (a scratch database ``okpay_bench`` created and dropped by the
script) unless ``--sqlite``.

By default the emulator is a separate process (``okpay-gateway emulator`` on a
free loopback port, its own SQLite database in a temporary directory, seeded
with one wallet and agreement per ``--customers``) reached over HTTP, like a
remote OKPAY: its CPU time does not share this process's GIL. The emulator is
a single Python process, so at high concurrency its own CPU time per charge
bounds the throughput; the printed emulator CPU shows when that happens.
``--in-process`` serves the emulator inside this process instead (on the shop's
database, through the in-process adapter), as the test suite does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _setup(use_sqlite: bool) -> None:
    if not use_sqlite:
        os.environ["OKPAY_TEST_DB"] = "postgres"
        os.environ["OKPAY_TEST_PG_TEST_NAME"] = "okpay_bench"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()


CONTRACT_ID_START = 200000
CUSTOMER_BALANCE = "100000000.00"
CONTRACT_LIMIT = "100000000.00"


def _customer_wallet(n: int) -> str:
    return f"OK{100000000 + n:09d}"


def _seed_document(customers: int) -> dict[str, Any]:
    """The emulator's seed: the merchant, one customer and one agreement each."""
    from tests.billing_engine.wiring import (
        API_PASSWORD,
        MERCHANT_EMAIL,
        MERCHANT_WALLET,
    )

    wallets: list[dict[str, Any]] = [
        {
            "wallet_id": MERCHANT_WALLET,
            "email": MERCHANT_EMAIL,
            "api_password": API_PASSWORD,
            "api_enabled": True,
            "balances": {"EUR": "0.00"},
        }
    ]
    contracts = []
    for n in range(customers):
        wallets.append(
            {
                "wallet_id": _customer_wallet(n),
                "email": f"c{n}@example.com",
                "balances": {"EUR": CUSTOMER_BALANCE},
            }
        )
        contracts.append(
            {
                "id": CONTRACT_ID_START + n,
                "receiver": MERCHANT_WALLET,
                "client": _customer_wallet(n),
                "title": "Plan",
                "currency": "EUR",
                "monthly_amount": CONTRACT_LIMIT,
                "status": "Active",
                "invoice": f"agr-{n}",
            }
        )
    return {"wallets": wallets, "contracts": contracts}


def _seed_shop(customers: int) -> list:
    """Our Contract rows for the emulator's agreements, in bulk."""
    from okpay_gateway.models import Contract, ContractStatus
    from tests.billing_engine.wiring import MERCHANT_WALLET

    return Contract.objects.bulk_create(
        [
            Contract(
                okpay_id=CONTRACT_ID_START + n,
                receiver_wallet=MERCHANT_WALLET,
                client_wallet=_customer_wallet(n),
                client_email=f"c{n}@example.com",
                title="Plan",
                currency="EUR",
                monthly_amount=Decimal(CONTRACT_LIMIT),
                status=ContractStatus.ACTIVE,
                invoice=f"agr-{n}",
            )
            for n in range(customers)
        ],
        batch_size=2000,
    )


def _seed_in_process(customers: int) -> list:
    """Emulator wallets and agreements (in the shop's database) plus our rows."""
    from okpay_gateway.emulator.models import Balance, Wallet
    from okpay_gateway.emulator.models import Contract as EmuContract
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
                wallet_id=_customer_wallet(n),
                account_id=1000 + n,
                email=f"c{n}@example.com",
            )
            for n in range(customers)
        ],
        batch_size=2000,
    )
    Balance.objects.bulk_create(
        [
            Balance(wallet=w, currency="EUR", amount=Decimal(CUSTOMER_BALANCE))
            for w in wallets
        ],
        batch_size=2000,
    )
    EmuContract.objects.bulk_create(
        [
            EmuContract(
                id=CONTRACT_ID_START + n,
                receiver=merchant,
                client=w,
                title="Plan",
                currency="EUR",
                monthly_limit=Decimal(CONTRACT_LIMIT),
                created_at=now,
            )
            for n, w in enumerate(wallets)
        ],
        batch_size=2000,
    )
    return _seed_shop(customers)


# Older name, kept for profiling scripts that import this module.
_seed = _seed_in_process


# --- the emulator in its own process ------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class RemoteEmulator:
    process: subprocess.Popen
    base_url: str

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    def control(self, path: str, payload: dict[str, Any]) -> Any:
        import requests

        response = requests.post(
            f"{self.base_url}control/api/{path}", json=payload, timeout=(5, 30)
        )
        response.raise_for_status()
        return response.json()


@contextmanager
def _remote_emulator(customers: int) -> Any:
    """``okpay-gateway emulator`` on a free loopback port, seeded, stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="okpay-bench-emu-") as tmp:
        data_dir = Path(tmp)
        seed = data_dir / "seed.json"
        seed.write_text(json.dumps(_seed_document(customers)), encoding="utf-8")
        log = (data_dir / "emulator.log").open("w+", encoding="utf-8")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "okpay_gateway.cli",
                "emulator",
                "--port",
                "0",
                "--seed",
                str(seed),
                "--data-dir",
                str(data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            # The emulator's own settings module, whatever this process uses.
            env={k: v for k, v in os.environ.items() if not k.startswith("OKPAY_")},
        )
        try:
            base_url = _wait_for_banner(process, data_dir / "emulator.log")
            yield RemoteEmulator(process, base_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _wait_for_banner(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"SOAP endpoint:\s+(http://[^\s]+/)OkPayAPI\b", text)
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise SystemExit(f"the emulator stopped while starting:\n{text[-2000:]}")
        time.sleep(0.2)
    raise SystemExit("the emulator did not print its SOAP URL in time")


def pooled_session() -> Any:
    """The shop's HTTP session: one keep-alive connection per renewal thread."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=128)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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


def _add_slow_rule(args: argparse.Namespace, emulator: RemoteEmulator | None) -> None:
    rule = {
        "kind": "slow",
        "operation": "PreapprovedPayment_Charge",
        "delay_seconds": str(args.latency),
        "uses": None,
    }
    if emulator is not None:
        emulator.control("faults/clear", {})
        emulator.control("faults", rule)
        return
    from okpay_gateway.emulator import clock, faults

    clock.reset()
    faults.clear()
    faults.add_rule(
        "slow",
        operation=rule["operation"],
        delay_seconds=args.latency,
        uses=None,
    )


def _throughput(
    args: argparse.Namespace, contracts: list, emulator: RemoteEmulator | None = None
) -> None:
    from okpay_gateway import clients, conf
    from okpay_gateway.billing import engine
    from okpay_gateway.models import Subscription

    now = datetime.now(UTC).replace(microsecond=0)
    _add_slow_rule(args, emulator)
    clients.client_for(conf.get_settings())
    where = "separate process" if emulator is not None else "in this process"
    print(f"emulator: {where}; injected latency {args.latency * 1000:.0f} ms")
    print(
        f"{'concurrency':>11} {'N':>7} {'wall s':>9} {'ideal s':>9} {'ratio':>7} "
        f"{'shop cpu ms/renewal':>20} {'emulator cpu ms/charge':>23} outcomes"
    )
    for level in args.concurrency:
        # Older sets are not due any more: each moved to period 2 next month.
        _subscribe(contracts, args.subs, now)
        cpu_started = time.process_time()
        emu_started = emulator.cpu_seconds() if emulator is not None else 0.0
        started = time.perf_counter()
        report = engine.run_renewals(now=now, concurrency=level, resolve_first=False)
        wall = time.perf_counter() - started
        shop_cpu = time.process_time() - cpu_started
        emu_cpu = emulator.cpu_seconds() - emu_started if emulator is not None else 0
        ideal = args.subs * args.latency / level
        emu_text = (
            f"{emu_cpu * 1000 / args.subs:>23.1f}" if emulator is not None else " " * 23
        )
        print(
            f"{level:>11} {args.subs:>7} {wall:>9.1f} {ideal:>9.1f} {wall / ideal:>7.2f} "
            f"{shop_cpu * 1000 / args.subs:>20.1f} {emu_text} "
            f"{dict(report.outcomes)}",
            flush=True,
        )
        Subscription.objects.filter(next_charge_at__lte=now).update(next_charge_at=None)
    if emulator is None:
        from okpay_gateway.emulator import faults

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
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the emulator inside this process (shares the GIL and database)",
    )
    args = parser.parse_args()
    _setup(args.sqlite)
    from django.db import connection
    from django.test.utils import override_settings

    from tests.billing_engine.wiring import gateway_settings

    creation = connection.creation
    name = creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"database: {connection.vendor} ({name})")
    try:
        if args.in_process or args.skip_throughput:
            with override_settings(OKPAY_GATEWAY=gateway_settings(READ_TIMEOUT=30)):
                contracts = _seed_in_process(args.customers)
                if not args.skip_throughput:
                    _throughput(args, contracts, None)
                if args.memory_subs:
                    _memory(args, contracts)
        else:
            started = time.perf_counter()
            with _remote_emulator(args.customers) as emulator:
                print(
                    f"emulator at {emulator.base_url} "
                    f"(seeded in {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
                remote = gateway_settings(
                    READ_TIMEOUT=30,
                    EMULATOR_URL=emulator.base_url,
                    SESSION_FACTORY=f"{__name__}.pooled_session",
                )
                with override_settings(OKPAY_GATEWAY=remote):
                    contracts = _seed_shop(args.customers)
                    _throughput(args, contracts, emulator)
                    if args.memory_subs:
                        _memory(args, contracts)
    finally:
        creation.destroy_test_db(name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
