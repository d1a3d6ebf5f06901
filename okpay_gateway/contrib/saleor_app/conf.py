"""``settings.OKPAY_SALEOR_APP``: where the App lives and whom it trusts.

Read on every call (nothing at import time), so ``override_settings`` works.

=========================  ===========================================================
key                        meaning
=========================  ===========================================================
``APP_URL``                absolute base URL under which the App's urls are mounted
                           (manifest, token registration, webhooks, IPN, return)
``ALLOWED_SALEOR_URLS``    Saleor GraphQL API URLs allowed to install the App; exact
                           URLs or shell patterns (``https://*.example.com/graphql/``)
``APP_IDENTIFIER``         the App's id in the manifest; Saleor shows it as the payment
                           gateway id (default ``okpay-gateway.app``)
``TOKEN_KEY``              Fernet key for the stored app tokens (default: derived from
                           ``SECRET_KEY``)
``CONNECT_TIMEOUT``        seconds, every call to Saleor (default 5)
``READ_TIMEOUT``           seconds, every call to Saleor (default 20)
``SUPPORTED_CURRENCIES``   offered in checkouts (default ``["USD", "EUR"]``)
``AGREEMENT_TITLE``,
``DAILY_LIMIT``,
``WEEKLY_LIMIT``,
``MONTHLY_LIMIT``,
``VALIDITY_DAYS``,
``FEE_PAYER``              what a new agreement asks the customer to approve
``RETRY_DELAYS``           seconds between delivery attempts of reports and renewal
                           orders (default 60, 300, 900, 3600 then hourly)
``JWKS_MIN_REFRESH_SECONDS`` least time between two fetches of Saleor's keys caused by
                           an unknown ``kid`` (default 30)
``DASHBOARD_ORIGINS``      origins allowed to frame the Dashboard pages (CSP
                           ``frame-ancestors``; default: those of ``ALLOWED_SALEOR_URLS``)
``SESSION_FACTORY``        dotted path to a zero-argument callable returning the
                           ``requests.Session`` for calls to Saleor (tests)
=========================  ===========================================================
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings

SETTINGS_NAME = "OKPAY_SALEOR_APP"

DEFAULTS: dict[str, Any] = {
    "APP_URL": "",
    "ALLOWED_SALEOR_URLS": [],
    "APP_IDENTIFIER": "okpay-gateway.app",
    "TOKEN_KEY": "",
    "CONNECT_TIMEOUT": 5,
    "READ_TIMEOUT": 20,
    "SUPPORTED_CURRENCIES": ["USD", "EUR"],
    "AGREEMENT_TITLE": "Recurring payments",
    "DAILY_LIMIT": None,
    "WEEKLY_LIMIT": None,
    "MONTHLY_LIMIT": "1000.00",
    "VALIDITY_DAYS": 365,
    "FEE_PAYER": "merchant",
    "RETRY_DELAYS": [60, 300, 900, 3600],
    "JWKS_MIN_REFRESH_SECONDS": 30,
    "SESSION_FACTORY": "",
    "DASHBOARD_ORIGINS": None,
}


def raw() -> Mapping[str, Any]:
    value = getattr(django_settings, SETTINGS_NAME, None) or {}
    return value if isinstance(value, Mapping) else {}


def setting(name: str) -> Any:
    return raw().get(name, DEFAULTS[name])


def app_url(path: str = "") -> str:
    """The absolute URL of ``path`` (relative to the App's mount point)."""
    return str(setting("APP_URL")).rstrip("/") + "/" + path.lstrip("/")


def timeouts() -> tuple[float, float]:
    return (float(setting("CONNECT_TIMEOUT")), float(setting("READ_TIMEOUT")))


def saleor_url_allowed(api_url: str) -> bool:
    """Whether ``api_url`` matches one of ``ALLOWED_SALEOR_URLS`` (case-sensitive)."""
    if not api_url:
        return False
    return any(
        fnmatch.fnmatchcase(api_url, pattern)
        for pattern in setting("ALLOWED_SALEOR_URLS")
    )


def currencies() -> list[str]:
    return [str(code).upper() for code in setting("SUPPORTED_CURRENCIES")]


def decimal_or_none(name: str) -> Decimal | None:
    value = setting(name)
    return None if value in (None, "") else Decimal(str(value))


def retry_delay(attempts: int) -> int:
    """Seconds to wait after ``attempts`` failed deliveries (the last delay repeats)."""
    delays = list(setting("RETRY_DELAYS")) or [60]
    return int(delays[min(max(attempts, 1), len(delays)) - 1])
