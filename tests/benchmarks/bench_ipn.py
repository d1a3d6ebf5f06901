"""IPN throughput: our webhook, django-paypal's view and a minimal handler (a script).

    python tests/benchmarks/bench_ipn.py [--messages 500] [--warmup 20]
        [--threads 4] [--no-sqlite] [--no-postgres] [--postback stub|emulator]

Install the ``bench`` extra (``pip install -e '.[bench]'``) for the
django-paypal peer; without it that column is left out with a note.

What it sets up, all on loopback:

* the OKPAY emulator as its own process (``okpay-gateway emulator --port 0
  --seed FILE --data-dir TMP``) with a merchant wallet, ten customers and one
  active agreement per message;
* ``2 × --messages + --warmup`` charges through its SOAP API with
  :class:`OkPayClient`; the emulator sends each ``payment`` IPN to a small
  collector in this process, which keeps the exact bodies (genuine messages);
* a postback stub (``tests/benchmarks/postback_stub.py``, its own process)
  answering ``VERIFIED`` at next to no CPU. Every handler posts back to it,
  in its own wire format, so the figures are the handlers' own cost. With
  ``--postback emulator`` ours post back to the emulator's ``/ipn-verify``
  instead (real verification; django-paypal is then left out);
* for each database, a shop in its own process
  (``tests/benchmarks/ipn_shop_server.py``: a plain Django project with the
  gateway installed standalone and django-paypal's IPN app, Django's threaded
  WSGI server, persistent database connections) whose database already holds
  the active contracts, one payment in ``sending`` per charge (as the renewal
  engine leaves them) and one per PayPal message. PostgreSQL uses a scratch
  database ``okpay_bench_ipn`` on 127.0.0.1:5432 (user postgres) that is
  created and dropped here; when the server is unreachable that part is
  skipped with a note.

Then it replays the bodies as the provider would post them, first one client
at a time (``--messages`` distinct IPNs) and then from ``--threads``
concurrent clients (another ``--messages``), to each handler in turn:

* ``webhook``, ``/okpay/ipn/``: the full pipeline (parse, store, postback,
  checks, dedupe keys, the payment completed, signals);
* ``minimal``, ``/bench/floor/`` (:mod:`tests.benchmarks.ipn_floor`): store,
  post back, record the answer in one UPDATE; nothing parsed or applied;
* ``django-paypal``, ``/bench/paypal/`` (:mod:`tests.benchmarks.ipn_paypal`):
  django-paypal's own view on PayPal-shaped ``web_accept`` messages, with a
  ``valid_ipn_received`` receiver completing the payment in one UPDATE.

It prints, per database and per mode, requests per second, the mean time per
request as a client sees it, the CPU time the shop and the postback process
spent per request (Linux ``/proc``) and the throughput ratios webhook /
django-paypal and webhook / minimal (issue targets: at least 2 and at least
0.6); then SQL statements per IPN for each handler (counted by
:mod:`tests.benchmarks.ipn_statements`, transaction control left out; target
at most 6 for the webhook) and what the shop stored: every answer must be
200, every webhook row ``processed`` and VERIFIED, every payment
``completed``, every minimal-handler and django-paypal postback VERIFIED.
Anything else is printed too (and the exit status is 1). The load average
before and after is printed last.

Client threads, the shop and the postback process share the machine's
cores, so the figures compare the handlers; they are not a capacity figure
for a server. On a busy machine the CPU-per-request columns are steadier
than the rates.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from okpay_gateway.provider.client import OkPayClient  # noqa: E402
from okpay_gateway.provider.settings import OkPaySettings  # noqa: E402
from tests.benchmarks import ipn_paypal  # noqa: E402

MERCHANT_WALLET = "OK100000001"
API_PASSWORD = "bench-ipn-api-password"
CUSTOMERS = 10
FIRST_CONTRACT_ID = 700001
CURRENCY = "EUR"
PG_DATABASE = "okpay_bench_ipn"
TIMEOUT = (5, 30)
FORM = "application/x-www-form-urlencoded"


# --- the collector: where the emulator delivers the IPNs -------------------------


class _Collector(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CollectorHandler)
        self.lock = threading.Lock()
        self.bodies: list[tuple[bytes, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/ipn"


class _CollectorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.bodies.append((body, self.headers.get("Content-Type") or FORM))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, format: str, *args: object) -> None:
        return


# --- processes --------------------------------------------------------------------


def _wait_for_line(
    proc: subprocess.Popen[bytes], log: Path, pattern: str, what: str
) -> re.Match[str]:
    """Poll a child's log file (never a pipe: a full pipe would stall the child)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        match = re.search(pattern, text)
        if match:
            return match
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    raise SystemExit(f"{what} did not start; its output ends with:\n{tail}")


