"""``GET bench/stats``: what the shop stored, so ``bench_ipn.py`` can check its figures.

Counts of webhook rows by state and verification, floor rows by OKPAY's
answer, django-paypal's rows, payments and contracts by status, and the
database's size on disk. Part of the benchmark shop only.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, JsonResponse

from okpay_gateway.models import Contract, Notification, Payment, ProcessedEvent
from tests.benchmarks import ipn_statements
from tests.benchmarks.ipn_floor import FLOOR_CHANNEL


def _counts(queryset, field: str) -> dict[str, int]:
    rows = queryset.values(field).annotate(n=Count("pk")).order_by(field)
    return {str(row[field]): row["n"] for row in rows}


def _database_bytes() -> int:
    """The database's size on disk (PostgreSQL: this database; SQLite: the file)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        # Fold the WAL into the file first, so the pages are counted once.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA page_count")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_size")
        return pages * int(cursor.fetchone()[0])


def _paypal_counts() -> dict[str, int]:
    try:
        from paypal.standard.ipn.models import PayPalIPN
    except ImportError:
        return {}
    rows = PayPalIPN.objects.values("flag", "response").annotate(n=Count("pk"))
    return {
        f"{'flagged' if row['flag'] else 'ok'}:{row['response']}": row["n"]
        for row in rows.order_by("flag", "response")
    }


def stats_view(request: HttpRequest) -> JsonResponse:
    """Row counts of the benchmark shop's database, and its size."""
    webhook = Notification.objects.exclude(channel=FLOOR_CHANNEL)
    floor = Notification.objects.filter(channel=FLOOR_CHANNEL)
    return JsonResponse(
        {
            "webhook_states": _counts(webhook, "state"),
            "webhook_verification": _counts(webhook, "verification"),
            "webhook_rows": webhook.count(),
            "webhook_arrivals": sum(webhook.values_list("hit_count", flat=True)),
            "floor_answers": _counts(floor, "verification_answer"),
            "payments": _counts(Payment.objects.all(), "status"),
            "contracts": _counts(Contract.objects.all(), "status"),
            "processed_events": ProcessedEvent.objects.count(),
            "paypal": _paypal_counts(),
            "database_bytes": _database_bytes(),
            "sql": ipn_statements.snapshot(),
        }
    )
