"""Dashboard tokens for the App's page tests, signed as Saleor signs them.

Saleor gives the Dashboard, for a staff user and an App, an RS256 JWT with
``type: thirdparty``, ``app`` (the App's global id), ``user_permissions``
(the staff user's permissions), ``permissions`` (the App's), ``email``,
``user_id``, ``is_staff``, ``iss``, ``iat`` and ``exp`` (seen from Saleor 3.24
in tests/saleor/test_dashboard_saleor.py); the stand-in's key signs it and its JWKS publishes the
public half.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.saleor_app.standin import APP_ID, SaleorStandIn, SigningKey

ALL = ["HANDLE_PAYMENTS", "MANAGE_ORDERS", "MANAGE_USERS"]


def signed_token(
    key: SigningKey,
    *,
    user_permissions: list[str] | None = None,
    expires_in: int = 300,
    **overrides: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + expires_in,
        "type": "thirdparty",
        "app": APP_ID,
        "user_permissions": ALL if user_permissions is None else user_permissions,
        "permissions": ALL,
        "is_staff": True,
        "email": "staff@example.com",
        "user_id": "VXNlcjox",
    }
    claims.update(overrides)
    return jwt.encode(claims, key.pem(), algorithm="RS256", headers={"kid": key.kid})


def staff_token(
    standin: SaleorStandIn, *, key: SigningKey | None = None, **claims: Any
) -> str:
    """A token as the stand-in Saleor issues it (signed with ``key`` if given)."""
    return signed_token(key or standin.key, **{"iss": standin.api_url, **claims})


def headers(standin: SaleorStandIn, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Saleor-Api-Url": standin.api_url}
