"""Charging a payment on its agreement, exactly once per invoice.

Exactly-once charging rests on three things:

* the ``Payment`` row is locked (``select_for_update``) for every decision;
* a charge is marked ``SENDING`` and committed before the SOAP call, and a
  ``SENDING``/``UNKNOWN`` payment is only charged again after OKPAY has said
  it has no transaction with the payment's invoice;
* the invoice travels with the charge (first word of its comment), so the
  resolver can find it among the contract's operations.

OKPAY itself does not refuse a second charge: ``PreapprovedPayment_Charge``
has no invoice parameter and a re-sent request is charged again.

The decision taken under the row lock is a :class:`ChargeAction`; the call
and its outcome happen after that transaction commits (:func:`finish_charge`).

Return convention: an operation that reached OKPAY returns the updated row
(``COMPLETED``, ``DECLINED`` with ``decline_code``, ``UNKNOWN``); an operation
that did not happen at all (connection refused, authentication, OKPAY
unavailable) puts the row back to ``PENDING`` and re-raises the error.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from okpay_gateway import conf, exceptions
from okpay_gateway.models import (
    CLOSED_CONTRACT_STATUSES,
    Contract,
    ContractStatus,
    Payment,
    PaymentEventKind,
    PaymentStatus,
)
from okpay_gateway.payments.ledger import (
    CONTRACT_INACTIVE,
    CONTRACT_NOT_APPROVED,
    FINAL_PAYMENT_STATUSES,
    IN_FLIGHT_STATUSES,
    NOT_PERFORMED_ERRORS,
    WAITING_STATUSES,
    LedgerWrites,
    lock_payment,
    logger,
    record_decline,
    record_event,
)
from okpay_gateway.payments.replies import call_charge, record_replies
from okpay_gateway.payments.resolution import resolve_payment, sending_is_fresh
from okpay_gateway.provider.settings import OkPaySettings


class ChargeAction(StrEnum):
    """What the row lock decided for a payment."""

    DONE = "done"
    """Nothing to send: completed, final, in flight elsewhere or not chargeable."""
    RESOLVE = "resolve"
    """A previous attempt's outcome is unknown: ask OKPAY before anything else."""
    SEND = "send"
    """The payment is ``SENDING`` (committed with the decision): make the call."""


def _begin_charge(
    payment_pk: int, okpay_settings: OkPaySettings
) -> tuple[Payment, ChargeAction]:
    """Decide under the row lock what to do: ``done``, ``resolve`` or ``send``."""
    with transaction.atomic():
        return _decide_charge(lock_payment(payment_pk), okpay_settings)


def _decide_charge(
    payment: Payment, okpay_settings: OkPaySettings
) -> tuple[Payment, ChargeAction]:
    """:func:`_begin_charge` for a payment already locked in the current transaction."""
    if payment.status in FINAL_PAYMENT_STATUSES:
        return payment, ChargeAction.DONE
    if payment.status == PaymentStatus.SENDING and sending_is_fresh(
        payment, okpay_settings
    ):
        return payment, ChargeAction.DONE
    if payment.status in IN_FLIGHT_STATUSES:
        return payment, ChargeAction.RESOLVE
    contract = payment.contract
    if contract is None or contract.status != ContractStatus.ACTIVE:
        if contract is not None and contract.status in CLOSED_CONTRACT_STATUSES:
            declined = (
                contract.status == ContractStatus.FAILED and contract.granted_at is None
            )
            code = CONTRACT_NOT_APPROVED if declined else CONTRACT_INACTIVE
            record_decline(payment, code, {"contract": contract.status})
        return payment, ChargeAction.DONE
    if contract.okpay_id is None:
        return payment, ChargeAction.DONE
    payment.status = PaymentStatus.SENDING
    payment.sent_at = timezone.now()
    payment.decline_code = ""
    payment.save(update_fields=["status", "sent_at", "decline_code", "updated_at"])
    _charge_requested(payment, contract)
    return payment, ChargeAction.SEND


def _charge_requested(payment: Payment, contract: Contract) -> None:
    record_event(
        PaymentEventKind.CHARGE_REQUESTED,
        payment=payment,
        contract=contract,
        amount=payment.amount,
        # Who asked and why (a manual charge's comment names the staff user).
        comment=payment.description[:255],
        detail={"contract": contract.okpay_id},
    )


