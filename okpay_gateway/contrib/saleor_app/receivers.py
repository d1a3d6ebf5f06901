"""Core and billing signals the App answers (connected in ``apps.py``).

All of them are sent after the change committed, so what they read is the
recorded state; each one only writes an outbox row and tries to deliver it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from okpay_gateway import signals

from . import agreements, renewals, reports
from .handlers import AGREEMENT_INVOICE_PREFIX, PAYMENT_INVOICE_PREFIX
from .models import CustomerAgreement

logger = logging.getLogger(__name__)


@receiver(signals.payment_completed, dispatch_uid="okpay_saleor_app.completed")
@receiver(signals.payment_declined, dispatch_uid="okpay_saleor_app.declined")
def report_payment_outcome(*, payment: Any, **kwargs: Any) -> None:
    """The IPN, the return or the resolver settled a payment Saleor waits for."""
    if payment.invoice.startswith(PAYMENT_INVOICE_PREFIX):
        reports.report_outcome(payment)


@receiver(signals.contract_granted, dispatch_uid="okpay_saleor_app.granted")
def store_agreement_on_customer(*, contract: Any, **kwargs: Any) -> None:
    # Only agreements the App asked for wait to be written to a customer
    # (adopted ones are there already).
    if not contract.invoice.startswith(AGREEMENT_INVOICE_PREFIX):
        return
    link = (
        CustomerAgreement.objects.select_related("installation", "contract")
        .filter(contract_id=contract.pk)
        .first()
    )
    if link is not None:
        agreements.store_on_customer(link)


@receiver(signals.subscription_renewed, dispatch_uid="okpay_saleor_app.renewed")
def order_for_renewal(*, attempt: Any, **kwargs: Any) -> None:
    """A renewal charge completed: its paid Saleor order (created once)."""
    row = renewals.record_renewal(attempt)
    if row is not None:
        renewals.create_order(row)
