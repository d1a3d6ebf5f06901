"""The staff user behind a Dashboard page: the token Saleor gave the Dashboard.

When a staff user opens an App page or extension, Saleor issues the Dashboard
a short-lived JWT for that user and App (``App.accessToken`` /
``AppExtension.accessToken``) and the Dashboard hands it to the iframe
through AppBridge. Our page's script sends it back as
``Authorization: Bearer <token>``. It is accepted only when:

* it is an RS256 JWT signed by a key of the installed Saleor's JWKS (the
  same cache as the webhooks' keys, refetched for an unknown ``kid``);
* ``exp`` is present and in the future;
* ``type`` is ``thirdparty`` (a token for an App, not the user's own login
  token) and ``app`` is this installation's App id: the token was minted for
  *this* App, which is what an audience check means for Saleor's tokens;
* ``user_permissions`` (the staff user's permissions) holds what the page
  needs (:data:`VIEW_PERMISSIONS`, :data:`ACT_PERMISSIONS`); where the token
  also lists the App's own (``permissions``, as Saleor 3.24 does), only
  permissions in both count: a page never does more than the App may.

The installation is the one named by the ``Saleor-Api-Url`` header (the page
script reads ``saleorApiUrl``, which newer Dashboards add to the iframe URL),
else by the token's ``iss`` (Saleor 3.24 puts its API URL there), else the
only one when a single Saleor installed the App; its keys then decide.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from django.http import HttpRequest

from .. import saleor_api, signatures
from ..models import Installation

logger = logging.getLogger(__name__)

VIEW_PERMISSIONS = frozenset({"HANDLE_PAYMENTS"})
ACT_PERMISSIONS = frozenset({"HANDLE_PAYMENTS", "MANAGE_ORDERS"})
TOKEN_TYPE = "thirdparty"
LEEWAY_SECONDS = 10


class Refused(Exception):
    """The page is not shown: ``status`` 401 (who?), 403 (not allowed), 503."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Staff:
    installation: Installation
    email: str
    user_id: str
    permissions: frozenset[str]
    expires_at: datetime
    # sha256 of the raw token: binds form tokens to it without storing it.
    token_digest: str

    def may(self, needed: frozenset[str]) -> bool:
        return needed <= self.permissions


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _issuer(token: str) -> str:
    # Unverified: only picks which installation's keys to verify with.
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return ""
    return str(claims.get("iss") or "")


def _installation(request: HttpRequest, token: str) -> Installation:
    api_url = request.headers.get("Saleor-Api-Url", "") or _issuer(token)
    if api_url:
        found = Installation.objects.filter(saleor_api_url=api_url).first()
    else:
        candidates = list(Installation.objects.all()[:2])
        found = candidates[0] if len(candidates) == 1 else None
    if found is None:
        raise Refused(401, "this Saleor has not installed the App")
    return found


def _verified_claims(installation: Installation, token: str) -> dict[str, Any]:
    """The token's claims once its signature and expiry check out; or Refused."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Refused(401, "the token is not a JWT") from exc
    if header.get("alg") != "RS256":
        raise Refused(401, "the token is not signed with RS256")
    try:
        key = signatures.signing_key(installation, header.get("kid"))
    except saleor_api.SaleorUnavailable as exc:
        logger.warning("Saleor JWKS unavailable for a Dashboard page: %s", exc)
        raise Refused(503, "Saleor's keys cannot be fetched right now") from exc
    if key is None:
        raise Refused(401, "the token is not signed by this Saleor")
    try:
        return jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            options={"require": ["exp"], "verify_aud": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Refused(401, "the token has expired: reload the page") from exc
    except jwt.InvalidTokenError as exc:
        raise Refused(401, "the token is not signed by this Saleor") from exc


def authenticate(request: HttpRequest, needed: frozenset[str]) -> Staff:
    """The verified staff user of ``request``, allowed ``needed``; or Refused."""
    token = _bearer(request)
    if not token:
        raise Refused(401, "no Dashboard token")
    installation = _installation(request, token)
    claims = _verified_claims(installation, token)
    if claims.get("type") != TOKEN_TYPE:
        raise Refused(401, "not a token issued for an App")
    if not installation.app_id or claims.get("app") != installation.app_id:
        raise Refused(401, "the token was issued for another App")
    permissions = claims.get("user_permissions")
    if not isinstance(permissions, list):
        raise Refused(401, "the token carries no permissions")
    granted = {str(name) for name in permissions}
    app_permissions = claims.get("permissions")
    if isinstance(app_permissions, list):
        granted &= {str(name) for name in app_permissions}
    staff = Staff(
        installation=installation,
        email=str(claims.get("email") or ""),
        user_id=str(claims.get("user_id") or ""),
        permissions=frozenset(granted),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        token_digest=hashlib.sha256(token.encode()).hexdigest(),
    )
    if not staff.may(needed):
        missing = ", ".join(sorted(needed - staff.permissions))
        raise Refused(403, f"your Saleor account lacks the permission {missing}")
    return staff
