"""``okpay-gateway emulator``: serve the OKPAY emulator over real HTTP.

Configures Django with :mod:`okpay_gateway.emulator.server_settings`
(SQLite in ``--data-dir``), migrates, seeds an empty database, starts a
threaded WSGI server plus the IPN delivery loop, and prints every URL and
test credential a developer needs. Ctrl-C (or SIGTERM) stops it cleanly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socketserver
import sys
import threading
from pathlib import Path
from typing import TextIO

from okpay_gateway.cli_args import CliError, port_number, prepare_data_dir

logger = logging.getLogger(__name__)

HELP = "Run the local OKPAY emulator (SOAP API, checkout, IPN, /ipn-verify) over HTTP."

DEFAULT_DATA_DIR = ".okpay-emulator"
DELIVERY_INTERVAL_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=0,
        help="port to listen on; 0 or omitted picks a free port and prints it",
    )
    parser.add_argument(
        "--seed",
        metavar="FILE",
        help="JSON seed file (wallets, contracts) loaded into an empty database; "
        "without it a default merchant and three customers are created",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=DEFAULT_DATA_DIR,
        help=f"where the SQLite database lives (default ./{DEFAULT_DATA_DIR})",
    )


def _configure_django(data_dir: Path) -> None:
    os.environ["OKPAY_EMULATOR_DATA_DIR"] = str(data_dir)
    # Forced, not setdefault: a shell (or pytest) may export another project's
    # settings, and the emulator must never run inside them by accident.
    os.environ["DJANGO_SETTINGS_MODULE"] = "okpay_gateway.emulator.server_settings"
    import django

    django.setup()


def _seed_if_empty(
    seed_file: str | None, data_dir: Path, out: TextIO
) -> list[dict[str, object]]:
    """Seed an empty database; returns the wallet rows to print.

    Login passwords are stored hashed, so the credentials of the first seed
    are kept next to the database (``credentials.json``, a local test
    double's file) to be printed again on later starts.
    """
    from okpay_gateway.emulator import seed
    from okpay_gateway.emulator.models import Wallet

    credentials = data_dir / "credentials.json"
    if Wallet.objects.exists():
        if seed_file:
            _say(
                f"Database already has wallets; --seed {seed_file} was not loaded.", out
            )
        if credentials.exists():
            return json.loads(credentials.read_text(encoding="utf-8"))
        return seed.describe_wallets()
    if seed_file:
        try:
            data = json.loads(Path(seed_file).read_text(encoding="utf-8"))
            summary = seed.load_seed(data)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise CliError(f"cannot load the seed file {seed_file}: {reason}") from exc
    else:
        summary = seed.create_default_seed()
    rows = summary.as_rows()
    credentials.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    credentials.chmod(0o600)
    return rows


def _say(text: str, out: TextIO) -> None:
    # The console script talks to the terminal; writing to the stream keeps
    # the library-wide "no print" rule meaningful everywhere else.
    out.write(text + "\n")
    out.flush()


def _print_banner(base_url: str, wallets: list[dict[str, object]], out: TextIO) -> None:
    lines = [
        "OKPAY emulator running (a local test double, not the real OKPAY)",
        f"  SOAP endpoint:  {base_url}OkPayAPI",
        f"  WSDL:           {base_url}OkPayAPI?wsdl",
        f"  Checkout:       {base_url}",
        f"  IPN verify:     {base_url}ipn-verify",
        f"  Control page:   {base_url}control/",
        f"  Control API:    {base_url}control/api/",
        f"  IPN simulator:  {base_url}simulator/",
        f"  Merchant page:  {base_url}merchant/",
        "  Wallets:",
    ]
    for row in wallets:
        parts = [f"    {row['wallet_id']}  {row['email']}"]
        if row.get("password"):
            parts.append(f"password={row['password']}")
        if row.get("api_enabled"):
            api_password = row.get("api_password") or "(set in seed)"
            parts.append(f"api_password={api_password}")
        if row.get("balances"):
            parts.append(f"balances={row['balances']}")
        lines.append("  ".join(parts))
    lines.append("Press Ctrl-C to stop.")
    _say("\n".join(lines), out)


def _delivery_loop(stop: threading.Event) -> None:
    from django.db import close_old_connections

    from okpay_gateway.emulator import ipn_sender

    while not stop.wait(DELIVERY_INTERVAL_SECONDS):
        try:
            ipn_sender.deliver_due()
        except Exception:
            # The loop must outlive one bad message or a locked database.
            logger.exception("IPN delivery loop failed; retrying in a second")
        finally:
            close_old_connections()


def _bind(host: str, port: int) -> socketserver.BaseServer:
    # Before Django and the database: a busy port is reported at once. The
    # WSGI application is set once Django is configured.
    from okpay_gateway.http_server import bind

    try:
        return bind(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"cannot listen on {host}:{port}: {reason}") from exc


def _url_host(host: str) -> str:
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        data_dir = prepare_data_dir(args.data_dir)
        server = _bind(args.host, args.port)
    except CliError as exc:
        _say(f"okpay-gateway emulator: {exc}", sys.stderr)
        return 2
    try:
        _configure_django(data_dir)

        from django.core.management import call_command
        from django.core.wsgi import get_wsgi_application

        call_command("migrate", interactive=False, verbosity=0)
        wallets = _seed_if_empty(args.seed, data_dir, out)
        server.set_app(get_wsgi_application())
    except CliError as exc:
        server.server_close()
        _say(f"okpay-gateway emulator: {exc}", sys.stderr)
        return 2

    port = server.server_address[1]
    base_url = f"http://{_url_host(args.host)}:{port}/"
    stop = threading.Event()
    loop = threading.Thread(
        target=_delivery_loop, args=(stop,), name="okpay-ipn-delivery", daemon=True
    )
    loop.start()

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        # Inside the try: a SIGTERM sent as soon as the banner appears must
        # still end in a clean stop.
        _print_banner(base_url, wallets, out)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        _say("Stopping the OKPAY emulator.", out)
    finally:
        stop.set()
        server.server_close()
        loop.join(timeout=5)
        signal.signal(signal.SIGTERM, previous)
    return 0
