"""The payments ledger: statuses, ledger events and recording outcomes.

Every change of a ``Payment`` is made on its locked row and leaves an
append-only ``PaymentEvent``; signals go out with ``transaction.on_commit``.
The charging, agreement and refund modules build on these helpers; nothing
here talks to OKPAY except through the client handed in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from okpay_gateway import clients, exceptions, signals
from okpay_gateway.bulk import update_rows
from okpay_gateway.models import (
    Contract,
    Payment,
    PaymentEvent,
    PaymentEventKind,
    PaymentStatus,
)
from okpay_gateway.provider.settings import OkPaySettings

logger = logging.getLogger("okpay_gateway.payments")

ZERO = Decimal("0.00")

FINAL_PAYMENT_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.CANCELED,
)
CAPTURED_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)
WAITING_STATUSES = (PaymentStatus.ACTION_REQUIRED, PaymentStatus.PENDING)
IN_FLIGHT_STATUSES = (PaymentStatus.SENDING, PaymentStatus.UNKNOWN)

# The provider faults that mean "OKPAY refused this charge, nothing moved".
DECLINE_FAULTS: tuple[type[exceptions.ProviderFault], ...] = (
    exceptions.InsufficientFunds,
    exceptions.LimitExceeded,
    exceptions.OperationNotAllowed,
    exceptions.NotFound,
    exceptions.InvalidRequest,
)
# Errors after which OKPAY surely did nothing: safe to charge again later.
NOT_PERFORMED_ERRORS: tuple[type[exceptions.OkPayError], ...] = (
    exceptions.RequestNotSent,
    exceptions.AuthenticationFailed,
    exceptions.ProviderUnavailable,
)

CONTRACT_INACTIVE = "contract_inactive"
CONTRACT_NOT_APPROVED = "contract_not_approved"

_USER_MESSAGES = {
    CONTRACT_INACTIVE: "Your OKPAY agreement is not active any more.",
    CONTRACT_NOT_APPROVED: "You did not approve the OKPAY agreement, so nothing was charged.",
    "txn_error": "OKPAY could not complete the payment.",
    "txn_canceled": "The payment was canceled at OKPAY.",
    "txn_reversed": "The payment was reversed at OKPAY.",
}


def decline_message(code: str) -> str:
    """A message safe to show a shopper for a ``Payment.decline_code``."""
    if code in _USER_MESSAGES:
        return _USER_MESSAGES[code]
    for cls in _all_error_classes(exceptions.OkPayError):
        if cls.code == code:
            return cls.default_user_message
    return exceptions.OkPayError.default_user_message


def _all_error_classes(base: type) -> Iterable[type]:
    yield base
    for sub in base.__subclasses__():
        yield from _all_error_classes(sub)


class LedgerWrites:
    """Changes to many locked payments, written with one statement per table.

    Used when a whole batch of charges comes back at once: each payment's
    fields and ledger events are collected, then :meth:`flush` writes them
    (``bulk_update`` and ``bulk_create``) in the caller's transaction.
    """

    def __init__(self) -> None:
        self._payments: dict[int, Payment] = {}
        self._fields: set[str] = set()
        self.events: list[PaymentEvent] = []

    def save(self, payment: Payment, fields: list[str]) -> None:
        self._payments[payment.pk] = payment
        self._fields.update(fields)

    def flush(self) -> None:
        if self._payments:
            now = timezone.now()
            for payment in self._payments.values():
                payment.updated_at = now
            update_rows(
                Payment,
                list(self._payments.values()),
                sorted(self._fields | {"updated_at"}),
            )
        if self.events:
            PaymentEvent.objects.bulk_create(self.events)
        self._payments.clear()
        self._fields.clear()
        self.events = []


def save_payment(
    payment: Payment, fields: list[str], writes: LedgerWrites | None
) -> None:
    if writes is None:
        payment.save(update_fields=[*fields, "updated_at"])
    else:
        writes.save(payment, fields)


def record_event(
    kind: str,
    *,
    payment: Payment | None = None,
    contract: Contract | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    txn_id: int | None = None,
    invoice: str = "",
    comment: str = "",
    detail: dict[str, Any] | None = None,
    writes: LedgerWrites | None = None,
) -> PaymentEvent:
    if payment is not None:
        contract = contract or payment.contract
        currency = currency or payment.currency
        invoice = invoice or payment.invoice
    event = PaymentEvent(
        payment=payment,
        contract=contract,
        kind=kind,
        amount=amount,
        currency=currency,
        okpay_txn_id=txn_id,
        invoice=invoice,
        comment=comment[:255],
        detail=detail or {},
    )
    if writes is None:
        event.save()
    else:
        writes.events.append(event)
    return event


def send_on_commit(signal: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Payment, **kwargs))


def lock_payment(payment_pk: int) -> Payment:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=payment_pk)
    )


def fault_detail(exc: exceptions.OkPayError) -> dict[str, Any]:
    detail: dict[str, Any] = {"error": exc.code}
    fault_code = getattr(exc, "fault_code", None)
    if fault_code:
        detail["fault_code"] = fault_code
    operation = getattr(exc, "operation", "")
    if operation:
        detail["operation"] = operation
    return detail


def client_for(okpay_settings: OkPaySettings) -> Any:
    return clients.client_for(okpay_settings)


def _apply_completion(
    payment: Payment,
    *,
    kind: str,
    txn_id: int | None,
    amount: Decimal | None,
    currency: str | None,
    fee: Decimal | None,
    contract: Contract | None,
    source: str,
    writes: LedgerWrites | None = None,
) -> bool:
    """Mark a locked ``payment`` completed; False if it already was (no-op)."""
    if payment.status in CAPTURED_STATUSES:
        if payment.okpay_txn_id is None and txn_id is not None:
            payment.okpay_txn_id = txn_id
            save_payment(payment, ["okpay_txn_id"], writes)
        return False
    detail: dict[str, Any] = {"source": source, "previous_status": payment.status}
    if amount is not None and amount != payment.amount:
        detail["amount_mismatch"] = str(amount)
    if currency and currency != payment.currency:
        detail["currency_mismatch"] = currency
    payment.status = PaymentStatus.COMPLETED
    payment.okpay_txn_id = txn_id
    payment.fee = fee
    payment.decline_code = ""
    payment.completed_at = timezone.now()
    if payment.contract_id is None and contract is not None:
        payment.contract = contract
    save_payment(
        payment,
        ["status", "okpay_txn_id", "fee", "decline_code", "completed_at", "contract"],
        writes,
    )
    record_event(
        kind,
        payment=payment,
        amount=amount if amount is not None else payment.amount,
        txn_id=txn_id,
        detail=detail,
        writes=writes,
    )
    send_on_commit(signals.payment_completed, payment=payment)
    logger.info(
        "OKPAY payment %s completed (%s)",
        payment.invoice,
        source,
        extra={"okpay_payment_id": payment.pk, "okpay_txn_id": txn_id},
    )
    return True


def complete_payment_from_notification(
    *,
    invoice: str,
    txn_id: int | None,
    amount: Decimal | None,
    currency: str | None,
    fee: Decimal | None,
    contract: Contract | None,
    payment: Payment | None = None,
) -> Payment | None:
    """Record a completed charge reported by an IPN; None for an unknown invoice.

    Idempotent: a payment that is already completed stays as it is and no
    second ``charge_completed`` event is written. ``payment`` is the row the
    caller already read with a row lock (and its contract) inside its own
    transaction, as the IPN pipeline does; it is then not read again.
    """

    def complete(locked: Payment) -> Payment:
        _apply_completion(
            locked,
            kind=PaymentEventKind.CHARGE_COMPLETED,
            txn_id=txn_id,
            amount=amount,
            currency=currency,
            fee=fee,
            contract=contract,
            source="ipn",
        )
        return locked

    if payment is not None:
        return complete(payment)
    if not invoice:
        return None
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("contract")
            .filter(invoice=invoice)
            .first()
        )
        return None if payment is None else complete(payment)


def apply_transaction(payment_pk: int, txn: Any, *, kind: str, source: str) -> Payment:
    """Apply what OKPAY says about the payment's transaction (locked)."""
    with transaction.atomic():
        payment = lock_payment(payment_pk)
        apply_transaction_locked(payment, txn, kind=kind, source=source)
        return payment


