"""Verifying the ``Saleor-Signature`` of a webhook.

Saleor signs every webhook with a detached JWS: ``<header>..<signature>``,
header ``{"alg": "RS256", "b64": false, "crit": ["b64"], "kid": ...}``
(RFC 7797: the payload is not base64-encoded), so the signed input is
``base64url(header) + "." + raw body``. The public keys are the instance's
``/.well-known/jwks.json``; they are cached on the :class:`Installation` and
fetched again (once per webhook, and at most every
``JWKS_MIN_REFRESH_SECONDS``) when a signature names a ``kid`` the cache does
not hold, which is how a key rotation shows.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

import jwt
from django.db import transaction
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from . import conf, saleor_api
from .models import Installation

logger = logging.getLogger(__name__)


class BadSignature(Exception):
    """The webhook is not signed by the installation's Saleor (401)."""


def _b64decode(segment: str) -> bytes:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise BadSignature("signature is not base64url") from exc


def _parse(signature: str) -> tuple[str, dict[str, Any], bytes]:
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise BadSignature("not a detached JWS")
    try:
        header = json.loads(_b64decode(parts[0]))
    except ValueError as exc:
        raise BadSignature("JWS header is not JSON") from exc
    if not isinstance(header, dict):
        raise BadSignature("JWS header is not an object")
    if header.get("alg") != "RS256":
        raise BadSignature(f"unexpected algorithm {header.get('alg')!r}")
    if header.get("b64") is not False or "b64" not in (header.get("crit") or []):
        raise BadSignature("the JWS must use an unencoded payload (b64=false)")
    return parts[0], header, _b64decode(parts[2])


def _key_for(keys: dict[str, Any], kid: str | None) -> Any | None:
    candidates = [
        key
        for key in keys.get("keys", [])
        if isinstance(key, dict) and key.get("kty") == "RSA"
    ]
    if kid is not None:
        candidates = [key for key in candidates if key.get("kid") == kid]
    elif len(candidates) != 1:
        return None
    if not candidates:
        return None
    try:
        return RSAAlgorithm.from_jwk(json.dumps(candidates[0]))
    except (jwt.InvalidKeyError, ValueError, KeyError):
        return None


def _may_refresh(installation: Installation) -> bool:
    # Unknown kids are cheap to forge; without a pause each one would make us
    # fetch Saleor's JWKS again.
    fetched = installation.jwks_fetched_at
    pause = float(conf.setting("JWKS_MIN_REFRESH_SECONDS"))
    return (
        not installation.jwks
        or fetched is None
        or (timezone.now() - fetched).total_seconds() >= pause
    )


def _refresh_keys(installation: Installation) -> dict[str, Any]:
    keys = saleor_api.fetch_jwks(installation.saleor_api_url)
    with transaction.atomic():
        Installation.objects.filter(pk=installation.pk).update(
            jwks=keys, jwks_fetched_at=timezone.now()
        )
    installation.jwks = keys
    return keys


def signing_key(installation: Installation, kid: str | None) -> Any | None:
    """The installation's public key ``kid`` (cached JWKS, refetched if unknown).

    Also used for the Dashboard's tokens (``dashboard.auth``): one cache, one
    refetch pause. Raises :class:`saleor_api.SaleorUnavailable` when the keys
    must be fetched and cannot be.
    """
    keys = installation.jwks or {}
    public_key = _key_for(keys, kid) if keys else None
    if public_key is None and _may_refresh(installation):
        public_key = _key_for(_refresh_keys(installation), kid)
    return public_key


def verify(installation: Installation, signature: str, body: bytes) -> None:
    """Raise :class:`BadSignature` unless ``signature`` signs ``body``.

    Raises :class:`saleor_api.SaleorUnavailable` when the keys are needed and
    cannot be fetched (the caller answers 5xx: Saleor may retry).
    """
    if not signature:
        raise BadSignature("no Saleor-Signature header")
    header_segment, header, raw_signature = _parse(signature)
    kid = header.get("kid")
    public_key = signing_key(installation, kid)
    if public_key is None:
        raise BadSignature(f"no key {kid!r} in the Saleor JWKS")
    signing_input = header_segment.encode("ascii") + b"." + body
    if not RSAAlgorithm(RSAAlgorithm.SHA256).verify(
        signing_input, public_key, raw_signature
    ):
        raise BadSignature("signature does not match the body")
