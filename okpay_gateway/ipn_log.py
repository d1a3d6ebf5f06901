"""The stored IPN log: reading a request, one bounded row per distinct body, retention.

The webhook is public and unauthenticated, so what it may store is bounded:

* **Size cap.** ``OKPAY_GATEWAY["IPN_MAX_BODY_BYTES"]`` (default 64 KiB; a
  real IPN is a few KB, see ``okpay-ipn-links.md``). A request whose
  ``Content-Length`` (or body) is larger is answered 413 and stored as a row
  in state ``TOO_LARGE`` holding only its first
  :data:`OVERSIZE_PREFIX_BYTES` bytes, the full length in ``body_length`` and
  a ``too_large`` flag: the attempt is on record, its bulk is not.
* **One row per distinct request.** ``fingerprint`` is the SHA-256 of the
  channel, the content type and the body (for an oversized request: the kept
  prefix and the declared length), under a unique constraint. A repeat adds
  one to ``hit_count`` and moves ``last_seen_at``; it never adds a row.
* **Retention.** :func:`prune` (``manage.py okpay_prune_ipns``) deletes rows
  in :data:`PRUNABLE_STATES` (malformed, INVALID, duplicate, too large) last
  seen more than ``OKPAY_GATEWAY["IPN_RETENTION_DAYS"]`` days ago (default
  30). Rows that were applied, flagged for a human, or are still waiting
  (processed, ignored, flagged, retry, failed, received) are kept.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.utils import timezone

from okpay_gateway import conf
from okpay_gateway.models import Notification, NotificationState

# Defaults of the options, from GatewayOptions (one place).
DEFAULT_MAX_BODY_BYTES = conf.GatewayOptions().ipn_max_body_bytes
# What is kept of an oversized body: enough to see what it was.
OVERSIZE_PREFIX_BYTES = 1024
DEFAULT_RETENTION_DAYS = conf.GatewayOptions().ipn_retention_days
PRUNABLE_STATES = (
    NotificationState.MALFORMED,
    NotificationState.INVALID,
    NotificationState.DUPLICATE,
    NotificationState.TOO_LARGE,
)

# Header names containing any of these are never stored.
_SECRET_HEADER_WORDS = (
    "cookie",
    "authorization",
    "token",
    "secret",
    "password",
    "api-key",
    "apikey",
)
MAX_HEADER_VALUE_LENGTH = 1024
MAX_STORED_HEADERS = 60


def storable(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL text and JSON refuse.

    Everything copied from a message or a request into a row passes through
    here: a hostile body must not be able to make the row unsavable.
    """
    return text.replace("\x00", "\ufffd")


def max_body_bytes() -> int:
    """The body size cap in bytes (``OKPAY_GATEWAY["IPN_MAX_BODY_BYTES"]``)."""
    return conf.options().ipn_max_body_bytes


def retention_days() -> int:
    """Days rows in :data:`PRUNABLE_STATES` are kept (``IPN_RETENTION_DAYS``)."""
    return conf.options().ipn_retention_days


@dataclass(frozen=True, slots=True)
class Received:
    """What one request brought, read within the cap."""

    body: bytes
    body_length: int
    oversized: bool
    content_type: str
    headers: dict[str, str]
    remote_addr: str | None


def _selected_headers(request: HttpRequest) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if any(word in lowered for word in _SECRET_HEADER_WORDS):
            continue
        if len(kept) >= MAX_STORED_HEADERS:
            break
        kept[storable(name)] = storable(str(value)[:MAX_HEADER_VALUE_LENGTH])
    return kept


def _remote_addr(request: HttpRequest) -> str | None:
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _declared_length(request: HttpRequest) -> int | None:
    try:
        value = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return value if value >= 0 else None


def _read_prefix(request: HttpRequest) -> bytes:
    """The first bytes of a body we will not read in full."""
    try:
        return request.read(OVERSIZE_PREFIX_BYTES)
    except RawPostDataException:
        # Something upstream already read the body into memory.
        return bytes(request.body[:OVERSIZE_PREFIX_BYTES])


