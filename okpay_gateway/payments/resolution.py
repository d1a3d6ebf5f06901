"""Resolving a charge whose outcome is unknown: ask OKPAY by the invoice.

A read timeout, a 5xx after sending or a crash leaves a payment ``SENDING``
or ``UNKNOWN``. Only OKPAY can say whether money moved: the transaction is
looked for first among the contract's operations
(``PreapprovedPayment_Get_Operations``) by the first word of its comment,
since ``PreapprovedPayment_Charge`` has no invoice parameter and OKPAY files
none on a charge; only then by invoice (``Transaction_Get``), which finds
payments made through a checkout link.

OKPAY itself does not stop a second charge: a re-sent charge request is
charged again. So a ``SENDING`` payment whose call may still be in flight
(:func:`sending_is_fresh`) must not be resolved as "not found".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from okpay_gateway import conf, exceptions
from okpay_gateway.models import Payment, PaymentEventKind, PaymentStatus
from okpay_gateway.payments.ledger import (
    CAPTURED_STATUSES,
    IN_FLIGHT_STATUSES,
    apply_transaction,
    client_for,
    lock_payment,
    logger,
    record_event,
)
from okpay_gateway.provider.messages import split_charge_comment
from okpay_gateway.provider.settings import OkPaySettings

__all__ = ["find_charge", "resolve_payment", "sending_is_fresh"]


def sending_is_fresh(payment: Payment, okpay_settings: OkPaySettings) -> bool:
    """Whether the payment's charge may still be in flight.

    Judged by the wall clock since the payment was marked ``SENDING`` (its
    ``sent_at``), against the client's timeouts plus
    ``sending_grace_seconds``: until then another worker's call may still
    reach OKPAY, and "not found" would not mean "not charged".
    """
    if payment.status != PaymentStatus.SENDING or payment.sent_at is None:
        return False
    budget = timedelta(
        seconds=okpay_settings.connect_timeout + okpay_settings.read_timeout
    )
    grace = timedelta(seconds=conf.options().sending_grace_seconds)
    return timezone.now() - payment.sent_at < budget + grace


def find_charge(payment: Payment, okpay_settings: OkPaySettings) -> Any | None:
    """OKPAY's transaction for the payment's invoice, or None if there is none.

    A payment on an agreement is looked for first among the agreement's
    operations (``PreapprovedPayment_Get_Operations``), where a charge carries
    the invoice as the first word of its comment
    (:func:`~okpay_gateway.provider.messages.charge_comment`); only then by
    invoice (``Transaction_Get``), which finds checkout-link payments.

    Raises :class:`ProviderError` when OKPAY cannot be asked.
    """
    client = client_for(okpay_settings)
    contract = payment.contract
    if contract is not None and contract.okpay_id is not None:
        for operation in client.preapproved_payment_get_operations(contract.okpay_id):
            if operation.invoice == payment.invoice or (
                split_charge_comment(operation.comment)[0] == payment.invoice
            ):
                if operation.amount != payment.amount:
                    # Our invoice, so our charge: it stands, but it is drift.
                    logger.warning(
                        "OKPAY charge %s for %s is %s, ours %s",
                        operation.id,
                        payment.invoice,
                        operation.amount,
                        payment.amount,
                        extra={"okpay_payment_id": payment.pk},
                    )
                return operation
    try:
        return client.transaction_get(invoice=payment.invoice)
    except exceptions.NotFound:
        return None


def resolve_payment(payment: Payment, *, okpay_settings: OkPaySettings) -> Payment:
    """Ask OKPAY what became of the payment's invoice and record the answer.

    Found and completed → ``COMPLETED`` (``charge_resolved`` event); not found
    → nothing moved, a ``SENDING``/``UNKNOWN`` payment goes back to
    ``PENDING``. When OKPAY cannot be reached the row is left unchanged.
    """
    if payment.status in CAPTURED_STATUSES:
        return payment
    try:
        txn = find_charge(payment, okpay_settings)
    except exceptions.ProviderError as exc:
        logger.warning(
            "OKPAY payment %s could not be resolved: %s",
            payment.invoice,
            exc.code,
            extra={"okpay_payment_id": payment.pk},
        )
        payment.refresh_from_db()
        return payment
    if txn is not None:
        return apply_transaction(
            payment.pk, txn, kind=PaymentEventKind.CHARGE_RESOLVED, source="resolve"
        )
    with transaction.atomic():
        locked = lock_payment(payment.pk)
        if locked.status in IN_FLIGHT_STATUSES:
            locked.status = PaymentStatus.PENDING
            locked.save(update_fields=["status", "updated_at"])
            record_event(
                PaymentEventKind.CHARGE_RESOLVED,
                payment=locked,
                detail={"outcome": "not_found"},
            )
        return locked
