"""Refunds: (part of) a captured payment sent back with ``Send_Money``.

Our own checks (captured? amount within what is left? someone to pay?) raise
:class:`~okpay_gateway.exceptions.RefundRefused` subclasses before anything
is sent; provider errors of the call itself are re-raised after the failed
attempt is on the ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from okpay_gateway import exceptions, signals
from okpay_gateway.models import Payment, PaymentEventKind, PaymentStatus
from okpay_gateway.payments.ledger import (
    CAPTURED_STATUSES,
    ZERO,
    client_for,
    fault_detail,
    lock_payment,
    logger,
    record_event,
)
from okpay_gateway.provider.settings import OkPaySettings


def _refund_total(payment: Payment) -> Decimal:
    return payment.refunded_amount or ZERO


def refund_payment(
    payment: Payment, *, amount: Decimal | None = None, okpay_settings: OkPaySettings
) -> Payment:
    """Send (part of) a completed payment back to the customer's wallet.

    ``amount`` defaults to everything not refunded yet; more than that is
    refused. Each refund is a ``Send_Money`` with the invoice
    ``<payment invoice>-refund-<n>``. The row stays locked for the call so two
    refunds cannot overlap.
    """
    with transaction.atomic():
        locked = lock_payment(payment.pk)
        if locked.status not in CAPTURED_STATUSES:
            raise exceptions.NotRefundable(
                f"payment {locked.invoice} is {locked.status}, not captured"
            )
        remaining = locked.amount - _refund_total(locked)
        value = remaining if amount is None else Decimal(amount)
        if value <= 0 or value > remaining:
            raise exceptions.RefundAmountInvalid(
                f"refund of {value} is not between 0.01 and {remaining}",
                remaining=remaining,
            )
        contract = locked.contract
        receiver = contract.client_wallet or contract.client_email if contract else ""
        if not receiver:
            raise exceptions.NoRefundReceiver(
                f"payment {locked.invoice} has no customer wallet to refund to"
            )
        attempt = (
            locked.events.filter(
                kind__in=[PaymentEventKind.REFUND, PaymentEventKind.REFUND_FAILED]
            ).count()
            + 1
        )
        invoice = f"{locked.invoice}-refund-{attempt}"
        client = client_for(okpay_settings)
        failure: exceptions.ProviderError | None = None
        try:
            txn = client.send_money(
                receiver=receiver,
                currency=locked.currency,
                amount=value,
                comment=f"Refund of {locked.invoice}",
                receiver_pays_fees=False,
                invoice=invoice,
            )
        except exceptions.DuplicatePayment:
            txn = _lookup_refund(client, invoice)
        except (exceptions.OutcomeUnknown, exceptions.ProtocolError) as exc:
            # Sent but unanswered: only a refund OKPAY knows about counts.
            try:
                txn = _lookup_refund(client, invoice)
            except exceptions.ProviderError:
                failure = exc
        except exceptions.ProviderError as exc:
            failure = exc
        if failure is not None:
            # The failed attempt stays on the ledger (and uses up its invoice).
            record_event(
                PaymentEventKind.REFUND_FAILED,
                payment=locked,
                amount=value,
                invoice=invoice,
                detail=fault_detail(failure),
            )
        else:
            locked.refunded_amount = _refund_total(locked) + value
            locked.status = (
                PaymentStatus.REFUNDED
                if locked.refunded_amount >= locked.amount
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            locked.save(update_fields=["refunded_amount", "status", "updated_at"])
            record_event(
                PaymentEventKind.REFUND,
                payment=locked,
                amount=value,
                txn_id=txn.id,
                invoice=invoice,
                detail={"receiver": receiver},
            )
            transaction.on_commit(
                lambda: signals.payment_refunded.send(
                    sender=Payment, payment=locked, amount=value
                )
            )
    if failure is not None:
        logger.warning("OKPAY refund %s failed: %s", invoice, failure.code)
        raise failure
    return locked


def _lookup_refund(client: Any, invoice: str) -> Any:
    return client.transaction_get(invoice=invoice)