def charge_payment(payment: Payment, *, okpay_settings: OkPaySettings) -> Payment:
    """Charge ``payment`` on its contract, at most once.

    Completed payments are returned as they are. A payment whose previous
    attempt has no known outcome is resolved with OKPAY first and charged
    only if OKPAY has no transaction with its invoice. Raises the provider
    error (after putting the row back to ``PENDING``) only when the charge
    was certainly not performed.
    """
    payment, action = _begin_charge(payment.pk, okpay_settings)
    return finish_charge(payment, action, okpay_settings=okpay_settings)


def finish_charge(
    payment: Payment,
    action: ChargeAction | str,
    *,
    okpay_settings: OkPaySettings,
    retries: int = 1,
) -> Payment:
    """Carry out what :func:`begin_contract_charge` (or the row lock) decided.

    ``send``: the SOAP call, then its outcome is recorded; ``resolve``: ask
    OKPAY first and charge again (at most ``retries`` more times) only if it
    has no transaction with the invoice; ``done``: nothing to do. Call it
    after the transaction that made the decision has committed.
    """
    if action == ChargeAction.DONE:
        return payment
    if action == ChargeAction.SEND:
        return _send_charge(payment, okpay_settings)
    payment = resolve_payment(payment, okpay_settings=okpay_settings)
    if payment.status != PaymentStatus.PENDING or retries <= 0:
        return payment
    payment, action = _begin_charge(payment.pk, okpay_settings)
    return finish_charge(
        payment, action, okpay_settings=okpay_settings, retries=retries - 1
    )


def _send_charge(payment: Payment, okpay_settings: OkPaySettings) -> Payment:
    reply = call_charge(payment, okpay_settings)
    (payment,) = record_replies([reply], okpay_settings=okpay_settings)
    error = reply.error
    if error is not None and (
        isinstance(error, NOT_PERFORMED_ERRORS)
        or not isinstance(error, exceptions.OkPayError)
    ):
        raise error
    return payment


def charge_contract(
    contract: Contract,
    *,
    amount: Decimal,
    invoice: str,
    description: str = "",
    okpay_settings: OkPaySettings,
) -> Payment:
    """Charge ``amount`` on ``contract`` under ``invoice`` (the idempotency key).

    Calling it again with the same invoice finds the same payment and never
    moves money twice.
    """
    with transaction.atomic():
        payment, action = begin_contract_charge(
            contract,
            amount=amount,
            invoice=invoice,
            description=description,
            okpay_settings=okpay_settings,
        )
    return finish_charge(payment, action, okpay_settings=okpay_settings)


def begin_contract_charge(
    contract: Contract,
    *,
    amount: Decimal,
    invoice: str,
    description: str = "",
    okpay_settings: OkPaySettings,
) -> tuple[Payment, ChargeAction]:
    """The first half of :func:`charge_contract`, inside the caller's transaction.

    Finds (locked) or creates the payment for ``invoice`` and decides what to
    do, like the row lock of :func:`charge_payment`: ``send`` means the
    payment is now ``SENDING`` with its ``charge_requested`` event, written
    in the caller's transaction, which must commit before
    :func:`finish_charge` makes the call. A caller can so commit its own
    record of the charge (the renewal engine's attempt) together with the
    payment. Raises :class:`RenewalConflict` before writing anything when
    ``invoice`` belongs to another charge.
    """
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .filter(invoice=invoice)
        .first()
    )
    if payment is None:
        sendable = contract.status == ContractStatus.ACTIVE and contract.okpay_id
        values = {
            "invoice": invoice,
            "contract": contract,
            "customer_id": contract.customer_id,
            "channel": contract.channel,
            "amount": amount,
            "currency": contract.currency,
            "description": description[:255],
        }
        if sendable:
            # A new payment goes straight to SENDING: no other transaction can
            # have seen it, so the lock-and-update step would add nothing.
            values.update(status=PaymentStatus.SENDING, sent_at=timezone.now())
        try:
            with transaction.atomic():
                payment = Payment.objects.create(**values)
        except IntegrityError:
            # A concurrent call created it first: decide on that row.
            payment = _locked_by_invoice(invoice)
        else:
            if sendable:
                _charge_requested(payment, contract)
                return payment, ChargeAction.SEND
    if payment.amount != amount or payment.contract_id not in (None, contract.pk):
        raise exceptions.RenewalConflict(f"invoice {invoice} belongs to another charge")
    if payment.contract_id is None:
        payment.contract = contract
        payment.save(update_fields=["contract", "updated_at"])
    return _decide_charge(payment, okpay_settings)


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """One charge for :func:`begin_charges`: ``amount`` on ``contract`` under ``invoice``."""

    contract: Contract
    amount: Decimal
    invoice: str
    description: str = ""


