"""Starting ``okpay-gateway demo`` as a real subprocess for the demo and browser tests.

The demo serves the emulator and sends IPNs from background threads over
real HTTP, so it runs as its own process with its own SQLite database in a
temporary directory, exactly as a visitor would start it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

READY_LINE = "Press Ctrl-C to stop."
# Migrating a fresh database takes a few seconds; a slow CI machine more.
START_WAIT_SECONDS = 120


@dataclass
class DemoServer:
    """A running demo: its process, its URL and everything it printed so far."""

    process: subprocess.Popen
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    base_url: str = ""

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def url(self, path: str = "/") -> str:
        return self.base_url.rstrip("/") + path

    def stop(self) -> int:
        """SIGTERM, as a terminal's Ctrl-C would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.process.returncode


def _pump(server: DemoServer, ready: threading.Event) -> None:
    assert server.process.stdout is not None
    for raw in server.process.stdout:
        line = raw.rstrip("\n")
        server.lines.append(line)
        match = re.match(r"\s*Storefront:\s+(\S+)", line)
        if match:
            server.base_url = match.group(1)
        if line.strip() == READY_LINE:
            ready.set()
    ready.set()


def start_demo(data_dir: Path, *extra: str) -> DemoServer:
    """Start the demo on a free loopback port; returns once it serves."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "okpay_gateway.cli",
            "demo",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    server = DemoServer(process=process, data_dir=data_dir)
    ready = threading.Event()
    threading.Thread(target=_pump, args=(server, ready), daemon=True).start()
    ready.wait(START_WAIT_SECONDS)
    if process.poll() is not None or not server.base_url:
        server.stop()
        raise RuntimeError("the demo did not start:\n" + server.output)
    return server
