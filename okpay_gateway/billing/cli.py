"""``okpay-gateway renew``: the ``okpay_renew`` management command outside ``manage.py``.

Needs a Django settings module: ``--settings`` or ``DJANGO_SETTINGS_MODULE``.
Register in ``okpay_gateway/cli.py``: ``SUBCOMMANDS["renew"] = "okpay_gateway.billing.cli"``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from okpay_gateway.cli_args import positive_int

HELP = "Renew due subscriptions once (needs --settings or DJANGO_SETTINGS_MODULE)."
PROG = "okpay-gateway renew"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        default=None,
        metavar="MODULE",
        help="your project's Django settings module, e.g. mysite.settings "
        "(default: $DJANGO_SETTINGS_MODULE)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be charged; charge nothing",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        metavar="N",
        help="take at most N due subscriptions (default: all)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=1,
        metavar="N",
        help="charges in flight at once (default 1)",
    )
    parser.add_argument(
        "--as-of",
        default=None,
        metavar="ISO",
        help="run as if it were this time, ISO 8601 (default: now)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="draw the progress bar (auto: only on a terminal)",
    )


def _fail(message: str, status: int = 2) -> int:
    err = sys.stderr
    print(f"{PROG}: {message}", file=err)
    return status


def run(args: argparse.Namespace) -> int:
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        return _fail("give --settings or set DJANGO_SETTINGS_MODULE")
    try:
        importlib.import_module(module)
    except ImportError as exc:
        # Only the settings module itself; what it imports is its own business.
        return _fail(f"cannot import the settings module {module!r}: {exc}")

    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        return _fail(f"the settings in {module!r} are incomplete: {exc}")
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
        return _fail(str(exc), exc.returncode or 1)
    return 0