def _spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, close_fds=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _seed(count: int, ipn_url: str) -> dict[str, object]:
    customers = [f"customer{n}@bench.example" for n in range(CUSTOMERS)]
    return {
        "wallets": [
            {
                "wallet_id": MERCHANT_WALLET,
                "email": "merchant@bench.example",
                "name": "Bench Shop",
                "password": "merchant-pass",
                "api_password": API_PASSWORD,
                "api_enabled": True,
                "balances": {CURRENCY: "0.00"},
                "ipn_url": ipn_url,
            },
            *(
                {
                    "email": email,
                    "name": f"Customer {n}",
                    "balances": {CURRENCY: "10000000.00"},
                }
                for n, email in enumerate(customers)
            ),
        ],
        "contracts": [
            {
                "id": FIRST_CONTRACT_ID + n,
                "receiver": MERCHANT_WALLET,
                "client": customers[n % CUSTOMERS],
                "title": f"Plan {n}",
                "currency": CURRENCY,
                "daily_amount": None,
                "weekly_amount": None,
                "monthly_amount": "1000.00",
                "end_date": None,
                "client_pays_fee": False,
                "status": "Active",
                "invoice": f"agr-{n}",
            }
            for n in range(count)
        ],
    }


def start_emulator(
    tmp: Path, seed: dict[str, object]
) -> tuple[subprocess.Popen[bytes], str]:
    seed_file = tmp / "seed.json"
    seed_file.write_text(json.dumps(seed), encoding="utf-8")
    log = tmp / "emulator.log"
    launcher = ["-m", "okpay_gateway.cli", "emulator"]
    proc = _spawn(
        [
            sys.executable,
            *launcher,
            "--port",
            "0",
            "--seed",
            str(seed_file),
            "--data-dir",
            str(tmp / "emulator"),
        ],
        log,
    )
    match = _wait_for_line(
        proc, log, r"(http://127\.0\.0\.1:\d+/)OkPayAPI\b", "the emulator"
    )
    return proc, match.group(1)


# --- making genuine IPNs -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Charge:
    contract_id: int
    invoice: str
    amount: Decimal


def make_charges(emulator_url: str, count: int, collector: _Collector) -> list[Charge]:
    """Charge every agreement once; wait until the emulator delivered every IPN."""
    settings = OkPaySettings.for_environment(
        "emulator",
        wallet_id=MERCHANT_WALLET,
        api_password=API_PASSWORD,
        base_url=emulator_url,
    )
    client = OkPayClient(settings=settings)
    charges = [
        Charge(
            contract_id=FIRST_CONTRACT_ID + n,
            invoice=f"pay-{n}",
            amount=Decimal(10 + n % 90) + Decimal("0.99"),
        )
        for n in range(count)
    ]

    def charge(item: Charge) -> None:
        client.preapproved_payment_charge(
            contract_id=item.contract_id, amount=item.amount, invoice=item.invoice
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(charge, charges))
    deadline = time.monotonic() + 120
    while len(collector.bodies) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    if len(collector.bodies) < count:
        raise SystemExit(
            f"the emulator delivered {len(collector.bodies)} of {count} IPNs"
        )
    return charges


def bodies_by_invoice(collector: _Collector) -> dict[str, tuple[bytes, str]]:
    found: dict[str, tuple[bytes, str]] = {}
    for body, content_type in collector.bodies:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        found[fields["ok_invoice"]] = (body, content_type)
    return found


