"""A terminated test run stops the demo server its browser tests started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
START_WAIT_SECONDS = 180


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "State:\tZ" in status.read_text())


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return True
    except OSError:
        return False


def test_sigterm_to_pytest_stops_its_demo_server(tmp_path):
    """SIGTERM a pytest holding the demo open: its server process and port are gone."""
    from tests.browser.conftest import require_browser

    require_browser()
    probe = tmp_path / "demo.txt"
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "tests/browser/sigterm_probe.py"],
        cwd=REPO,
        env={**os.environ, "OKPAY_SIGTERM_PROBE": str(probe)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    demo_pid = None
    try:
        deadline = time.monotonic() + START_WAIT_SECONDS
        while not probe.exists() and time.monotonic() < deadline:
            assert child.poll() is None, "the child pytest ended before the demo ran"
            time.sleep(0.2)
        pid_text, url = probe.read_text().split()
        demo_pid = int(pid_text)
        assert _listening(url)

        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)

        assert not _alive(demo_pid), "the demo server outlived the terminated pytest"
        assert not _listening(url)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if demo_pid is not None and _alive(demo_pid):
            os.kill(demo_pid, signal.SIGKILL)
