"""Gateway settings of the billing tests; importable from a settings module (no models)."""

from __future__ import annotations

from typing import Any

import requests

MERCHANT_WALLET = "OK426375901"
MERCHANT_EMAIL = "shop@example.com"
API_PASSWORD = "merchant-api-secret"
BASE_URL = "http://okpay.emulator/"


def session_factory() -> requests.Session:
    """The session the gateway uses in these tests: the emulator, in-process."""
    from okpay_gateway.emulator.adapter import emulator_session

    return emulator_session(BASE_URL)


def gateway_settings(**extra: Any) -> dict[str, Any]:
    """An ``OKPAY_GATEWAY`` dict pointing at the in-process emulator."""
    return {
        "ENVIRONMENT": "emulator",
        "WALLET_ID": MERCHANT_WALLET,
        "API_PASSWORD": API_PASSWORD,
        "EMULATOR_URL": BASE_URL,
        "SESSION_FACTORY": "tests.billing_engine.wiring.session_factory",
        "READ_TIMEOUT": 5,
        "CONNECT_TIMEOUT": 2,
        "DUNNING": {"retry_after_days": [1, 3, 5], "cancel_after_days": 7},
        "RESOLVER_BACKOFF_SECONDS": [60, 300],
        "RESOLVER_SENDING_STALE_SECONDS": 120,
        **extra,
    }