def write_fixture(path: Path, charges: list[Charge], seed: dict) -> None:
    contracts = [
        {
            "id": row["id"],
            "client": row["client"],
            "title": row["title"],
            "currency": row["currency"],
            "monthly_amount": row["monthly_amount"],
            "invoice": row["invoice"],
        }
        for row in seed["contracts"]
    ]
    payments = [
        {
            "invoice": c.invoice,
            "contract_id": c.contract_id,
            "amount": str(c.amount),
            "currency": CURRENCY,
        }
        for c in charges
    ]
    paypal_payments = [
        {
            "invoice": f"{ipn_paypal.PAYPAL_INVOICE_PREFIX}{n}",
            "amount": str(c.amount),
            "currency": CURRENCY,
        }
        for n, c in enumerate(charges)
    ]
    path.write_text(
        json.dumps(
            {
                "contracts": contracts,
                "payments": payments,
                "paypal_payments": paypal_payments,
            }
        ),
        encoding="utf-8",
    )


# --- replaying ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are 14, 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    statuses: Counter
    cpu: dict[str, float | None]

    def rate(self, count: int) -> float:
        return count / self.seconds

    def ms_per_request(self, count: int, threads: int) -> float:
        return self.seconds * 1000 * threads / count

    def cpu_ms(self, name: str, count: int) -> str:
        value = self.cpu.get(name)
        return "n/a" if value is None else f"{value * 1000 / count:4.1f}"


def replay(
    url: str,
    bodies: list[tuple[bytes, str]],
    threads: int,
    pids: dict[str, int] | None = None,
) -> Run:
    """POST every body once from ``threads`` clients.

    Returns the wall time, the answer codes and the CPU time each process in
    ``pids`` spent meanwhile.
    """
    pids = pids or {}
    lock = threading.Lock()
    pending = iter(bodies)
    statuses: Counter = Counter()
    start = threading.Barrier(threads + 1)

    def client() -> None:
        session = requests.Session()
        # One request outside the clock opens the keep-alive connection.
        session.get(url, timeout=TIMEOUT)
        start.wait()
        mine: Counter = Counter()
        while True:
            with lock:
                item = next(pending, None)
            if item is None:
                break
            body, content_type = item
            try:
                response = session.post(
                    url,
                    data=body,
                    headers={"Content-Type": content_type},
                    timeout=TIMEOUT,
                )
                mine[response.status_code] += 1
            except requests.RequestException as exc:
                mine[type(exc).__name__] += 1
        with lock:
            statuses.update(mine)
        session.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - began
    cpu: dict[str, float | None] = {}
    for name, pid in pids.items():
        after, before = cpu_seconds(pid), cpu_before[name]
        cpu[name] = None if after is None or before is None else after - before
    return Run(seconds, statuses, cpu)


# --- databases ---------------------------------------------------------------------


def _pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1",
        port=5432,
        user="postgres",
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        conn.execute(statement)


def prepare_postgres() -> str | None:
    """Create the scratch database; the reason when PostgreSQL cannot be used."""
    try:
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return None


def drop_postgres() -> None:
    _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


