"""Dashboard tokens for the App's page tests, signed as Saleor signs them.

Saleor gives the Dashboard, for a staff user and an App, an RS256 JWT with
``type: thirdparty``, ``app`` (the App's global id), ``user_permissions``
(the user's permissions intersected with the App's), ``email``, ``user_id``,
``iat`` and ``exp``; the stand-in's key signs it and its JWKS publishes the
public half.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.saleor_app.standin import APP_ID, SaleorStandIn, SigningKey

ALL = ["HANDLE_PAYMENTS", "MANAGE_ORDERS", "MANAGE_USERS"]


def staff_token(
    standin: SaleorStandIn,
    *,
    permissions: list[str] | None = None,
    expires_in: int = 300,
    key: SigningKey | None = None,
    **overrides: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + expires_in,
        "type": "thirdparty",
        "app": APP_ID,
        "user_permissions": ALL if permissions is None else permissions,
        "email": "staff@example.com",
        "user_id": "VXNlcjox",
        "iss": standin.api_url,
    }
    claims.update(overrides)
    signer = key or standin.key
    return jwt.encode(
        claims, signer.pem(), algorithm="RS256", headers={"kid": signer.kid}
    )


def headers(standin: SaleorStandIn, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Saleor-Api-Url": standin.api_url}