def apply_transaction_locked(
    payment: Payment,
    txn: Any,
    *,
    kind: str,
    source: str,
    writes: LedgerWrites | None = None,
) -> None:
    """:func:`apply_transaction` for a payment locked in the current transaction."""
    status = str(getattr(txn.status, "value", txn.status))
    if status == "Completed":
        _apply_completion(
            payment,
            kind=kind,
            txn_id=txn.id,
            amount=txn.amount,
            currency=txn.currency,
            fee=txn.fees,
            contract=None,
            source=source,
            writes=writes,
        )
    elif status in ("Pending", "Hold", "None"):
        # Money is on its way; the final IPN (or a later resolve) finishes it.
        if payment.status not in CAPTURED_STATUSES:
            payment.status = PaymentStatus.UNKNOWN
            payment.okpay_txn_id = txn.id
            save_payment(payment, ["status", "okpay_txn_id"], writes)
            record_event(
                PaymentEventKind.CHARGE_UNKNOWN,
                payment=payment,
                amount=txn.amount,
                txn_id=txn.id,
                detail={"source": source, "okpay_status": status},
                writes=writes,
            )
    elif payment.status not in CAPTURED_STATUSES:
        record_decline(
            payment, f"txn_{status.lower()}", {"okpay_status": status}, writes
        )


def record_decline(
    payment: Payment,
    code: str,
    detail: dict[str, Any],
    writes: LedgerWrites | None = None,
) -> None:
    payment.status = PaymentStatus.DECLINED
    payment.decline_code = code[:60]
    save_payment(payment, ["status", "decline_code"], writes)
    record_event(
        PaymentEventKind.CHARGE_DECLINED,
        payment=payment,
        amount=payment.amount,
        detail={"code": code, **detail},
        writes=writes,
    )
    send_on_commit(signals.payment_declined, payment=payment, code=code)
    logger.warning(
        "OKPAY charge %s declined: %s",
        payment.invoice,
        code,
        extra={"okpay_payment_id": payment.pk},
    )


def cancel_payment(payment: Payment, *, reason: str = "") -> Payment:
    """Cancel a payment that has not been sent to OKPAY; others are returned as is."""
    with transaction.atomic():
        locked = lock_payment(payment.pk)
        if locked.status not in (*WAITING_STATUSES, PaymentStatus.DECLINED):
            return locked
        locked.status = PaymentStatus.CANCELED
        locked.save(update_fields=["status", "updated_at"])
        record_event(
            PaymentEventKind.CANCEL,
            payment=locked,
            amount=locked.amount,
            comment=reason,
        )
        return locked