def start_stub(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = tmp / "stub.log"
    proc = _spawn(
        [sys.executable, str(REPO / "tests" / "benchmarks" / "postback_stub.py")], log
    )
    match = _wait_for_line(proc, log, r"STUB_URL (http://\S+/)", "the postback stub")
    return proc, match.group(1)


def start_shop(
    tmp: Path, db: str, emulator_url: str, fixture: Path, verify_url: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    log = tmp / f"shop-{db}.log"
    proc = _spawn(
        [
            sys.executable,
            str(REPO / "tests" / "benchmarks" / "ipn_shop_server.py"),
            "--db",
            db,
            "--sqlite-path",
            str(tmp / "shop.sqlite3"),
            "--pg-name",
            PG_DATABASE,
            "--emulator-url",
            emulator_url,
            "--wallet-id",
            MERCHANT_WALLET,
            "--api-password",
            API_PASSWORD,
            "--fixture",
            str(fixture),
            "--verify-url",
            verify_url,
        ],
        log,
    )
    match = _wait_for_line(proc, log, r"SHOP_URL (http://\S+/)", f"the {db} shop")
    return proc, match.group(1)


# --- one database ------------------------------------------------------------------


def _fmt_counts(counts: dict | Counter) -> str:
    return ", ".join(f"{key} × {value}" for key, value in sorted(counts.items())) or "-"


@dataclass(frozen=True, slots=True)
class Handler:
    name: str
    path: str
    bodies: dict[str, list[tuple[bytes, str]]]  # warm / sequential / concurrent


def _statements_per_request(stats: dict, path: str) -> str:
    sql = stats["sql"]
    count = sql["requests"].get("/" + path, 0)
    if not count:
        return "n/a"
    return f"{sql['statements'].get('/' + path, 0) / count:.1f}"


def bench_database(
    label: str,
    shop_url: str,
    pids: dict[str, int],
    handlers: list[Handler],
    threads: int,
) -> bool:
    """Run and print one database's figures; True when every check held."""
    statuses: dict[str, Counter] = {h.name: Counter() for h in handlers}
    # Warm-up (imports, first queries, connection setup), not timed.
    for handler in handlers:
        statuses[handler.name].update(
            replay(shop_url + handler.path, handler.bodies["warm"], 1).statuses
        )

    print(f"\n{label}")
    for mode, key, clients in (
        ("sequential, 1 client", "sequential", 1),
        (f"concurrent, {threads} clients", "concurrent", threads),
    ):
        runs: dict[str, Run] = {}
        for handler in handlers:
            run = replay(shop_url + handler.path, handler.bodies[key], clients, pids)
            statuses[handler.name].update(run.statuses)
            runs[handler.name] = run
        n = len(handlers[0].bodies[key])
        print(f"  {mode}, {n} IPNs each:")
        for name, run in runs.items():
            print(
                f"    {name:<14}{run.rate(n):7.1f} req/s  "
                f"{run.ms_per_request(n, clients):6.1f} ms/request  "
                f"CPU per request: shop {run.cpu_ms('shop', n)} ms, "
                f"postback {run.cpu_ms('postback', n)} ms"
            )
        ours = runs["webhook"].rate(n)
        ratios = [
            f"webhook / {name} {ours / run.rate(n):.2f}"
            for name, run in runs.items()
            if name != "webhook"
        ]
        print(f"    throughput ratios: {'; '.join(ratios)}")

    stats = requests.get(shop_url + "bench/stats", timeout=TIMEOUT).json()
    expected = sum(len(b) for b in handlers[0].bodies.values())
    print(
        "  SQL statements per IPN: "
        + ", ".join(
            f"{h.name} {_statements_per_request(stats, h.path)}" for h in handlers
        )
    )
    for handler in handlers:
        print(f"  {handler.name}: HTTP {_fmt_counts(statuses[handler.name])}")
    print(
        f"  webhook rows {_fmt_counts(stats['webhook_states'])}; verification "
        f"{_fmt_counts(stats['webhook_verification'])}; minimal-handler answers "
        f"{_fmt_counts(stats['floor_answers'])}; django-paypal rows "
        f"{_fmt_counts(stats['paypal'])}; payments {_fmt_counts(stats['payments'])}"
    )
    paid = expected * (2 if any(h.name == "django-paypal" for h in handlers) else 1)
    honest = (
        all(statuses[h.name] == Counter({200: expected}) for h in handlers)
        and stats["webhook_states"] == {"processed": expected}
        and stats["webhook_verification"] == {"verified": expected}
        and stats["payments"].get("completed") == paid
        and stats["floor_answers"] == {"VERIFIED": expected}
        and stats["paypal"] in ({}, {"ok:VERIFIED": expected})
    )
    verdict = (
        f"all {expected} IPNs per handler answered 200; every webhook row "
        "processed and VERIFIED; every payment completed"
        if honest
        else "NOT all as expected (see above)"
    )
    print(f"  checks: {verdict}")
    return honest


def _split(bodies: list, warmup: int, messages: int) -> dict[str, list]:
    return {
        "warm": bodies[:warmup],
        "sequential": bodies[warmup : warmup + messages],
        "concurrent": bodies[warmup + messages :],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description="IPN throughput: our webhook, django-paypal's view and a "
        "minimal handler, against one postback stub."
    )
    parser.add_argument("--messages", type=int, default=500, help="IPNs per mode")
    parser.add_argument("--warmup", type=int, default=20, help="untimed IPNs first")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--postback",
        choices=["stub", "emulator"],
        default="stub",
        help="stub (default): every handler posts back to a stub answering "
        "VERIFIED; emulator: ours post back to the emulator's /ipn-verify "
        "(django-paypal is left out: the emulator does not speak PayPal)",
    )
    args = parser.parse_args()
    total = args.warmup + 2 * args.messages

    ok = True
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="okpay-bench-ipn-") as tmp_name:
        tmp = Path(tmp_name)
        collector = _Collector()
        threading.Thread(target=collector.serve_forever, daemon=True).start()
        seed = _seed(total, collector.url)
        emulator, emulator_url = start_emulator(tmp, seed)
        stub, stub_url = start_stub(tmp)
        try:
            t0 = time.perf_counter()
            charges = make_charges(emulator_url, total, collector)
            by_invoice = bodies_by_invoice(collector)
            bodies = [by_invoice[c.invoice] for c in charges]
            print(
                f"IPN throughput end to end on loopback: {total} genuine `payment` "
                f"IPNs from PreapprovedPayment_Charge at the emulator, made in "
                f"{time.perf_counter() - t0:.1f} s; {args.messages} distinct IPNs "
                f"per mode and handler, {args.warmup} untimed first. Postbacks go "
                f"to {'a stub answering VERIFIED' if args.postback == 'stub' else 'the emulator'}."
            )
            fixture = tmp / "fixture.json"
            write_fixture(fixture, charges, seed)
            handlers = [
                Handler(
                    "webhook", "okpay/ipn/", _split(bodies, args.warmup, args.messages)
                ),
                Handler(
                    "minimal",
                    "bench/floor/",
                    _split(bodies, args.warmup, args.messages),
                ),
            ]
            verify_url = stub_url if args.postback == "stub" else ""
            if verify_url and ipn_paypal.available():
                paypal_bodies = [
                    (
                        ipn_paypal.paypal_body(
                            n, str(c.amount), "merchant@bench.example"
                        ),
                        FORM,
                    )
                    for n, c in enumerate(charges)
                ]
                handlers.append(
                    Handler(
                        "django-paypal",
                        "bench/paypal/",
                        _split(paypal_bodies, args.warmup, args.messages),
                    )
                )
            elif verify_url:
                print(
                    "django-paypal is not installed (pip install '.[bench]'): left out"
                )

            databases = []
            if not args.no_sqlite:
                databases.append(("sqlite", "SQLite (file, WAL)"))
            if not args.no_postgres:
                databases.append(("postgres", "PostgreSQL (127.0.0.1:5432)"))
            for db, label in databases:
                if db == "postgres":
                    reason = prepare_postgres()
                    if reason is not None:
                        print(f"\n{label}: skipped, PostgreSQL unreachable ({reason})")
                        continue
                shop, shop_url = start_shop(tmp, db, emulator_url, fixture, verify_url)
                postback_pid = stub.pid if verify_url else emulator.pid
                try:
                    ok = (
                        bench_database(
                            label,
                            shop_url,
                            {"shop": shop.pid, "postback": postback_pid},
                            handlers,
                            args.threads,
                        )
                        and ok
                    )
                finally:
                    _stop(shop)
                    if db == "postgres":
                        drop_postgres()
        finally:
            _stop(stub)
            _stop(emulator)
            collector.shutdown()
            collector.server_close()
    load_after = os.getloadavg()
    print(
        f"\nLoad average (1, 5, 15 min): before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}; after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
