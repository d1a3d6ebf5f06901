"""Resolving a charge whose outcome is unknown: ask OKPAY by the invoice.

A read timeout, a 5xx after sending or a crash leaves a payment ``SENDING``
or ``UNKNOWN``. Only OKPAY can say whether money moved: the transaction is
looked up by invoice (``Transaction_Get``) and, since real OKPAY files a
charge's invoice only in its comment, among the contract's operations
(``PreapprovedPayment_Get_Operations``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from okpay_gateway import exceptions
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
from okpay_gateway.provider.settings import OkPaySettings

__all__ = ["resolve_payment"]


def _find_charge(payment: Payment, okpay_settings: OkPaySettings) -> Any | None:
    """OKPAY's transaction for the payment's invoice, or None if there is none.

    Raises :class:`ProviderError` when OKPAY cannot be asked.
    """
    client = client_for(okpay_settings)
    try:
        return client.transaction_get(invoice=payment.invoice)
    except exceptions.NotFound:
        pass
    contract = payment.contract
    if contract is None or contract.okpay_id is None:
        return None
    # Charges carry their invoice at the front of the comment; a provider that
    # does not file it as the transaction's Invoice still lists it here.
    for operation in client.preapproved_payment_get_operations(contract.okpay_id):
        words = (operation.comment or "").split()
        if operation.invoice == payment.invoice or (
            words and words[0] == payment.invoice
        ):
            return operation
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
        txn = _find_charge(payment, okpay_settings)
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
