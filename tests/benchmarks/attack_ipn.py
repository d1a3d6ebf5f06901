"""Attack the shop's public IPN webhook and print what it did (a script; CI runs it small).

    python tests/benchmarks/attack_ipn.py [--requests 10000] [--threads 8]
        [--genuine 20] [--db sqlite|postgres] [--max-oversize BYTES] [--seed N]

Sets up what ``bench_ipn.py`` does (the emulator as its own process, genuine
``payment`` IPNs from real charges, the benchmark shop with its contracts
and payments), with postbacks going to the emulator's real ``/ipn-verify``.
The first ``--genuine`` IPNs are delivered and applied; as many more are
held back, never sent as they are: their payments stay ``sending`` and are
what a forged or tampered message would try to complete.

Then ``--requests`` hostile requests go out from ``--threads`` clients at
once, drawn at random (``--seed``) from these kinds:

* ``random-bytes``: 0–4,000 random bytes under assorted content types;
* ``random-form``: urlencoded forms of OKPAY-looking and random fields;
* ``oversized``: 70 KB, 1 MB or 10 MB bodies (capped by ``--max-oversize``);
* ``bad-charset``: applied IPNs under unknown or wrong charsets, forms with
  a bogus ``ok_charset``;
* ``other-method``: GET, PUT, PATCH, DELETE, OPTIONS and HEAD;
* ``forged``: a held-back IPN's fields under a new ``ok_ipn_id``/``ok_txn_id``;
* ``tampered``: a held-back IPN with its amount, receiver or invoice changed;
* ``replayed``: applied IPNs sent again, as they were or under another
  content type.

It prints the HTTP answers per kind, the **state changes** (payments and
contracts by status, dedupe keys: any difference from before the attack is
one), the **database growth** (rows of the IPN log, arrivals counted on
them, bytes on disk) and a last line ``RESULT {json}`` for tests. The exit
status is 1 when any answer was 500 or any state changed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks import bench_ipn  # noqa: E402

FORM = bench_ipn.FORM
KINDS = {
    "random-bytes": 20,
    "random-form": 20,
    "oversized": 1,
    "bad-charset": 10,
    "other-method": 9,
    "forged": 15,
    "tampered": 15,
    "replayed": 10,
}
CONTENT_TYPES = (
    FORM,
    FORM + "; charset=utf-8",
    FORM + "; charset=latin-1",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
)
OK_FIELDS = (
    "ok_ipn_id",
    "ok_txn_id",
    "ok_txn_status",
    "ok_txn_gross",
    "ok_txn_currency",
    "ok_receiver_wallet",
    "ok_invoice",
    "ok_p_id",
    "ok_p_event",
    "ok_p_status",
    "ok_ipn_test",
    "ok_charset",
)
OVERSIZES = (70_000, 1_000_000, 10_000_000)
TIMEOUT = (5, 60)


@dataclass(frozen=True, slots=True)
class Attack:
    kind: str
    method: str
    body: bytes | int  # an int is the size of an oversized body, built when sent
    content_type: str


def _fields(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def _replace(fields: list[tuple[str, str]], **changes: str) -> bytes:
    return urlencode([(k, changes.get(k, v)) for k, v in fields]).encode("utf-8")


def _random_form(rng: random.Random) -> bytes:
    pairs = []
    for _ in range(rng.randint(0, 25)):
        name = (
            rng.choice(OK_FIELDS)
            if rng.random() < 0.7
            else "".join(
                rng.choices("abcdefghijklmnopqrstuvwxyz_", k=rng.randint(1, 12))
            )
        )
        value = rng.choice(
            ["", "1", "completed", "payment", "EUR", "25.00", bench_ipn.MERCHANT_WALLET]
        )
        if rng.random() < 0.3:
            value = "".join(
                chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(0, 30))
            )
        pairs.append((name, value))
    return urlencode(pairs).encode("utf-8")


def make_attacks(
    rng: random.Random,
    count: int,
    applied: list[bytes],
    held: list[bytes],
    max_oversize: int,
) -> list[Attack]:
    names = list(KINDS)
    weights = [KINDS[name] for name in names]
    attacks = []
    for _ in range(count):
        kind = rng.choices(names, weights)[0]
        if kind == "random-bytes":
            body = rng.randbytes(rng.randint(0, 4000))
            attacks.append(Attack(kind, "POST", body, rng.choice(CONTENT_TYPES)))
        elif kind == "random-form":
            attacks.append(
                Attack(kind, "POST", _random_form(rng), rng.choice(CONTENT_TYPES))
            )
        elif kind == "oversized":
            size = min(rng.choice(OVERSIZES), max_oversize)
            attacks.append(Attack(kind, "POST", size, FORM))
        elif kind == "bad-charset":
            if rng.random() < 0.5:
                body, charset = (
                    rng.choice(applied),
                    rng.choice(
                        ["bogus", "utf-16", "utf-32", "x-unknown", "ebcdic-cp-us"]
                    ),
                )
                attacks.append(Attack(kind, "POST", body, f"{FORM}; charset={charset}"))
            else:
                fields = _fields(rng.choice(held))
                body = _replace(fields, ok_charset=rng.choice(["bogus", "utf-7", ""]))
                attacks.append(Attack(kind, "POST", body, FORM))
        elif kind == "other-method":
            method = rng.choice(["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
            attacks.append(Attack(kind, method, rng.choice(applied), FORM))
        elif kind == "forged":
            fields = _fields(rng.choice(held))
            body = _replace(
                fields,
                ok_ipn_id=str(rng.randint(10**7, 10**9)),
                ok_txn_id=str(rng.randint(10**7, 10**9)),
            )
            attacks.append(Attack(kind, "POST", body, FORM))
        elif kind == "tampered":
            original = rng.choice(held)
            fields = _fields(original)
            target = rng.choice(["ok_txn_gross", "ok_receiver_wallet", "ok_invoice"])
            others = [b for b in held if b != original] or [original]
            change = {
                "ok_txn_gross": "0.01",
                "ok_receiver_wallet": "OK999999999",
                "ok_invoice": dict(_fields(rng.choice(others)))["ok_invoice"] + "x",
            }[target]
            body = _replace(fields, **{target: change})
            # A tampered copy must differ: the original is a genuine message.
            assert body != original
            attacks.append(Attack(kind, "POST", body, FORM))
        else:
            content_type = rng.choice([FORM, FORM, FORM + "; charset=UTF-8"])
            attacks.append(Attack(kind, "POST", rng.choice(applied), content_type))
    return attacks


def _oversized_body(size: int, salt: int) -> bytes:
    head = f"ok_ipn_id={salt}&junk=".encode("ascii")
    return head + b"A" * (size - len(head))


def fire(url: str, attacks: list[Attack], threads: int) -> dict[str, Counter]:
    """Send every attack once from ``threads`` clients; answers per kind."""
    pending = iter(enumerate(attacks))
    lock = threading.Lock()
    answers: dict[str, Counter] = defaultdict(Counter)

    def client() -> None:
        session = requests.Session()
        mine: dict[str, Counter] = defaultdict(Counter)
        while True:
            with lock:
                item = next(pending, None)
            if item is None:
                break
            n, attack = item
            body = attack.body
            if isinstance(body, int):
                body = _oversized_body(body, n)
            try:
                response = session.request(
                    attack.method,
                    url,
                    data=body,
                    headers={"Content-Type": attack.content_type},
                    timeout=TIMEOUT,
                )
                mine[attack.kind][response.status_code] += 1
            except requests.RequestException as exc:
                mine[attack.kind][type(exc).__name__] += 1
                session.close()
                session = requests.Session()
        with lock:
            for kind, counts in mine.items():
                answers[kind].update(counts)
        session.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def _stats(shop_url: str) -> dict:
    return requests.get(shop_url + "bench/stats", timeout=TIMEOUT).json()


def _fmt(counts: dict) -> str:
    return ", ".join(f"{k} × {v}" for k, v in sorted(counts.items(), key=str)) or "-"


def _state(stats: dict) -> dict:
    return {
        "payments": stats["payments"],
        "contracts": stats["contracts"],
        "processed_events": stats["processed_events"],
    }


def _state_changes(before: dict, after: dict) -> int:
    changes = 0
    for key in ("payments", "contracts"):
        for status in set(before[key]) | set(after[key]):
            changes += abs(after[key].get(status, 0) - before[key].get(status, 0))
    changes += abs(after["processed_events"] - before["processed_events"])
    return changes


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    count = 2 * args.genuine
    with tempfile.TemporaryDirectory(prefix="okpay-attack-ipn-") as tmp_name:
        tmp = Path(tmp_name)
        collector = bench_ipn._Collector()
        threading.Thread(target=collector.serve_forever, daemon=True).start()
        seed = bench_ipn._seed(count, collector.url)
        emulator, emulator_url = bench_ipn.start_emulator(tmp, seed)
        shop = None
        try:
            charges = bench_ipn.make_charges(emulator_url, count, collector)
            by_invoice = bench_ipn.bodies_by_invoice(collector)
            bodies = [by_invoice[c.invoice][0] for c in charges]
            applied, held = bodies[: args.genuine], bodies[args.genuine :]
            fixture = tmp / "fixture.json"
            bench_ipn.write_fixture(fixture, charges, seed)
            if args.db == "postgres":
                reason = bench_ipn.prepare_postgres()
                if reason is not None:
                    raise SystemExit(f"PostgreSQL unreachable: {reason}")
            shop, shop_url = bench_ipn.start_shop(tmp, args.db, emulator_url, fixture)
            webhook = shop_url + "okpay/ipn/"
            genuine = fire(
                webhook, [Attack("genuine", "POST", b, FORM) for b in applied], 1
            )
            before = _stats(shop_url)
            attacks = make_attacks(rng, args.requests, applied, held, args.max_oversize)
            started = time.perf_counter()
            answers = fire(webhook, attacks, args.threads)
            seconds = time.perf_counter() - started
            after = _stats(shop_url)
        finally:
            if shop is not None:
                bench_ipn._stop(shop)
                if args.db == "postgres":
                    bench_ipn.drop_postgres()
            bench_ipn._stop(emulator)
            collector.shutdown()
            collector.server_close()
    totals: Counter = Counter()
    for counts in answers.values():
        totals.update(counts)
    return {
        "requests": args.requests,
        "threads": args.threads,
        "db": args.db,
        "seconds": round(seconds, 1),
        "genuine": dict(genuine["genuine"]),
        "answers": {kind: dict(c) for kind, c in sorted(answers.items())},
        "totals": dict(totals),
        "responses_500": totals.get(500, 0),
        "state_before": _state(before),
        "state_after": _state(after),
        "state_changes": _state_changes(_state(before), _state(after)),
        "rows_before": before["webhook_rows"],
        "rows_after": after["webhook_rows"],
        "arrivals_counted": after["webhook_arrivals"] - before["webhook_arrivals"],
        "row_states_after": after["webhook_states"],
        "bytes_before": before["database_bytes"],
        "bytes_after": after["database_bytes"],
    }


def report(result: dict) -> None:
    print(
        f"IPN webhook attack: {result['requests']} hostile requests from "
        f"{result['threads']} threads at once in {result['seconds']} s "
        f"({result['db']}); {sum(result['genuine'].values())} genuine IPNs applied "
        f"first (HTTP {_fmt(result['genuine'])})."
    )
    print("HTTP answers per kind:")
    for kind, counts in result["answers"].items():
        print(f"  {kind:<14}{_fmt(counts)}")
    print(f"  {'all':<14}{_fmt(result['totals'])}")
    print(f"Responses 500: {result['responses_500']}")
    print(
        f"State changes from the attack: {result['state_changes']} "
        f"(payments {_fmt(result['state_after']['payments'])}; contracts "
        f"{_fmt(result['state_after']['contracts'])}; dedupe keys "
        f"{result['state_after']['processed_events']})"
    )
    grown = result["bytes_after"] - result["bytes_before"]
    added = result["rows_after"] - result["rows_before"]
    print(
        f"Database growth after {result['requests']} junk requests: "
        f"{added} IPN-log rows ({result['arrivals_counted']} arrivals counted on "
        f"them), {grown / 1e6:+.2f} MB on disk ({result['bytes_before'] / 1e6:.2f} → "
        f"{result['bytes_after'] / 1e6:.2f} MB), "
        f"{grown / max(result['requests'], 1):.0f} bytes per request"
    )
    print(f"IPN-log rows by state: {_fmt(result['row_states_after'])}")
    print("RESULT " + json.dumps(result, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--genuine", type=int, default=20, help="IPNs applied, and as many held back"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--max-oversize",
        type=int,
        default=max(OVERSIZES),
        help="largest oversized body in bytes (default 10 MB)",
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "12")))
    args = parser.parse_args(argv)
    result = run(args)
    report(result)
    return 1 if result["responses_500"] or result["state_changes"] else 0


if __name__ == "__main__":
    sys.exit(main())
