"""Where the Django layers get their OKPAY client and HTTP session from.

One :class:`OkPayClient` per distinct :class:`OkPaySettings` (per Saleor
channel, say) and one shared ``requests.Session`` for postbacks. The session
comes from ``OKPAY_GATEWAY["SESSION_FACTORY"]`` (a dotted path to a
zero-argument callable) when set: tests and the demo use it to mount the
in-process emulator; production leaves it unset.
"""

from __future__ import annotations

import threading

import requests
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from okpay_gateway.conf import SETTINGS_NAME, options
from okpay_gateway.provider.client import OkPayClient
from okpay_gateway.provider.settings import OkPaySettings

_lock = threading.Lock()
_clients: dict[OkPaySettings, OkPayClient] = {}
_session: requests.Session | None = None


def http_session() -> requests.Session:
    """The shared session for SOAP calls and IPN postbacks."""
    global _session
    with _lock:
        if _session is None:
            factory_path = options().session_factory
            _session = (
                import_string(factory_path)() if factory_path else requests.Session()
            )
        return _session


def client_for(okpay_settings: OkPaySettings) -> OkPayClient:
    """The cached client for these settings."""
    session = http_session()
    with _lock:
        client = _clients.get(okpay_settings)
        if client is None:
            client = OkPayClient(settings=okpay_settings, session=session)
            _clients[okpay_settings] = client
        return client


def reset() -> None:
    """Forget cached clients and the session (settings changed, tests)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if setting == SETTINGS_NAME:
        reset()
