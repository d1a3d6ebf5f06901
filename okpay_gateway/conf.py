"""Reading ``settings.OKPAY_GATEWAY``: provider settings and gateway options.

``OKPAY_GATEWAY`` holds two kinds of keys. The provider keys (wallet, password,
URLs, timeouts) become an :class:`OkPaySettings` (:func:`get_settings`, or per
channel :func:`settings_for_channel`); every other key is a field of the one
frozen :class:`GatewayOptions` (:func:`options`), with its default here and
nowhere else. Both are validated once, by the system checks
(:mod:`okpay_gateway.checks`), and read lazily: nothing is read at import
time, and both caches are forgotten when Django's ``setting_changed`` fires,
so ``override_settings`` works in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

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


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ConfigurationError(f"{SETTINGS_NAME}[{key!r}] is not a number")
    try:
        seconds = float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{SETTINGS_NAME}[{key!r}] is not a number") from exc
    if seconds < 0:
        raise ConfigurationError(f"{SETTINGS_NAME}[{key!r}] must not be negative")
    return seconds


def _seconds_list(value: Any, key: str) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
        raise ConfigurationError(
            f"{SETTINGS_NAME}[{key!r}] must be a non-empty list of seconds"
        )
    return tuple(_seconds(item, key) for item in value)


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{SETTINGS_NAME}[{key!r}] must be a positive integer")
    return value


def _text(value: Any, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigurationError(f"{SETTINGS_NAME}[{key!r}] must be a string")
    return value


def _whole(minimum: int) -> Callable[[Any, str], int]:
    def read(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigurationError(
                f"{SETTINGS_NAME}[{key!r}] must be a whole number of at least "
                f"{minimum}, not {value!r}"
            )
        return value

    return read


# The smallest IPN body cap that still fits a real IPN with room (a few KB).
MIN_IPN_BODY_BYTES = 4096


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{SETTINGS_NAME}[{key!r}] must be True or False")
    return value


def _optional_seconds(value: Any, key: str) -> float | None:
    return None if value is None else _seconds(value, key)


def _raw(value: Any, key: str) -> Any:
    # DUNNING is parsed by billing.dunning (the layer that owns the ladder);
    # billing's system check validates it.
    return value


@dataclass(frozen=True, slots=True)
class GatewayOptions:
    """Every non-provider key of ``OKPAY_GATEWAY``, typed, with its default.

    The field is the key in lower case (``RENEWAL_BATCH_SIZE`` →
    ``renewal_batch_size``). Durations are seconds, day counts days.
    """

    standalone: bool = True
    session_factory: str = ""
    settings_provider: str = ""
    public_url: str = ""
    email_from: str = ""
    agreement_renew_url: str = ""
    billing_emails: bool = True
    renewal_reminder_days: float = 3.0
    agreement_expiry_notice_days: float = 14.0
    dunning: Any = None
    renewal_lease_seconds: float = 600.0
    renewal_batch_size: int = 50
    renewal_fetch_available_amount: bool = False
    renewal_queue: str = ""
    resolver_backoff_seconds: tuple[float, ...] = (60.0, 300.0, 1800.0, 7200.0, 43200.0)
    resolver_sending_stale_seconds: float | None = None
    # A SENDING payment younger than the client's timeouts plus this margin
    # belongs to a call still running; older ones are a crashed attempt.
    sending_grace_seconds: float = 30.0
    reverify_delays: tuple[float, ...] = (
        60.0,
        300.0,
        900.0,
        1800.0,
        3600.0,
        7200.0,
        14400.0,
        28800.0,
        43200.0,
    )
    reverify_max_attempts: int = 20
    # Inbound IPN bodies above this many bytes are refused (413) before storing.
    ipn_max_body_bytes: int = 65536
    # Days junk IPN rows (malformed, invalid, ...) are kept (okpay_prune_ipns).
    ipn_retention_days: int = 30
    # Send the first payment as ok_item_1_* on pre-approved links so OKPAY's
    # approval page can show it. An assumption: OKPAY's guide names no such
    # variable for pre-approved links, so a merchant can turn it off.
    link_first_payment: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GatewayOptions:
        """Read and check the options; :class:`ConfigurationError` names the key."""
        found: dict[str, Any] = {}
        for option in fields(cls):
            key = option.name.upper()
            if key in values:
                found[option.name] = _READERS[option.name](values[key], key)
        return cls(**found)


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "standalone": _flag,
    "session_factory": _text,
    "settings_provider": _text,
    "public_url": _text,
    "email_from": _text,
    "agreement_renew_url": _text,
    "billing_emails": _flag,
    "renewal_reminder_days": _seconds,
    "agreement_expiry_notice_days": _seconds,
    "dunning": _raw,
    "renewal_lease_seconds": _seconds,
    "renewal_batch_size": _count,
    "renewal_fetch_available_amount": _flag,
    "renewal_queue": _text,
    "resolver_backoff_seconds": _seconds_list,
    "resolver_sending_stale_seconds": _optional_seconds,
    "sending_grace_seconds": _seconds,
    "reverify_delays": _seconds_list,
    "reverify_max_attempts": _count,
    # The minimum size is a startup check (E011), not a reading rule: tests
    # and tools may set a tiny cap on purpose.
    "ipn_max_body_bytes": _whole(1),
    "ipn_retention_days": _whole(0),
    "link_first_payment": _flag,
}


@lru_cache(maxsize=1)
def options() -> GatewayOptions:
    """The shop's :class:`GatewayOptions` (defaults when ``OKPAY_GATEWAY`` is unset)."""
    return GatewayOptions.from_mapping(raw_settings())


def setting(name: str, default: Any = None) -> Any:
    """One option by its ``OKPAY_GATEWAY`` key; new code reads :func:`options`.

    Known keys come from :class:`GatewayOptions` (checked, defaulted; an
    empty value gives ``default``); unknown keys as given.
    """
    field_name = name.lower()
    if field_name in _READERS:
        value = getattr(options(), field_name)
        return default if value in (None, "") else value
    return raw_settings().get(name, default)


# Provider settings per host channel, registered by adapters that know them
# (the Saleor plugin), so flows started by an IPN or a scheduler can find the
# wallet the contract belongs to.
_channel_settings: dict[str, OkPaySettings] = {}


def register_channel_settings(channel: str, okpay_settings: OkPaySettings) -> None:
    """Remember the provider settings used for ``channel`` (last one wins)."""
    _channel_settings[channel or ""] = okpay_settings


def settings_for_channel(channel: str = "") -> OkPaySettings:
    """The provider settings for ``channel``.

    In order: what a plugin instance registered in this process; what
    ``OKPAY_GATEWAY["SETTINGS_PROVIDER"]`` (a dotted path to
    ``callable(channel) -> OkPaySettings | None``) finds, for processes that
    never build a plugin themselves (Celery workers, ``okpay_renew``); the
    shop-wide ``OKPAY_GATEWAY``. The provider is asked every time, so a
    configuration saved elsewhere is seen at once.
    """
    registered = _channel_settings.get(channel or "")
    if registered is not None:
        return registered
    provider_path = options().settings_provider
    if provider_path:
        found = import_string(provider_path)(channel or "")
        if found is not None:
            return found  # type: ignore[no-any-return]
    return get_settings()


@receiver(setting_changed)
def _forget_cached_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        get_settings.cache_clear()
        options.cache_clear()
