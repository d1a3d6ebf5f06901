"""System checks of the Saleor App's settings (``okpay_saleor_app.E1xx``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import Error

from . import conf

TAG = "okpay_saleor_app"


def check_app_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    app_url = str(conf.setting("APP_URL") or "")
    parts = urlsplit(app_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(
            Error(
                "OKPAY_SALEOR_APP['APP_URL'] must be the absolute URL where the "
                "App's urls are mounted.",
                id="okpay_saleor_app.E101",
            )
        )
    allowed = conf.setting("ALLOWED_SALEOR_URLS")
    if not isinstance(allowed, list | tuple) or not allowed:
        errors.append(
            Error(
                "OKPAY_SALEOR_APP['ALLOWED_SALEOR_URLS'] must list the Saleor API "
                "URLs allowed to install the App.",
                id="okpay_saleor_app.E102",
            )
        )
    key = conf.setting("TOKEN_KEY")
    if key:
        from cryptography.fernet import Fernet

        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    "OKPAY_SALEOR_APP['TOKEN_KEY'] is not a Fernet key "
                    "(Fernet.generate_key()).",
                    id="okpay_saleor_app.E103",
                )
            )
    for name in ("CONNECT_TIMEOUT", "READ_TIMEOUT"):
        try:
            valid = float(conf.setting(name)) > 0
        except (TypeError, ValueError):
            valid = False
        if not valid:
            errors.append(
                Error(
                    f"OKPAY_SALEOR_APP['{name}'] must be a positive number of seconds.",
                    id="okpay_saleor_app.E104",
                )
            )
    from .dashboard.frames import check_origins

    errors.extend(check_origins())
    return errors
