"""Fixtures for the emulator's web half: seeded wallets, a frozen clock, a live listener."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from okpay_gateway.emulator import clock, ipn_sender, seed

FROZEN_AT = datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)


class Listener:
    """A real HTTP IPN listener on loopback answering scripted status codes.

    ``statuses`` are answered in turn; once used up, ``default`` is answered.
    Every request body is kept, decoded into (name, value) pairs.
    """

    def __init__(self, statuses: list[int] | None = None, default: int = 200) -> None:
        self.statuses = list(statuses or [])
        self.default = default
        self.bodies: list[list[tuple[str, str]]] = []
        self.raw: list[bytes] = []
        self.content_types: list[str] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with listener._lock:
                    listener.raw.append(body)
                    listener.bodies.append(
                        parse_qsl(body.decode("utf-8"), keep_blank_values=True)
                    )
                    listener.content_types.append(self.headers.get("Content-Type", ""))
                    status = (
                        listener.statuses.pop(0)
                        if listener.statuses
                        else listener.default
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ipn/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Listener:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener().start()
    yield server
    server.stop()


@pytest.fixture
def frozen_clock(db) -> datetime:
    clock.freeze(FROZEN_AT, expire=False)
    return FROZEN_AT


@pytest.fixture
def seeded(db, frozen_clock) -> seed.SeedSummary:
    return seed.create_default_seed()


@pytest.fixture
def manual_delivery(settings) -> None:
    settings.OKPAY_EMULATOR = {
        **settings.OKPAY_EMULATOR,
        "IPN_DELIVERY": "manual",
    }


@pytest.fixture(autouse=True)
def _default_session_factory() -> Iterator[None]:
    yield
    ipn_sender.set_session_factory(None)
