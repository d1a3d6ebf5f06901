"""Fixtures of the emulator-core tests: wallets, agreements, a frozen clock, clients."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from okpay_gateway.emulator import clock, operations
from okpay_gateway.emulator.adapter import emulator_session
from okpay_gateway.emulator.clock import EmulatorClockSource
from okpay_gateway.emulator.models import Contract, Wallet
from okpay_gateway.provider.client import OkPayClient
from okpay_gateway.provider.settings import OkPaySettings

# A Wednesday; the ISO week began on Monday 2026-03-09.
START = datetime(2026, 3, 11, 10, 30, tzinfo=UTC)
MERCHANT_API_PASSWORD = "merchant-api-secret"
CLIENT_API_PASSWORD = "client-api-secret"


@dataclass(frozen=True)
class Face:
    """How the tests reach the emulator: in-process adapter or real HTTP."""

    name: str
    base_url: str
    new_session: Callable[[], requests.Session]


class LiveSessions:
    """Sessions for the live server, closed (and their server threads joined) at teardown.

    A session keeps its connection open, so one server thread serves all of
    its requests in order. At the end of the test the sockets are closed and
    the server threads waited for, so none of them touches the shared test
    database after the test (or while it is flushed).
    """

    def __init__(self) -> None:
        self.sessions: list[requests.Session] = []

    def __call__(self) -> requests.Session:
        session = requests.Session()
        self.sessions.append(session)
        return session

    def close(self) -> None:
        # Tracebacks kept by pytest.raises hold responses, and so sockets, in
        # reference cycles; collect them so closing really closes the sockets.
        gc.collect()
        for session in self.sessions:
            session.close()
        gc.collect()
        for thread in threading.enumerate():
            if "process_request_thread" in thread.name:
                thread.join(timeout=30)


@pytest.fixture
def live_sessions(transactional_db, live_server):
    """A factory of live-server sessions that are cleaned up after the test."""
    sessions = LiveSessions()
    yield sessions
    sessions.close()


@pytest.fixture(
    params=["in_process", pytest.param("live", marks=pytest.mark.live)],
)
def face(request) -> Face:
    """Both faces of the emulator; the live one runs on pytest-django's live_server."""
    if request.param == "live":
        server = request.getfixturevalue("live_server")
        sessions = request.getfixturevalue("live_sessions")
        return Face("live", server.url + "/okpay-emulator/", sessions)
    request.getfixturevalue("db")
    return Face("in_process", "http://okpay.emulator/", emulator_session)


@pytest.fixture
def in_process(db) -> Face:
    """Only the in-process face (for refusals and fault injection)."""
    return Face("in_process", "http://okpay.emulator/", emulator_session)


@pytest.fixture
def frozen(db) -> datetime:
    clock.freeze(START)
    yield START
    clock.reset()


@pytest.fixture
def merchant(frozen) -> Wallet:
    return operations.create_wallet(
        email="merchant@shop.example",
        name="Example Shop",
        api_password=MERCHANT_API_PASSWORD,
        balances={"USD": "0.00"},
    )


@pytest.fixture
def customer(frozen) -> Wallet:
    return operations.create_wallet(
        email="buyer@example.org",
        name="Bea Buyer",
        api_password=CLIENT_API_PASSWORD,
        balances={"USD": "500.00", "EUR": "100.00"},
        country_iso="DE",
    )


@pytest.fixture
def make_contract(merchant, customer) -> Callable[..., Contract]:
    def make(**overrides) -> Contract:
        values = {
            "receiver": merchant,
            "client": customer,
            "title": "Example Pro plan",
            "currency": "USD",
            "monthly_limit": Decimal("100.00"),
            "invoice": "agreement-1",
            "notify": False,
        }
        values.update(overrides)
        return operations.grant_contract(**values)

    return make


@pytest.fixture
def contract(make_contract) -> Contract:
    return make_contract()


def make_client(face: Face, wallet: Wallet, **overrides) -> OkPayClient:
    settings = OkPaySettings.for_environment(
        "emulator",
        wallet_id=wallet.wallet_id,
        api_password=wallet.api_password,
        base_url=face.base_url,
        **overrides,
    )
    return OkPayClient(
        settings=settings, session=face.new_session(), clock=EmulatorClockSource()
    )