def read_request(request: HttpRequest, cap: int | None = None) -> Received:
    """The body (at most ``cap`` bytes read), headers and address of ``request``.

    A body over the cap is not read beyond :data:`OVERSIZE_PREFIX_BYTES`; the
    server drains the rest.
    """
    cap = max_body_bytes() if cap is None else cap
    declared = _declared_length(request)
    body: bytes
    if declared is not None and declared > cap:
        body, length, oversized = _read_prefix(request), declared, True
    else:
        try:
            body = bytes(request.body)
        except RequestDataTooBig:
            # Django's own limit is lower than ours.
            body, length, oversized = _read_prefix(request), declared or 0, True
        else:
            length = len(body)
            oversized = length > cap
            if oversized:
                body = body[:OVERSIZE_PREFIX_BYTES]
    return Received(
        body=body,
        body_length=length,
        oversized=oversized,
        content_type=storable(str(request.META.get("CONTENT_TYPE", "")))[:255],
        headers=_selected_headers(request),
        remote_addr=_remote_addr(request),
    )


def fingerprint(channel: str, received: Received) -> str:
    """The de-duplication key of a request: what makes two arrivals the same."""
    digest = hashlib.sha256()
    # An oversized request is told apart from a whole body with the same
    # bytes: raising the cap must not answer the next delivery from a refusal.
    parts = (
        channel,
        received.content_type,
        str(received.body_length),
        "head" if received.oversized else "whole",
    )
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    digest.update(received.body)
    return digest.hexdigest()


def new_row(received: Received, *, channel: str, now: datetime) -> Notification:
    """An unsaved row for ``received`` (the pipeline adds the parsed fields)."""
    channel = (channel or "")[:100]
    return Notification(
        body=received.body,
        body_length=received.body_length,
        content_type=received.content_type,
        headers=received.headers,
        remote_addr=received.remote_addr,
        received_at=now,
        last_seen_at=now,
        channel=channel,
        fingerprint=fingerprint(channel, received),
    )


def insert(row: Notification) -> bool:
    """INSERT ``row`` (one statement); False when its fingerprint is already stored.

    Outside a transaction the failed INSERT costs nothing more; inside one
    (tests, ``ATOMIC_REQUESTS``) a savepoint keeps the caller's transaction
    usable on PostgreSQL.
    """
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        if row.fingerprint is None:
            raise
        row.pk = None
        return False
    return True


def record_repeat(fingerprint_: str, now: datetime) -> Notification | None:
    """Count one more arrival of a stored request; the stored row (None if pruned)."""
    Notification.objects.filter(fingerprint=fingerprint_).update(
        hit_count=F("hit_count") + 1, last_seen_at=now
    )
    # The fingerprint is unique: no ORDER BY to build.
    found = Notification.objects.filter(fingerprint=fingerprint_).order_by()
    return next(iter(found), None)


def claim(row: Notification, *, from_state: str, **changes: object) -> bool:
    """Move ``row`` out of ``from_state`` if nobody else did first (compare-and-set).

    The one way a stored row is taken up again (redelivery, re-verification,
    the admin's actions), so two of them never run the same row at once.
    """
    taken = Notification.objects.filter(pk=row.pk, state=from_state).update(**changes)
    if taken:
        for name, value in changes.items():
            setattr(row, name, value)
    return bool(taken)


def prune(
    now: datetime | None = None, *, days: int | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Delete rows in :data:`PRUNABLE_STATES` last seen ``days`` ago or earlier.

    Returns the number of rows per state deleted (or that would be, with
    ``dry_run``). Such rows own no de-duplication keys, so nothing else goes
    with them.
    """
    now = now or timezone.now()
    days = retention_days() if days is None else days
    cutoff = now - timedelta(days=days)
    old = Notification.objects.filter(state__in=PRUNABLE_STATES).filter(
        Q(last_seen_at__lt=cutoff)
        | Q(last_seen_at__isnull=True, received_at__lt=cutoff)
    )
    counts: dict[str, int] = {}
    for state in PRUNABLE_STATES:
        rows = old.filter(state=state)
        count = rows.count() if dry_run else rows.delete()[0]
        if count:
            counts[str(state)] = count
    return counts


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_RETENTION_DAYS",
    "OVERSIZE_PREFIX_BYTES",
    "PRUNABLE_STATES",
    "Received",
    "claim",
    "fingerprint",
    "insert",
    "max_body_bytes",
    "new_row",
    "prune",
    "read_request",
    "record_repeat",
    "retention_days",
    "storable",
]
