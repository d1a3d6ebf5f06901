"""Reporting payment outcomes to Saleor with ``transactionEventReport``.

An outcome becomes an :class:`EventReport` row (unique key
``<payment invoice>:<event type>``) before anything is sent. Whoever learns
the outcome first — the IPN, the customer's return, the resolver, a
``transactionProcess`` — calls :func:`report_outcome`; the unique key lets
only one row exist, so Saleor hears it once. Delivery failures leave the row
pending with a back-off; :func:`deliver_due` (``okpay_saleor_app_retry``,
Celery) sends them again. Reporting never charges: it only reads the
payment's recorded state.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from okpay_gateway.models import Payment, PaymentStatus

from . import conf, documents, saleor_api
from .models import EventReport, OutboxStatus, TransactionLink

logger = logging.getLogger(__name__)

CHARGE_SUCCESS = "CHARGE_SUCCESS"
CHARGE_FAILURE = "CHARGE_FAILURE"


def outcome_type(payment: Payment) -> str | None:
    """The Saleor event type a payment's final state stands for, if final."""
    if payment.status in (
        PaymentStatus.COMPLETED,
        PaymentStatus.REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
    ):
        return CHARGE_SUCCESS
    if payment.status in (PaymentStatus.DECLINED, PaymentStatus.CANCELED):
        return CHARGE_FAILURE
    return None


def psp_reference(payment: Payment) -> str:
    """OKPAY's transaction id once there is one, else our invoice."""
    return str(payment.okpay_txn_id) if payment.okpay_txn_id else payment.invoice


def report_key(payment: Payment, event_type: str) -> str:
    return f"{payment.invoice}:{event_type}"


def claim(
    link: TransactionLink,
    payment: Payment,
    event_type: str,
    *,
    delivered: bool = False,
    message: str = "",
) -> tuple[EventReport, bool]:
    """The report row of this outcome, created if new (returns it, created).

    ``delivered`` marks an outcome that travels in a webhook's own answer.
    """
    values = {
        "link": link,
        "event_type": event_type,
        "amount": payment.amount,
        "psp_reference": psp_reference(payment),
        "message": message[:255],
    }
    if delivered:
        values.update(status=OutboxStatus.DELIVERED, delivered_at=timezone.now())
    key = report_key(payment, event_type)
    try:
        with transaction.atomic():
            return EventReport.objects.create(key=key, **values), True
    except IntegrityError:
        return EventReport.objects.get(key=key), False


def report_outcome(payment: Payment) -> EventReport | None:
    """Record the payment's outcome for Saleor (once) and try to send it."""
    link = (
        TransactionLink.objects.select_related("installation")
        .filter(payment_id=payment.pk)
        .first()
    )
    if link is None:
        return None
    payment = Payment.objects.get(pk=payment.pk)
    event_type = outcome_type(payment)
    if event_type is None:
        return None
    message = ""
    if event_type == CHARGE_FAILURE:
        from okpay_gateway.payments import decline_message

        message = decline_message(payment.decline_code)
    report, _ = claim(link, payment, event_type, message=message)
    if report.status == OutboxStatus.PENDING:
        deliver(report)
    return report


def deliver(report: EventReport) -> bool:
    """Send one pending report; returns whether Saleor has it now."""
    with transaction.atomic():
        locked = (
            EventReport.objects.select_for_update()
            .select_related("link__installation")
            .get(pk=report.pk)
        )
        if locked.status == OutboxStatus.DELIVERED:
            return True
        link = locked.link
        installation = link.installation
        try:
            payload = saleor_api.mutate(
                installation.saleor_api_url,
                installation.token,
                documents.TRANSACTION_EVENT_REPORT,
                "transactionEventReport",
                {
                    "id": link.saleor_transaction_id,
                    "type": locked.event_type,
                    "amount": str(locked.amount),
                    "pspReference": locked.psp_reference,
                    "message": locked.message or None,
                },
            )
        except (saleor_api.SaleorUnavailable, saleor_api.SaleorError) as exc:
            locked.attempts += 1
            locked.last_error = str(exc)[:255]
            locked.next_attempt_at = timezone.now() + timedelta(
                seconds=conf.retry_delay(locked.attempts)
            )
            locked.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            logger.warning("Saleor report %s not delivered: %s", locked.key, exc)
            return False
        locked.attempts += 1
        locked.status = OutboxStatus.DELIVERED
        locked.delivered_at = timezone.now()
        locked.last_error = ""
        locked.save(update_fields=["attempts", "status", "delivered_at", "last_error"])
    logger.info(
        "Saleor report %s delivered (already processed: %s)",
        locked.key,
        bool(payload.get("alreadyProcessed")),
    )
    report.status = locked.status
    return True


def deliver_due(*, now=None, limit: int = 100) -> tuple[int, int]:
    """Send pending reports whose back-off has passed: (delivered, still pending)."""
    now = now or timezone.now()
    due = EventReport.objects.filter(status=OutboxStatus.PENDING).filter(
        next_attempt_at__isnull=True
    ) | EventReport.objects.filter(
        status=OutboxStatus.PENDING, next_attempt_at__lte=now
    )
    delivered = failed = 0
    for report in due.order_by("pk")[:limit]:
        if deliver(report):
            delivered += 1
        else:
            failed += 1
    return delivered, failed
