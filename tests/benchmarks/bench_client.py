"""Benchmark of the OKPAY client against the emulator served over real HTTP.

Prints:
- client construction time, first (parses the WSDL) and cached;
- client-side CPU per PreapprovedPayment_Charge through OkPayClient, and the
  same for a hand-built lxml + requests call (the floor), with their ratio;
- calls per second through one client shared by 8 threads.

Run: python tests/benchmarks/bench_client.py [--calls 300]
It starts `okpay-gateway emulator` on a free loopback port with a seed file,
and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import requests
from lxml import etree

WALLET = "OK100000001"
CLIENT_WALLET = "OK200000002"
API_PASSWORD = "bench-api-password"
CONTRACT_ID = 900001

SEED = {
    "wallets": [
        {
            "wallet_id": WALLET,
            "email": "merchant@bench.example",
            "password": "merchant-pass",
            "api_password": API_PASSWORD,
            "api_enabled": True,
            "balances": {"EUR": "0.00"},
            "ipn_url": None,
        },
        {
            "wallet_id": CLIENT_WALLET,
            "email": "client@bench.example",
            "password": "client-pass",
            "api_password": None,
            "api_enabled": False,
            "balances": {"EUR": "100000000.00"},
            "ipn_url": None,
        },
    ],
    "contracts": [
        {
            "id": CONTRACT_ID,
            "receiver": WALLET,
            "client": CLIENT_WALLET,
            "title": "Benchmark agreement",
            "currency": "EUR",
            "daily_amount": None,
            "weekly_amount": None,
            "monthly_amount": "100000000.00",
            "end_date": None,
            "client_pays_fee": False,
            "status": "Active",
            "invoice": "bench-agreement",
        }
    ],
}

FLOOR_ENVELOPE_NS = {
    "soap": "http://schemas.xmlsoap.org/soap/envelope/",
    "tns": "https://api.okpay.com",
}


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    seed = data_dir / "seed.json"
    seed.write_text(json.dumps(SEED))
    proc = subprocess.Popen(
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
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"(http://127\.0\.0\.1:\d+/)OkPayAPI\b", line)
        if match:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, match.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("the emulator did not print its SOAP URL")


def floor_charge(session: requests.Session, url: str, token: str, n: int) -> None:
    """The least work a client can do: build, post and parse one charge."""
    ns = FLOOR_ENVELOPE_NS
    env = etree.Element(etree.QName(ns["soap"], "Envelope"), nsmap=ns)
    body = etree.SubElement(env, etree.QName(ns["soap"], "Body"))
    op = etree.SubElement(body, etree.QName(ns["tns"], "PreapprovedPayment_Charge"))
    for name, value in (
        ("WalletID", WALLET),
        ("SecurityToken", token),
        ("PreapprovedPaymentID", str(CONTRACT_ID)),
        ("Amount", "1.00"),
        ("Comment", f"floor-{n}"),
    ):
        etree.SubElement(op, etree.QName(ns["tns"], name)).text = value
    response = session.post(
        url,
        data=etree.tostring(env, xml_declaration=True, encoding="utf-8"),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"https://api.okpay.com/I_OkPayAPI/PreapprovedPayment_Charge"',
        },
        timeout=(5, 30),
    )
    tree = etree.fromstring(response.content)
    ids = tree.xpath("//*[local-name()='ID']/text()")
    if response.status_code != 200 or not ids:
        raise SystemExit(
            f"floor call failed: {response.status_code} {response.text[:200]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    from okpay_gateway.provider import client as client_module
    from okpay_gateway.provider.auth import security_token
    from okpay_gateway.provider.settings import OkPaySettings
    from okpay_gateway.types import SystemClock

    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_emulator(Path(tmp))
        try:
            settings = OkPaySettings.for_environment(
                "emulator", wallet_id=WALLET, api_password=API_PASSWORD, base_url=base
            )
            t0 = time.perf_counter()
            first = client_module.OkPayClient(settings=settings)
            t_first_build = time.perf_counter() - t0
            t0 = time.perf_counter()
            first.get_date_time()
            t_first_call = time.perf_counter() - t0
            t0 = time.perf_counter()
            second = client_module.OkPayClient(settings=settings)
            t_cached_build = time.perf_counter() - t0
            t0 = time.perf_counter()
            second.get_date_time()
            t_cached_call = time.perf_counter() - t0
            print(
                "client construction (first in this process, WSDL parsed): "
                f"{t_first_build * 1000:.2f} ms, then its first call "
                f"{t_first_call * 1000:.1f} ms; second client (cached WSDL): "
                f"{t_cached_build * 1000:.2f} ms, then its first call "
                f"{t_cached_call * 1000:.1f} ms"
            )

            client = second
            for i in range(20):  # warm up both paths
                client.preapproved_payment_charge(
                    contract_id=CONTRACT_ID, amount=Decimal("1.00"), invoice=f"warm-{i}"
                )
            c0 = time.process_time()
            w0 = time.perf_counter()
            for i in range(args.calls):
                client.preapproved_payment_charge(
                    contract_id=CONTRACT_ID,
                    amount=Decimal("1.00"),
                    invoice=f"bench-{i}",
                )
            client_cpu = (time.process_time() - c0) / args.calls
            client_wall = (time.perf_counter() - w0) / args.calls

            session = requests.Session()
            token = security_token(API_PASSWORD, SystemClock().now())
            url = settings.api_url
            for i in range(20):
                floor_charge(session, url, token, -i - 1)
            c0 = time.process_time()
            w0 = time.perf_counter()
            for i in range(args.calls):
                floor_charge(session, url, token, i)
            floor_cpu = (time.process_time() - c0) / args.calls
            floor_wall = (time.perf_counter() - w0) / args.calls
            print(
                f"client-side CPU per PreapprovedPayment_Charge ({args.calls} calls): "
                f"OkPayClient {client_cpu * 1e6:.0f} us, "
                f"lxml+requests floor {floor_cpu * 1e6:.0f} us, "
                f"ratio {client_cpu / floor_cpu:.2f}x "
                f"(wall per call {client_wall * 1000:.2f} ms vs "
                f"{floor_wall * 1000:.2f} ms)"
            )

            per_thread = max(1, args.calls // args.threads)
            errors: list[BaseException] = []

            def worker(k: int) -> None:
                try:
                    for i in range(per_thread):
                        client.preapproved_payment_charge(
                            contract_id=CONTRACT_ID,
                            amount=Decimal("1.00"),
                            invoice=f"thr-{k}-{i}",
                        )
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=worker, args=(k,)) for k in range(args.threads)
            ]
            w0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - w0
            total = per_thread * args.threads
            if errors:
                print(f"thread errors: {len(errors)}; first: {errors[0]!r}")
            print(
                f"{args.threads} threads, one client: {total} charges in {wall:.2f} s = "
                f"{total / wall:.0f} calls/s"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