def begin_charges(
    requests: Sequence[ChargeRequest], *, okpay_settings: OkPaySettings
) -> list[tuple[Payment, ChargeAction] | exceptions.RenewalConflict]:
    """:func:`begin_contract_charge` for many invoices, in the caller's transaction.

    New invoices (the usual case) are written with one statement for the
    payments and one for their ``charge_requested`` events; invoices that
    already have a payment are decided one by one under their row locks.
    The result for a request whose invoice belongs to another charge is the
    :class:`RenewalConflict` (nothing written for it).
    """
    existing = {
        p.invoice: p
        for p in Payment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .filter(invoice__in=[r.invoice for r in requests])
    }
    fresh = [r for r in requests if r.invoice not in existing]
    now = timezone.now()
    rows = [
        Payment(
            invoice=r.invoice,
            contract=r.contract,
            customer_id=r.contract.customer_id,
            channel=r.contract.channel,
            amount=r.amount,
            currency=r.contract.currency,
            description=r.description[:255],
            **(
                {"status": PaymentStatus.SENDING, "sent_at": now}
                if _sendable(r.contract)
                else {}
            ),
        )
        for r in fresh
    ]
    try:
        with transaction.atomic():
            created = {p.invoice: p for p in Payment.objects.bulk_create(rows)}
    except IntegrityError:
        # A concurrent call created one of them first: decide row by row.
        created = {}
    writes = LedgerWrites()
    for payment in created.values():
        if payment.status == PaymentStatus.SENDING:
            record_event(
                PaymentEventKind.CHARGE_REQUESTED,
                payment=payment,
                contract=payment.contract,
                amount=payment.amount,
                comment=payment.description[:255],
                detail={"contract": payment.contract.okpay_id},
                writes=writes,
            )
    writes.flush()
    results: list[tuple[Payment, ChargeAction] | exceptions.RenewalConflict] = []
    for r in requests:
        payment = created.get(r.invoice)
        if payment is not None:
            sending = payment.status == PaymentStatus.SENDING
            results.append(
                (payment, ChargeAction.SEND if sending else ChargeAction.DONE)
            )
            continue
        try:
            results.append(
                begin_contract_charge(
                    r.contract,
                    amount=r.amount,
                    invoice=r.invoice,
                    description=r.description,
                    okpay_settings=okpay_settings,
                )
            )
        except exceptions.RenewalConflict as exc:
            results.append(exc)
    return results


def _sendable(contract: Contract) -> bool:
    return contract.status == ContractStatus.ACTIVE and contract.okpay_id is not None


def _locked_by_invoice(invoice: str) -> Payment:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(invoice=invoice)
    )


def charge_waiting_payments(
    contract: Contract, *, okpay_settings: OkPaySettings | None = None
) -> None:
    """Charge every payment that waited for ``contract`` to be granted.

    Called after the grant has committed (IPN or return page). Without
    ``okpay_settings`` the settings registered for the contract's channel are
    used. Errors of one payment are logged and do not stop the others.
    """
    okpay_settings = okpay_settings or conf.settings_for_channel(contract.channel)
    waiting = Payment.objects.filter(
        contract=contract, status__in=WAITING_STATUSES
    ).order_by("pk")
    for payment in waiting:
        try:
            charge_payment(payment, okpay_settings=okpay_settings)
        except exceptions.OkPayError as exc:
            logger.warning(
                "OKPAY waiting payment %s not charged: %s",
                payment.invoice,
                exc.code,
                extra={"okpay_payment_id": payment.pk},
            )


def authorize_on_contract(
    contract: Contract,
    *,
    amount: Decimal,
    invoice: str,
    description: str = "",
    host_reference: str = "",
) -> Payment:
    """Record a payment on an active agreement without charging it yet.

    :func:`charge_payment` captures it later (hosts without automatic capture).
    """
    payment, created = Payment.objects.get_or_create(
        invoice=invoice,
        defaults={
            "contract": contract,
            "customer_id": contract.customer_id,
            "channel": contract.channel,
            "amount": amount,
            "currency": contract.currency,
            "description": description[:255],
            "host_reference": host_reference[:255],
        },
    )
    if not created and payment.amount != amount:
        raise exceptions.RenewalConflict(f"invoice {invoice} belongs to another charge")
    return payment


def manual_invoice(contract: Contract) -> str:
    """A fresh invoice for a merchant-initiated charge from the admin."""
    return f"manual-{contract.pk}-{uuid.uuid4().hex[:12]}"
