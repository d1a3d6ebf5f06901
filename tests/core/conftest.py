"""Fixtures of the core tests: emulator-backed settings, wallets, signal capture."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.dispatch import Signal

from okpay_gateway import signals
from tests.core import support

CAPTURED_SIGNALS = (
    "contract_granted",
    "contract_closed",
    "payment_completed",
    "notification_flagged",
    "notification_processed",
)


@dataclass
class SignalLog:
    """Every gateway signal sent during a test, in order."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for sent_name, kwargs in self.sent if sent_name == name]


@pytest.fixture
def gateway(settings):
    """OKPAY_GATEWAY pointing at the in-process emulator, and the /okpay/ URLs."""
    settings.ROOT_URLCONF = "tests.core.urls"
    settings.OKPAY_GATEWAY = support.gateway_settings()
    return settings


@pytest.fixture
def merchant(db):
    return support.create_merchant()


@pytest.fixture
def buyer(db):
    return support.create_client()


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    log = SignalLog()
    receivers = []
    for name in CAPTURED_SIGNALS:
        signal: Signal = getattr(signals, name)

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            log.sent.append((_name, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield log
    for signal, receiver in receivers:
        signal.disconnect(receiver)
