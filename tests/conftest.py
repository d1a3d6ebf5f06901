"""Suite-wide test configuration.

Tests marked ``postgres`` run only when the suite itself runs on PostgreSQL
(``OKPAY_TEST_DB=postgres``); the README's test command runs both passes.
When the server cannot be reached they skip locally and fail under
``CI=true``.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest

ON_POSTGRES = os.environ.get("OKPAY_TEST_DB") == "postgres"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fail under CI, skip elsewhere, when a local service is not running."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(message + " (CI=true: services are required)")
    pytest.skip(message)


def _interrupt_on_sigterm(signum, frame):
    # Python's default for SIGTERM ends the process at once, so no fixture
    # finalizer runs and servers the tests started (the demo) keep running.
    # As KeyboardInterrupt, pytest stops and tears every fixture down.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    kept, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgres") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(autouse=True, scope="session")
def _postgres_available():
    if ON_POSTGRES:
        require_service(
            "PostgreSQL",
            os.environ.get("OKPAY_TEST_PG_HOST", "127.0.0.1"),
            int(os.environ.get("OKPAY_TEST_PG_PORT", "5432")),
        )


def shared_doc(name: str):
    """Path of one of the team's research pages in ``../shared/docs``.

    A few tests read the wire contract straight from the research notes so that
    our tables cannot drift from them. The notes sit beside the checkout on
    developer machines and in CI; elsewhere those tests skip (fail under CI).
    """
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "shared" / "docs" / name
    if not path.is_file():
        message = f"research notes not found at {path}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
