"""What came back from charge calls, recorded for many payments at once.

:func:`call_charge` makes one ``PreapprovedPayment_Charge`` call and touches no
database row, so a pool of threads can send a batch;
:func:`record_replies` then writes every outcome in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from okpay_gateway import alerts, exceptions, signals
from okpay_gateway.models import Payment, PaymentEventKind, PaymentStatus
from okpay_gateway.payments.ledger import (
    DECLINE_FAULTS,
    NOT_PERFORMED_ERRORS,
    LedgerWrites,
    apply_transaction_locked,
    client_for,
    fault_detail,
    logger,
    record_decline,
    record_event,
    save_payment,
    send_on_commit,
)
from okpay_gateway.payments.resolution import resolve_payment
from okpay_gateway.provider.settings import OkPaySettings

__all__ = ["ChargeReply", "call_charge", "record_replies"]


@dataclass(frozen=True, slots=True)
class ChargeReply:
    """What one ``PreapprovedPayment_Charge`` call returned: a transaction or an error."""

    payment: Payment
    txn: Any = None
    error: BaseException | None = None


def call_charge(payment: Payment, okpay_settings: OkPaySettings) -> ChargeReply:
    """Send the charge of a ``SENDING`` payment; touches no database row.

    Safe to run in a worker thread: everything it needs (contract ID,
    amount, invoice) is on the row handed in. Never raises.
    """
    contract = payment.contract
    assert contract is not None and contract.okpay_id is not None
    try:
        txn = client_for(okpay_settings).preapproved_payment_charge(
            contract_id=contract.okpay_id,
            amount=payment.amount,
            invoice=payment.invoice,
        )
    except Exception as exc:  # kept as data; record_replies classifies it
        return ChargeReply(payment, error=exc)
    return ChargeReply(payment, txn=txn)


def record_replies(
    replies: Sequence[ChargeReply], *, okpay_settings: OkPaySettings
) -> list[Payment]:
    """Record what the calls returned, for many payments in one transaction.

    Completed, declined and unknown outcomes are written with one statement
    per table (:class:`LedgerWrites`); only a payment still ``SENDING`` is
    changed. A charge refused as a duplicate is resolved with OKPAY after
    the commit. Returns the payments in the order of ``replies``.
    """
    duplicates: list[int] = []
    with transaction.atomic():
        rows = {
            p.pk: p
            for p in Payment.objects.select_for_update(of=("self",))
            .select_related("contract")
            .filter(pk__in=[reply.payment.pk for reply in replies])
        }
        writes = LedgerWrites()
        for reply in replies:
            payment = rows[reply.payment.pk]
            error = reply.error
            if error is None:
                apply_transaction_locked(
                    payment,
                    reply.txn,
                    kind=PaymentEventKind.CHARGE_COMPLETED,
                    source="charge",
                    writes=writes,
                )
            elif payment.status != PaymentStatus.SENDING:
                continue
            elif isinstance(error, exceptions.DuplicatePayment):
                # The invoice is taken: an earlier attempt went through.
                duplicates.append(payment.pk)
            elif isinstance(error, NOT_PERFORMED_ERRORS):
                _back_to_pending(payment, error, writes)
            elif isinstance(error, DECLINE_FAULTS):
                record_decline(payment, error.code, fault_detail(error), writes)
            elif isinstance(error, exceptions.ProviderError):
                # Read timeouts, broken answers and unclassified faults: the
                # call may have moved money; only OKPAY can tell.
                _mark_unknown(payment, error, writes)
            # Anything else stays SENDING: the resolver asks OKPAY later.
        writes.flush()
    for pk in duplicates:
        rows[pk] = resolve_payment(rows[pk], okpay_settings=okpay_settings)
    return [rows[reply.payment.pk] for reply in replies]


def _back_to_pending(
    payment: Payment, exc: exceptions.OkPayError, writes: LedgerWrites
) -> None:
    payment.status = PaymentStatus.PENDING
    # Why the last attempt was not made, for the shopper's message; the next
    # attempt clears it.
    payment.decline_code = exc.code
    save_payment(payment, ["status", "decline_code"], writes)
    record_event(
        PaymentEventKind.CHARGE_DECLINED,
        payment=payment,
        amount=payment.amount,
        detail={"not_performed": True, **fault_detail(exc)},
        writes=writes,
    )
    if isinstance(exc, exceptions.AuthenticationFailed):
        alerts.configuration_failed(channel=payment.channel, exc=exc)
    logger.warning(
        "OKPAY charge %s not performed: %s",
        payment.invoice,
        exc.code,
        extra={"okpay_payment_id": payment.pk},
    )


def _mark_unknown(
    payment: Payment, exc: exceptions.OkPayError, writes: LedgerWrites
) -> None:
    payment.status = PaymentStatus.UNKNOWN
    save_payment(payment, ["status"], writes)
    record_event(
        PaymentEventKind.CHARGE_UNKNOWN,
        payment=payment,
        amount=payment.amount,
        detail=fault_detail(exc),
        writes=writes,
    )
    send_on_commit(signals.payment_outcome_unknown, payment=payment)
    logger.warning(
        "OKPAY charge %s has no known outcome: %s",
        payment.invoice,
        exc.code,
        extra={"okpay_payment_id": payment.pk},
    )
