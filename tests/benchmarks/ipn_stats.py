"""``GET bench/stats``: what the shop stored, so ``bench_ipn.py`` can check its figures.

Counts of webhook rows by state and verification, floor rows by OKPAY's
answer, and payments by status. Part of the benchmark shop only.
"""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, JsonResponse

from okpay_gateway.models import Notification, Payment, ProcessedEvent
from tests.benchmarks.ipn_floor import FLOOR_CHANNEL


def _counts(queryset, field: str) -> dict[str, int]:
    rows = queryset.values(field).annotate(n=Count("pk")).order_by(field)
    return {str(row[field]): row["n"] for row in rows}


def stats_view(request: HttpRequest) -> JsonResponse:
    """Row counts of the benchmark shop's database."""
    webhook = Notification.objects.exclude(channel=FLOOR_CHANNEL)
    floor = Notification.objects.filter(channel=FLOOR_CHANNEL)
    return JsonResponse(
        {
            "webhook_states": _counts(webhook, "state"),
            "webhook_verification": _counts(webhook, "verification"),
            "floor_answers": _counts(floor, "verification_answer"),
            "payments": _counts(Payment.objects.all(), "status"),
            "processed_events": ProcessedEvent.objects.count(),
        }
    )
