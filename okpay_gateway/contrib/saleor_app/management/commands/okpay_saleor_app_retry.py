"""``manage.py okpay_saleor_app_retry``: deliver what Saleor has not received yet."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from okpay_gateway.contrib.saleor_app.deliveries import deliver_all


class Command(BaseCommand):
    help = (
        "Send pending transactionEventReport calls, create pending renewal orders "
        "and store agreements on Saleor customers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, limit: int, **options):
        summary = deliver_all(limit=limit)
        self.stdout.write(str(summary))
        if summary.reports_pending or summary.orders_pending:
            raise SystemExit(1)
