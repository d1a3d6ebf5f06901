"""Serve the benchmark shop (:mod:`tests.benchmarks.ipn_shop_settings`) over HTTP.

    python tests/benchmarks/ipn_shop_server.py --db sqlite|postgres
        [--sqlite-path FILE] [--pg-name NAME] --emulator-url URL
        --wallet-id ID --api-password PW --fixture FILE

Started by ``bench_ipn.py``, one process per database. It migrates, creates
the shop's side of every agreement and charge listed in ``--fixture`` (an
active ``Contract`` per agreement, a ``Payment`` in ``sending`` per charge,
as the renewal engine leaves them before OKPAY's IPN arrives), then serves
Django's threaded WSGI server on a free loopback port and prints
``SHOP_URL http://127.0.0.1:<port>/``. SIGTERM stops it.

It is served by :mod:`okpay_gateway.http_server`, like the emulator and the
demo (threads, TCP_NODELAY).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _configure(args: argparse.Namespace) -> None:
    os.environ["BENCH_DB"] = args.db
    os.environ["BENCH_SQLITE_PATH"] = args.sqlite_path
    os.environ["BENCH_PG_NAME"] = args.pg_name
    os.environ["BENCH_EMULATOR_URL"] = args.emulator_url
    os.environ["BENCH_WALLET_ID"] = args.wallet_id
    os.environ["BENCH_API_PASSWORD"] = args.api_password
    if args.verify_url:
        os.environ["BENCH_VERIFY_URL"] = args.verify_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.ipn_shop_settings"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def _load_fixture(path: Path, wallet_id: str) -> None:
    from okpay_gateway.models import Contract, ContractStatus, Payment, PaymentStatus

    data = json.loads(path.read_text(encoding="utf-8"))
    contracts = Contract.objects.bulk_create(
        [
            Contract(
                okpay_id=row["id"],
                receiver_wallet=wallet_id,
                client_email=row["client"],
                title=row["title"],
                currency=row["currency"],
                monthly_amount=Decimal(row["monthly_amount"]),
                status=ContractStatus.ACTIVE,
                invoice=row["invoice"],
            )
            for row in data["contracts"]
        ],
        batch_size=500,
    )
    by_okpay_id = {contract.okpay_id: contract for contract in contracts}
    if None in by_okpay_id or len(by_okpay_id) != len(contracts):
        # Backends that return no primary keys from bulk_create.
        by_okpay_id = {c.okpay_id: c for c in Contract.objects.all()}
    Payment.objects.bulk_create(
        [
            Payment(
                invoice=row["invoice"],
                contract=by_okpay_id[row["contract_id"]],
                amount=Decimal(row["amount"]),
                currency=row["currency"],
                status=PaymentStatus.SENDING,
            )
            for row in data["payments"]
        ],
        batch_size=500,
    )
    # The payments django-paypal's peer completes (no contract: plain payments).
    Payment.objects.bulk_create(
        [
            Payment(
                invoice=row["invoice"],
                amount=Decimal(row["amount"]),
                currency=row["currency"],
                status=PaymentStatus.SENDING,
            )
            for row in data.get("paypal_payments", [])
        ],
        batch_size=500,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--sqlite-path", default="bench-ipn.sqlite3")
    parser.add_argument("--pg-name", default="okpay_bench_ipn")
    parser.add_argument("--emulator-url", required=True)
    parser.add_argument("--wallet-id", required=True)
    parser.add_argument("--api-password", required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument(
        "--verify-url", default="", help="postback URL instead of /ipn-verify"
    )
    args = parser.parse_args()
    _configure(args)

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    from okpay_gateway import http_server
    from tests.benchmarks import ipn_paypal

    if ipn_paypal.available():
        ipn_paypal.connect()
        if args.verify_url:
            ipn_paypal.point_postback_at(args.verify_url)

    call_command("migrate", interactive=False, verbosity=0)
    _load_fixture(args.fixture, args.wallet_id)
    connections.close_all()

    # The same threaded, TCP_NODELAY server as the emulator and the demo.
    server = http_server.bind("127.0.0.1", 0)
    server.set_app(get_wsgi_application())

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        print(f"SHOP_URL http://127.0.0.1:{server.server_address[1]}/", flush=True)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
