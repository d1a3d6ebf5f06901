"""Reading ``settings.OKPAY_GATEWAY`` into an :class:`OkPaySettings`.

Nothing is read at import time: :func:`get_settings` builds the object on
first use and forgets it when Django's ``setting_changed`` fires, so
``override_settings`` works in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from okpay_gateway.exceptions import ConfigurationError
from okpay_gateway.provider.settings import Environment, OkPaySettings

SETTINGS_NAME = "OKPAY_GATEWAY"

_PROVIDER_KEYS = {
    "API_URL": "api_url",
    "CHECKOUT_URL": "checkout_url",
    "VERIFY_URL": "verify_url",
    "RECEIVER_EMAIL": "receiver_email",
    "CONNECT_TIMEOUT": "connect_timeout",
    "READ_TIMEOUT": "read_timeout",
    "VERIFY_TIMEOUT": "verify_timeout",
    "ACCEPT_TEST_IPN": "accept_test_ipn",
}


def raw_settings() -> Mapping[str, Any]:
    value = getattr(django_settings, SETTINGS_NAME, None)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{SETTINGS_NAME} must be a dict")
    return value


def settings_from_mapping(values: Mapping[str, Any]) -> OkPaySettings:
    """Build provider settings from an ``OKPAY_GATEWAY``-shaped mapping."""
    missing = [key for key in ("WALLET_ID", "API_PASSWORD") if not values.get(key)]
    if missing:
        raise ConfigurationError(
            f"{SETTINGS_NAME} is missing {', '.join(missing)}",
        )
    overrides = {
        field: values[key] for key, field in _PROVIDER_KEYS.items() if key in values
    }
    return OkPaySettings.for_environment(
        values.get("ENVIRONMENT", Environment.LIVE),
        wallet_id=values["WALLET_ID"],
        api_password=values["API_PASSWORD"],
        base_url=values.get("EMULATOR_URL"),
        **overrides,
    )


@lru_cache(maxsize=1)
def get_settings() -> OkPaySettings:
    """The shop-wide provider settings (standalone Django shops)."""
    return settings_from_mapping(raw_settings())


def setting(name: str, default: Any = None) -> Any:
    """One non-provider option of ``OKPAY_GATEWAY`` (e.g. ``DUNNING``)."""
    return raw_settings().get(name, default)


def decimal_setting(name: str, default: str | None = None) -> Decimal | None:
    value = setting(name, default)
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigurationError(f"{SETTINGS_NAME}[{name!r}] is not a number") from exc


@receiver(setting_changed)
def _forget_cached_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        get_settings.cache_clear()
