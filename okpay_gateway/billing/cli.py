"""``okpay-gateway renew``: the ``okpay_renew`` management command outside ``manage.py``.

Needs a Django settings module: ``--settings`` or ``DJANGO_SETTINGS_MODULE``.
Register in ``okpay_gateway/cli.py``: ``SUBCOMMANDS["renew"] = "okpay_gateway.billing.cli"``.
"""

from __future__ import annotations

import argparse
import os

HELP = "Renew due subscriptions once (needs --settings or DJANGO_SETTINGS_MODULE)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", default=None, help="Django settings module.")
    parser.add_argument("--dry-run", action="store_true", help="Preview only.")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--as-of", default=None, help="Engine clock, ISO 8601.")
    parser.add_argument(
        "--progress", choices=("auto", "always", "never"), default="auto"
    )


def run(args: argparse.Namespace) -> int:
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        print("okpay-gateway renew: give --settings or set DJANGO_SETTINGS_MODULE")  # noqa: T201
        return 2
    import django
    from django.core.management import call_command
    from django.core.management.base import CommandError

    django.setup()
    options = {
        "dry_run": args.dry_run,
        "limit": args.limit,
        "concurrency": args.concurrency,
        "as_of": args.as_of,
        "progress": args.progress,
    }
    try:
        call_command("okpay_renew", **options)
    except CommandError as exc:
        print(f"okpay-gateway renew: {exc}")  # noqa: T201
        return exc.returncode or 1
    return 0
