"""Encryption at rest of the app tokens Saleor hands the App.

A token is a bearer credential for the shop's GraphQL API with the App's
permissions, so it is stored only as Fernet ciphertext (AES-128-CBC +
HMAC-SHA256) and decrypted when a call to Saleor needs it. The key is
``OKPAY_SALEOR_APP["TOKEN_KEY"]`` or, without one, derived from
``SECRET_KEY``: rotating either makes stored tokens unreadable (reinstall the
App, which registers a new token).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings as django_settings

from okpay_gateway.exceptions import ConfigurationError

from . import conf


def _fernet() -> Fernet:
    key = conf.setting("TOKEN_KEY")
    if not key:
        digest = hashlib.sha256(
            b"okpay-saleor-app-token:" + django_settings.SECRET_KEY.encode()
        ).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


def encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ConfigurationError(
            "a stored Saleor app token cannot be decrypted (TOKEN_KEY or "
            "SECRET_KEY changed?): reinstall the App"
        ) from exc
