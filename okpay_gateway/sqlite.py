"""SQLite options for the servers that share one database file between threads.

The emulator's and the demo's HTTP threads, IPN delivery loop and renewal
thread all write to one SQLite file. IMMEDIATE transactions plus WAL keep them
from failing with "database is locked"; Django added both options in 5.1, so
older Django gets only the busy timeout (and more lock waits).
"""

from __future__ import annotations

from typing import Any

import django


def shared_file_options(timeout: float) -> dict[str, Any]:
    options: dict[str, Any] = {"timeout": timeout}
    if django.VERSION >= (5, 1):
        options["transaction_mode"] = "IMMEDIATE"
        options["init_command"] = "PRAGMA journal_mode=WAL;"
    return options
