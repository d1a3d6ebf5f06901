"""Celery task (extra ``celery``): ``okpay_gateway.contrib.saleor_app.tasks.deliver``.

Schedule it with beat every minute or so; it is safe to run on any number of
workers (reports and renewal orders are keyed and idempotent).
"""

from __future__ import annotations

from celery import shared_task

from .deliveries import deliver_all


@shared_task(name="okpay_gateway.contrib.saleor_app.tasks.deliver")
def deliver() -> str:
    return str(deliver_all())
