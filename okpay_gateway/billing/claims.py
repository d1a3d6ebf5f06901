"""Due selection and the short lease (``claim_token``/``claimed_until``).

A batch is claimed with one statement::

    UPDATE subscription SET claim_token = ..., claimed_until = ..., last_run_id = ...
    WHERE id IN (SELECT id ... due, lease free ... ORDER BY id LIMIT n
                 FOR UPDATE SKIP LOCKED)
    RETURNING id

On PostgreSQL ``SKIP LOCKED`` lets parallel workers take disjoint batches
without waiting for each other. SQLite has no row locks, but it runs one
writer at a time, so the same statement without the locking clause is just
as exclusive. The lease, not a long transaction, protects the subscription
while the SOAP call runs, because the charge attempt must be committed
*before* the call. One token names the claimer of a whole batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q

from okpay_gateway.billing.config import DEFAULT_BATCH_SIZE, DEFAULT_LEASE
from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.enums import LIVE_SUBSCRIPTION_STATUSES
from okpay_gateway.models import RenewalRun, Subscription

__all__ = [
    "claim_next_batch",
    "claim_subscriptions",
    "count_due",
    "due_subscriptions",
    "iter_due_ids",
    "release",
]


def due_subscriptions(now: datetime) -> Any:
    """Live subscriptions whose next step is due at ``now`` and not leased."""
    return Subscription.objects.filter(
        status__in=LIVE_SUBSCRIPTION_STATUSES, next_charge_at__lte=now
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))


def count_due(now: datetime) -> int:
    return int(due_subscriptions(to_utc(now, "now")).count())


def iter_due_ids(
    now: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE, limit: int | None = None
) -> Iterator[list[int]]:
    """Due subscription IDs in pk order, ``batch_size`` at a time (keyset pages).

    Memory stays flat however many are due: only one page is held.
    """
    now = to_utc(now, "now")
    last = 0
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        page = list(
            due_subscriptions(now)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not page:
            return
        yield page
        last = page[-1]
        if remaining is not None:
            remaining -= len(page)


def claim_next_batch(
    now: datetime,
    *,
    size: int,
    run: RenewalRun | None = None,
    lease: timedelta = DEFAULT_LEASE,
    only_ids: list[int] | None = None,
) -> list[tuple[int, str]]:
    """Lease up to ``size`` due subscriptions in one statement; ``[(id, token)]``.

    With ``run`` a subscription already taken by that run is not taken again.
    ``only_ids`` restricts the claim to those IDs (Celery batches).
    """
    now = to_utc(now, "now")
    if size <= 0 or only_ids == []:
        return []
    table = connection.ops.quote_name(Subscription._meta.db_table)
    statuses = [str(s) for s in LIVE_SUBSCRIPTION_STATUSES]
    token = uuid.uuid4().hex
    where = [
        f"status IN ({', '.join(['%s'] * len(statuses))})",
        "next_charge_at <= %s",
        "(claimed_until IS NULL OR claimed_until <= %s)",
    ]
    params: list[Any] = [*statuses, now, now]
    if run is not None:
        where.append("(last_run_id IS NULL OR last_run_id <> %s)")
        params.append(run.pk)
    if only_ids is not None:
        where.append(f"id IN ({', '.join(['%s'] * len(only_ids))})")
        params.extend(only_ids)
    locking = (
        " FOR UPDATE SKIP LOCKED"
        if connection.features.has_select_for_update_skip_locked
        else ""
    )
    sql = (
        f"UPDATE {table} SET claim_token = %s, claimed_until = %s, last_run_id = %s "
        f"WHERE id IN (SELECT id FROM {table} WHERE {' AND '.join(where)} "
        f"ORDER BY id LIMIT %s{locking}) RETURNING id"
    )
    claimed_until = now + lease
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                token,
                _db_datetime(claimed_until),
                run.pk if run else None,
                *[_db_datetime(p) if isinstance(p, datetime) else p for p in params],
                size,
            ],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    return [(pk, token) for pk in ids]


def _db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def claim_subscriptions(
    ids: list[int],
    now: datetime,
    *,
    run: RenewalRun | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> list[tuple[int, str]]:
    """Lease exactly these subscriptions when they are due and free."""
    return claim_next_batch(now, size=len(ids), run=run, lease=lease, only_ids=ids)


def release(claimed: list[tuple[int, str]]) -> None:
    """Give the leases back (one statement per token)."""
    by_token: dict[str, list[int]] = {}
    for pk, token in claimed:
        by_token.setdefault(token, []).append(pk)
    for token, ids in by_token.items():
        Subscription.objects.filter(pk__in=ids, claim_token=token).update(
            claim_token="", claimed_until=None
        )
