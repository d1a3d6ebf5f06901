"""Calls to a Saleor instance: GraphQL with the app token, and its JWKS.

One ``requests.Session`` per process (``OKPAY_SALEOR_APP["SESSION_FACTORY"]``
may provide it), explicit connect and read timeouts on every call. Failures
are two exceptions: :class:`SaleorUnavailable` (nothing usable came back:
connection refused, timeout, 5xx, not JSON — try again later) and
:class:`SaleorError` (Saleor answered and refused: GraphQL or mutation
errors). The token never appears in a message or a log line.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.utils.module_loading import import_string

from . import conf

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_session: requests.Session | None = None


class SaleorUnavailable(Exception):
    """Saleor could not be reached or gave no usable answer; retry later."""


class SaleorError(Exception):
    """Saleor answered with errors."""

    def __init__(self, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def http_session() -> requests.Session:
    global _session
    with _lock:
        if _session is None:
            factory = conf.setting("SESSION_FACTORY")
            _session = import_string(factory)() if factory else requests.Session()
        return _session


def reset() -> None:
    global _session
    with _lock:
        _session = None


def jwks_url(api_url: str) -> str:
    """``/.well-known/jwks.json`` on the Saleor host of ``api_url``."""
    parts = urlsplit(api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/.well-known/jwks.json", "", ""))


def fetch_jwks(api_url: str) -> dict[str, Any]:
    url = jwks_url(api_url)
    try:
        response = http_session().get(url, timeout=conf.timeouts())
    except requests.RequestException as exc:
        raise SaleorUnavailable(f"JWKS {url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise SaleorUnavailable(f"JWKS {url}: HTTP {response.status_code}")
    try:
        keys = response.json()
    except ValueError as exc:
        raise SaleorUnavailable(f"JWKS {url}: not JSON") from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise SaleorUnavailable(f"JWKS {url}: no key list")
    return keys


def execute(
    api_url: str, token: str, document: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run ``document`` with the app (or staff) ``token``; returns ``data``."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = http_session().post(
            api_url,
            json={"query": document, "variables": variables or {}},
            headers=headers,
            timeout=conf.timeouts(),
        )
    except requests.RequestException as exc:
        raise SaleorUnavailable(f"{api_url}: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise SaleorUnavailable(f"{api_url}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise SaleorUnavailable(
            f"{api_url}: HTTP {response.status_code}, not JSON"
        ) from exc
    if body.get("errors"):
        first = body["errors"][0]
        message = first.get("message", "") if isinstance(first, dict) else str(first)
        raise SaleorError(f"GraphQL error: {message}"[:250], body["errors"])
    if response.status_code != 200 or not isinstance(body.get("data"), dict):
        raise SaleorError(f"{api_url}: HTTP {response.status_code} without data")
    return body["data"]


def mutate(
    api_url: str,
    token: str,
    document: str,
    field: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run a mutation and return its payload; its ``errors`` raise SaleorError."""
    payload = execute(api_url, token, document, variables).get(field) or {}
    if payload.get("errors"):
        errors = payload["errors"]
        text = "; ".join(
            f"{error.get('field') or ''} {error.get('code') or ''} "
            f"{error.get('message') or ''}".strip()
            for error in errors
        )
        raise SaleorError(f"{field}: {text}"[:250], errors)
    return payload
