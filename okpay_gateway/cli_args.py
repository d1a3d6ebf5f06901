"""Argument types and checks shared by the ``okpay-gateway`` subcommands.

Each turns a bad value into a one-line message (argparse prints it with the
usage and exits 2) instead of a traceback from deep inside a server.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

__all__ = [
    "CliError",
    "non_negative_seconds",
    "port_number",
    "positive_int",
    "prepare_data_dir",
]

MAX_PORT = 65535


class CliError(Exception):
    """A problem to tell the user in one line, then exit with status 2."""


def port_number(text: str) -> int:
    """A TCP port: 0 (pick a free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{value} is not a port number (0 to {MAX_PORT}; 0 picks a free port)"
        )
    return value


def non_negative_seconds(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text} seconds: give 0 (off) or a positive number"
        )
    return value


def positive_int(text: str) -> int:
    """A whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: give 1 or more")
    return value


def prepare_data_dir(text: str) -> Path:
    """Create (if needed) and return the absolute data directory, or raise CliError."""
    path = Path(text).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"cannot create the data directory {path}: {reason}") from exc
    if not os.access(path, os.W_OK):
        raise CliError(f"cannot write to the data directory {path}")
    return path
