"""Registers the renewal tasks on Saleor's Celery app.

Saleor's ``celeryconf`` autodiscovers ``tasks`` modules of its plugins'
packages, so a worker started with ``celery -A saleor.celeryconf:app worker``
knows ``okpay_gateway.billing.tasks.*`` without any project setting.
"""

from __future__ import annotations

from okpay_gateway.billing.tasks import (
    renew_due_subscriptions,
    renew_subscriptions_batch,
    resolve_unknown_charges,
    send_billing_notices,
)

__all__ = [
    "renew_due_subscriptions",
    "renew_subscriptions_batch",
    "resolve_unknown_charges",
    "send_billing_notices",
]
