"""The ``okpay-gateway`` console script.

Each subcommand lives in its own module exposing ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; this file only wires
them together, so importing it pulls in nothing heavy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from okpay_gateway import __version__

SUBCOMMANDS = {
    "emulator": "okpay_gateway.emulator.cli",
    "demo": "okpay_gateway.demo.cli",
    "renew": "okpay_gateway.billing.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okpay-gateway",
        description="OKPAY pre-approved payments for Django and Saleor.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version of okpay-gateway and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
