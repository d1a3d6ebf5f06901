"""``okpay-gateway demo``: the demo shop and the OKPAY emulator in one server.

Binds the socket first (so ``--port 0`` knows its port before Django reads
the settings that contain it), configures Django with
:mod:`okpay_gateway.demo.settings`, creates and migrates the SQLite database
in ``--data-dir``, seeds it once, points the plugin at this server, then
serves HTTP on 127.0.0.1 with two background threads: the emulator's IPN
redelivery loop and the renewal scheduler. Ctrl-C (or SIGTERM) stops it.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import socketserver
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from okpay_gateway.cli_args import (
    CliError,
    non_negative_seconds,
    port_number,
    prepare_data_dir,
)

logger = logging.getLogger(__name__)

HELP = (
    "Run the demo shop with the OKPAY emulator: storefront, checkout, "
    "renewals, merchant admin (SQLite, one command)."
)

DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = ".okpay-demo"
DEFAULT_RENEW_INTERVAL = 15.0
DELIVERY_INTERVAL_SECONDS = 1.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free port)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=DEFAULT_DATA_DIR,
        help=f"where the SQLite database lives (default ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--renew-interval",
        type=non_negative_seconds,
        default=DEFAULT_RENEW_INTERVAL,
        metavar="SECONDS",
        help="seconds between automatic renewal passes; 0 turns them off "
        f"(default {DEFAULT_RENEW_INTERVAL:g})",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="INFO",
        help="level of okpay_gateway's log on the console; DEBUG adds the SOAP "
        "envelopes (wallets and tokens masked) and every request (default INFO)",
    )


def _url_host(host: str) -> str:
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socketserver.BaseServer:
    # The server needs no configured settings to bind; the app is set once
    # Django is set up with the URL this socket got.
    from okpay_gateway.http_server import bind

    return bind(host, port)


def _configure_django(data_dir: Path, base_url: str, log_level: str) -> None:
    os.environ["OKPAY_DEMO_DATA_DIR"] = str(data_dir)
    os.environ["OKPAY_DEMO_LOG_LEVEL"] = log_level
    os.environ["OKPAY_DEMO_BASE_URL"] = base_url
    # Forced, not setdefault: a shell (or pytest) may export another project's
    # settings, and the demo must never run inside them by accident.
    os.environ["DJANGO_SETTINGS_MODULE"] = "okpay_gateway.demo.settings"
    import django

    django.setup()


def _loop(stop: threading.Event, interval: float, name: str, work: Any) -> None:
    from django.db import close_old_connections

    while not stop.wait(interval):
        try:
            work()
        except Exception:
            # The loop must outlive one bad pass or a locked database.
            logger.exception("%s failed; trying again later", name)
        finally:
            close_old_connections()


def _deliver_ipns() -> None:
    from okpay_gateway.emulator import ipn_sender

    ipn_sender.deliver_due()


def _renew() -> None:
    from okpay_gateway.demo import checkout, subscriptions

    checkout.sync_paid_orders()
    subscriptions.run_renewals(trigger="demo-schedule")


def _print_banner(base_url: str, renew_interval: float, out: TextIO) -> None:
    from django.conf import settings

    from okpay_gateway.demo import seed

    emulator = base_url + settings.EMULATOR_PREFIX
    lines = [
        "OKPAY demo shop running (with a local OKPAY emulator: no real money moves)",
        f"  Storefront:        {base_url}",
        f"  Your account:      {base_url}account/",
        f"  Clock & renewals:  {base_url}demo/clock/",
        f"  What is emulated:  {base_url}demo/about/",
        f"  Merchant admin:    {base_url}admin/",
        f"  GraphQL:           {base_url}graphql/"
        if importlib.util.find_spec("graphene")
        else "  GraphQL:           off (pip install 'okpay-gateway[graphql]')",
        f"  OKPAY emulator:    {emulator}",
        f"  Emulator WSDL:     {emulator}OkPayAPI?wsdl",
        f"  Emulator control:  {emulator}control/",
        f"  IPN URL (plugin):  {seed.ipn_url(base_url)}",
        f"  Data directory:    {settings.DATA_DIR}",
        "  Renewals:          "
        + (f"every {renew_interval:g} s on emulator time" if renew_interval else "off"),
        "  Test credentials:",
    ]
    for row in seed.credentials():
        lines.append(
            f"    {row['who']:<16} {row['where']:<26} login {row['login']}"
            f"  password {row['password']}  ({row['note']})"
        )
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), file=out, flush=True)


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        data_dir = prepare_data_dir(args.data_dir)
    except CliError as exc:
        print(f"okpay-gateway demo: {exc}", file=err)
        return 2
    try:
        server = _bind(args.host, args.port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f"{args.host}:{args.port}"
        print(f"okpay-gateway demo: cannot listen on {where}: {reason}", file=err)
        return 2
    port = server.server_address[1]
    base_url = f"http://{_url_host(args.host)}:{port}/"
    _configure_django(data_dir, base_url, args.log_level)

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    from okpay_gateway.demo import seed

    call_command("migrate", interactive=False, verbosity=0)
    if seed.seed_if_empty(base_url):
        print(f"Created the demo database in {data_dir}.", file=out, flush=True)
    seed.configure_plugin(base_url)
    server.set_app(get_wsgi_application())

    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_loop,
            args=(stop, DELIVERY_INTERVAL_SECONDS, "IPN delivery", _deliver_ipns),
            name="okpay-ipn-delivery",
            daemon=True,
        )
    ]
    if args.renew_interval > 0:
        threads.append(
            threading.Thread(
                target=_loop,
                args=(stop, args.renew_interval, "renewal pass", _renew),
                name="okpay-demo-renewals",
                daemon=True,
            )
        )
    for thread in threads:
        thread.start()

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        # The banner is printed inside the try: a SIGTERM sent as soon as it
        # appears must still end in a clean stop.
        _print_banner(base_url, args.renew_interval, out)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("Stopping the OKPAY demo.", file=out, flush=True)
    finally:
        stop.set()
        server.server_close()
        for thread in threads:
            thread.join(timeout=5)
        signal.signal(signal.SIGTERM, previous)
    return 0
