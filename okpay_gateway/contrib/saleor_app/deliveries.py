"""One pass over everything the App still owes Saleor.

Run by ``okpay_saleor_app_retry`` and the Celery task: undelivered
``transactionEventReport`` calls, renewal orders not yet paid in Saleor, and
agreements not yet written to their customer's private metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import agreements, renewals, reports
from .models import CustomerAgreement


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    reports_delivered: int
    reports_pending: int
    orders_paid: int
    orders_pending: int
    agreements_stored: int

    def __str__(self) -> str:
        return (
            f"reports delivered {self.reports_delivered}, pending "
            f"{self.reports_pending}; renewal orders paid {self.orders_paid}, pending "
            f"{self.orders_pending}; agreements stored on customers "
            f"{self.agreements_stored}"
        )


def deliver_all(*, limit: int = 100) -> DeliverySummary:
    delivered, pending = reports.deliver_due(limit=limit)
    paid, orders_pending = renewals.create_due(limit=limit)
    stored = 0
    waiting = CustomerAgreement.objects.select_related(
        "installation", "contract"
    ).filter(stored_on_customer=False, contract__okpay_id__isnull=False)
    for link in waiting[:limit]:
        if agreements.store_on_customer(link):
            stored += 1
    return DeliverySummary(delivered, pending, paid, orders_pending, stored)
