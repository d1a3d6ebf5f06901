"""Host-neutral money operations: charge, resolve, refund, cancel, sync.

Every operation writes its ``PaymentEvent`` rows and state change in the
database *before* it talks to OKPAY when money could move, so a crash or a
read timeout can always be resolved later by asking OKPAY for the invoice.

Exactly-once charging rests on three things:

* the ``Payment`` row is locked (``select_for_update``) for every decision;
* a charge is marked ``SENDING`` and committed before the SOAP call, and a
  ``SENDING``/``UNKNOWN`` payment is only charged again after OKPAY has said
  it has no transaction with the payment's invoice;
* the invoice travels with the charge, so OKPAY itself refuses a second
  charge with the same invoice (``Duplicate_Payment``).

Return convention: an operation that reached OKPAY returns the updated row
(``COMPLETED``, ``DECLINED`` with ``decline_code``, ``UNKNOWN``); an operation
that did not happen at all (connection refused, authentication, OKPAY
unavailable) puts the row back to ``PENDING`` and re-raises the error.

Signals are sent with ``transaction.on_commit``. Hosts and adapters (the
Saleor plugin, the renewal engine, the admin) call only these functions.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from okpay_gateway import alerts, clients, conf, exceptions, signals
from okpay_gateway.models import (
    CLOSED_CONTRACT_STATUSES,
    Contract,
    ContractStatus,
    FeePayer,
    Payment,
    PaymentEvent,
    PaymentEventKind,
    PaymentStatus,
)
from okpay_gateway.provider.fees import FeePayer as LinkFeePayer
from okpay_gateway.provider.links import (
    CheckoutLink,
    LinkItem,
    build_preapproved_link,
)
from okpay_gateway.provider.settings import OkPaySettings

logger = logging.getLogger(__name__)

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

# A SENDING row younger than the client's timeouts plus this margin belongs to
# a call that is still running; older ones are treated as a crashed attempt.
# Assumption, so a setting: OKPAY_GATEWAY["SENDING_GRACE_SECONDS"].
DEFAULT_SENDING_GRACE_SECONDS = 30

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

_USER_MESSAGES = {
    CONTRACT_INACTIVE: "Your OKPAY agreement is not active any more.",
    "txn_error": "OKPAY could not complete the payment.",
    "txn_canceled": "The payment was canceled at OKPAY.",
    "txn_reversed": "The payment was reversed at OKPAY.",
}

# Provider settings per host channel, registered by adapters that know them
# (the Saleor plugin), so flows started by an IPN or a scheduler can find the
# wallet the contract belongs to.
_channel_settings: dict[str, OkPaySettings] = {}


def register_channel_settings(channel: str, okpay_settings: OkPaySettings) -> None:
    """Remember the provider settings used for ``channel`` (last one wins)."""
    _channel_settings[channel or ""] = okpay_settings


def settings_for_channel(channel: str = "") -> OkPaySettings:
    """The provider settings for ``channel``.

    In order: what a plugin instance registered in this process; what
    ``OKPAY_GATEWAY["SETTINGS_PROVIDER"]`` (a dotted path to
    ``callable(channel) -> OkPaySettings | None``) finds, for processes that
    never build a plugin themselves (Celery workers, ``okpay_renew``); the
    shop-wide ``OKPAY_GATEWAY``. The provider is asked every time, so a
    configuration saved elsewhere is seen at once.
    """
    registered = _channel_settings.get(channel or "")
    if registered is not None:
        return registered
    provider_path = conf.setting("SETTINGS_PROVIDER")
    if provider_path:
        found = import_string(provider_path)(channel or "")
        if found is not None:
            return found
    return conf.get_settings()


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


# --- ledger and signal helpers ------------------------------------------------


def _event(
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
) -> PaymentEvent:
    if payment is not None:
        contract = contract or payment.contract
        currency = currency or payment.currency
        invoice = invoice or payment.invoice
    return PaymentEvent.objects.create(
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


def _send_on_commit(signal: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Payment, **kwargs))


def _locked(payment_pk: int) -> Payment:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=payment_pk)
    )


def _fault_detail(exc: exceptions.OkPayError) -> dict[str, Any]:
    detail: dict[str, Any] = {"error": exc.code}
    fault_code = getattr(exc, "fault_code", None)
    if fault_code:
        detail["fault_code"] = fault_code
    operation = getattr(exc, "operation", "")
    if operation:
        detail["operation"] = operation
    return detail


def _client(okpay_settings: OkPaySettings) -> Any:
    return clients.client_for(okpay_settings)


# --- completing a payment -------------------------------------------------------


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
) -> bool:
    """Mark a locked ``payment`` completed; False if it already was (no-op)."""
    if payment.status in CAPTURED_STATUSES:
        if payment.okpay_txn_id is None and txn_id is not None:
            payment.okpay_txn_id = txn_id
            payment.save(update_fields=["okpay_txn_id", "updated_at"])
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
    payment.save()
    _event(
        kind,
        payment=payment,
        amount=amount if amount is not None else payment.amount,
        txn_id=txn_id,
        detail=detail,
    )
    _send_on_commit(signals.payment_completed, payment=payment)
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


def _apply_transaction(payment_pk: int, txn: Any, *, kind: str, source: str) -> Payment:
    """Apply what OKPAY says about the payment's transaction (locked)."""
    status = str(getattr(txn.status, "value", txn.status))
    with transaction.atomic():
        payment = _locked(payment_pk)
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
            )
        elif status in ("Pending", "Hold", "None"):
            # Money is on its way; the final IPN (or a later resolve) finishes it.
            if payment.status not in CAPTURED_STATUSES:
                payment.status = PaymentStatus.UNKNOWN
                payment.okpay_txn_id = txn.id
                payment.save(update_fields=["status", "okpay_txn_id", "updated_at"])
                _event(
                    PaymentEventKind.CHARGE_UNKNOWN,
                    payment=payment,
                    amount=txn.amount,
                    txn_id=txn.id,
                    detail={"source": source, "okpay_status": status},
                )
        elif payment.status not in CAPTURED_STATUSES:
            _decline(payment, f"txn_{status.lower()}", {"okpay_status": status})
        return payment


def _decline(payment: Payment, code: str, detail: dict[str, Any]) -> None:
    payment.status = PaymentStatus.DECLINED
    payment.decline_code = code[:60]
    payment.save(update_fields=["status", "decline_code", "updated_at"])
    _event(
        PaymentEventKind.CHARGE_DECLINED,
        payment=payment,
        amount=payment.amount,
        detail={"code": code, **detail},
    )
    _send_on_commit(signals.payment_declined, payment=payment, code=code)
    logger.warning(
        "OKPAY charge %s declined: %s",
        payment.invoice,
        code,
        extra={"okpay_payment_id": payment.pk},
    )


# --- charging ------------------------------------------------------------------


def _sending_is_fresh(payment: Payment, okpay_settings: OkPaySettings) -> bool:
    if payment.status != PaymentStatus.SENDING or payment.sent_at is None:
        return False
    budget = timedelta(
        seconds=okpay_settings.connect_timeout + okpay_settings.read_timeout
    )
    grace = timedelta(
        seconds=float(
            conf.setting("SENDING_GRACE_SECONDS", DEFAULT_SENDING_GRACE_SECONDS)
        )
    )
    return timezone.now() - payment.sent_at < budget + grace


def _begin_charge(
    payment_pk: int, okpay_settings: OkPaySettings
) -> tuple[Payment, str]:
    """Decide under the row lock what to do: ``done``, ``resolve`` or ``send``."""
    with transaction.atomic():
        return _decide_charge(_locked(payment_pk), okpay_settings)


def _decide_charge(
    payment: Payment, okpay_settings: OkPaySettings
) -> tuple[Payment, str]:
    """:func:`_begin_charge` for a payment already locked in the current transaction."""
    if payment.status in FINAL_PAYMENT_STATUSES:
        return payment, "done"
    if payment.status == PaymentStatus.SENDING and _sending_is_fresh(
        payment, okpay_settings
    ):
        return payment, "done"
    if payment.status in IN_FLIGHT_STATUSES:
        return payment, "resolve"
    contract = payment.contract
    if contract is None or contract.status != ContractStatus.ACTIVE:
        if contract is not None and contract.status in CLOSED_CONTRACT_STATUSES:
            _decline(payment, CONTRACT_INACTIVE, {"contract": contract.status})
        return payment, "done"
    if contract.okpay_id is None:
        return payment, "done"
    payment.status = PaymentStatus.SENDING
    payment.sent_at = timezone.now()
    payment.decline_code = ""
    payment.save(update_fields=["status", "sent_at", "decline_code", "updated_at"])
    _charge_requested(payment, contract)
    return payment, "send"


def _charge_requested(payment: Payment, contract: Contract) -> None:
    _event(
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
    payment: Payment, action: str, *, okpay_settings: OkPaySettings, retries: int = 1
) -> Payment:
    """Carry out what :func:`begin_contract_charge` (or the row lock) decided.

    ``send``: the SOAP call, then its outcome is recorded; ``resolve``: ask
    OKPAY first and charge again (at most ``retries`` more times) only if it
    has no transaction with the invoice; ``done``: nothing to do. Call it
    after the transaction that made the decision has committed.
    """
    if action == "done":
        return payment
    if action == "send":
        return _send_charge(payment, okpay_settings)
    payment = resolve_payment(payment, okpay_settings=okpay_settings)
    if payment.status != PaymentStatus.PENDING or retries <= 0:
        return payment
    payment, action = _begin_charge(payment.pk, okpay_settings)
    return finish_charge(
        payment, action, okpay_settings=okpay_settings, retries=retries - 1
    )


def _send_charge(payment: Payment, okpay_settings: OkPaySettings) -> Payment:
    contract = payment.contract
    assert contract is not None and contract.okpay_id is not None
    try:
        txn = _client(okpay_settings).preapproved_payment_charge(
            contract_id=contract.okpay_id,
            amount=payment.amount,
            invoice=payment.invoice,
        )
    except exceptions.DuplicatePayment:
        # The invoice is taken: an earlier attempt went through.
        return resolve_payment(payment, okpay_settings=okpay_settings)
    except NOT_PERFORMED_ERRORS as exc:
        _back_to_pending(payment, exc)
        raise
    except DECLINE_FAULTS as exc:
        with transaction.atomic():
            locked = _locked(payment.pk)
            if locked.status == PaymentStatus.SENDING:
                _decline(locked, exc.code, _fault_detail(exc))
            return locked
    except exceptions.ProviderError as exc:
        # Read timeouts, broken answers and unclassified faults: the call may
        # have moved money; only OKPAY can tell (resolve_payment).
        return _mark_unknown(payment, exc)
    return _apply_transaction(
        payment.pk, txn, kind=PaymentEventKind.CHARGE_COMPLETED, source="charge"
    )


def _back_to_pending(payment: Payment, exc: exceptions.OkPayError) -> None:
    with transaction.atomic():
        locked = _locked(payment.pk)
        if locked.status != PaymentStatus.SENDING:
            return
        locked.status = PaymentStatus.PENDING
        # Why the last attempt was not made, for the shopper's message; the
        # next attempt clears it.
        locked.decline_code = exc.code
        locked.save(update_fields=["status", "decline_code", "updated_at"])
        _event(
            PaymentEventKind.CHARGE_DECLINED,
            payment=locked,
            amount=locked.amount,
            detail={"not_performed": True, **_fault_detail(exc)},
        )
        if isinstance(exc, exceptions.AuthenticationFailed):
            alerts.configuration_failed(channel=locked.channel, exc=exc)
    logger.warning(
        "OKPAY charge %s not performed: %s",
        payment.invoice,
        exc.code,
        extra={"okpay_payment_id": payment.pk},
    )


def _mark_unknown(payment: Payment, exc: exceptions.OkPayError) -> Payment:
    with transaction.atomic():
        locked = _locked(payment.pk)
        if locked.status != PaymentStatus.SENDING:
            return locked
        locked.status = PaymentStatus.UNKNOWN
        locked.save(update_fields=["status", "updated_at"])
        _event(
            PaymentEventKind.CHARGE_UNKNOWN,
            payment=locked,
            amount=locked.amount,
            detail=_fault_detail(exc),
        )
        _send_on_commit(signals.payment_outcome_unknown, payment=locked)
    logger.warning(
        "OKPAY charge %s has no known outcome: %s",
        payment.invoice,
        exc.code,
        extra={"okpay_payment_id": payment.pk},
    )
    return locked


def _find_charge(payment: Payment, okpay_settings: OkPaySettings) -> Any | None:
    """OKPAY's transaction for the payment's invoice, or None if there is none.

    Raises :class:`ProviderError` when OKPAY cannot be asked.
    """
    client = _client(okpay_settings)
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
        return _apply_transaction(
            payment.pk, txn, kind=PaymentEventKind.CHARGE_RESOLVED, source="resolve"
        )
    with transaction.atomic():
        locked = _locked(payment.pk)
        if locked.status in IN_FLIGHT_STATUSES:
            locked.status = PaymentStatus.PENDING
            locked.save(update_fields=["status", "updated_at"])
            _event(
                PaymentEventKind.CHARGE_RESOLVED,
                payment=locked,
                detail={"outcome": "not_found"},
            )
        return locked


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
) -> tuple[Payment, str]:
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
                return payment, "send"
    if payment.amount != amount or payment.contract_id not in (None, contract.pk):
        raise exceptions.RenewalConflict(f"invoice {invoice} belongs to another charge")
    if payment.contract_id is None:
        payment.contract = contract
        payment.save(update_fields=["contract", "updated_at"])
    return _decide_charge(payment, okpay_settings)


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
    okpay_settings = okpay_settings or settings_for_channel(contract.channel)
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


# --- starting a payment ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What the shop asks the customer to approve (limits in the contract currency)."""

    title: str
    daily_amount: Decimal | None = None
    weekly_amount: Decimal | None = None
    monthly_amount: Decimal | None = None
    end_date: date | None = None
    fee_payer: str = FeePayer.MERCHANT

    def covering(self, amount: Decimal) -> AgreementTerms:
        """Terms whose every given limit allows at least ``amount``.

        Otherwise the first charge, made right after the approval, would be
        refused with ``Limits_Exceeded``.
        """
        return replace(
            self,
            daily_amount=_at_least(self.daily_amount, amount),
            weekly_amount=_at_least(self.weekly_amount, amount),
            monthly_amount=_at_least(self.monthly_amount, amount),
        )


def _at_least(limit: Decimal | None, amount: Decimal) -> Decimal | None:
    return None if limit is None else max(limit, amount)


def request_agreement(
    *,
    payment_invoice: str,
    contract_invoice: str,
    amount: Decimal,
    currency: str,
    terms: AgreementTerms,
    okpay_settings: OkPaySettings,
    customer: Any = None,
    channel: str = "",
    ipn_url: str | None = None,
    return_success: str | None = None,
    return_fail: str | None = None,
    host_reference: str = "",
    return_url: str = "",
    description: str = "",
    payer_email: str = "",
) -> tuple[Payment, CheckoutLink]:
    """Record a payment that waits for a new agreement, and the link to approve it.

    Creates (or finds, for a retried host payment) the pending ``Contract``
    under ``contract_invoice`` and the ``ACTION_REQUIRED`` payment under
    ``payment_invoice``. The payment is charged once the agreement is granted
    (IPN or return page). Raises :class:`LinkError` for unusable terms.
    """
    terms = terms.covering(amount)
    today = timezone.now().date()
    link = build_preapproved_link(
        checkout_url=okpay_settings.checkout_url,
        receiver=okpay_settings.wallet_id,
        title=terms.title,
        currency=currency,
        daily_amount=terms.daily_amount,
        weekly_amount=terms.weekly_amount,
        monthly_amount=terms.monthly_amount,
        end_date=terms.end_date,
        invoice=contract_invoice,
        ipn_url=ipn_url,
        return_success=return_success,
        return_fail=return_fail,
        fee_payer=LinkFeePayer.CLIENT
        if terms.fee_payer == FeePayer.CLIENT
        else LinkFeePayer.MERCHANT,
        payer={"ok_payer_email": payer_email} if payer_email else None,
        # Shown on the approval page as what approving costs at once.
        first_payment=[LinkItem(name=(description or terms.title)[:127], price=amount)],
        today=today,
    )
    with transaction.atomic():
        contract, _ = Contract.objects.get_or_create(
            invoice=contract_invoice,
            defaults={
                "customer": customer,
                "channel": channel,
                "receiver_wallet": okpay_settings.wallet_id,
                "client_email": payer_email,
                "title": terms.title[:127],
                "currency": currency.upper(),
                "daily_amount": terms.daily_amount,
                "weekly_amount": terms.weekly_amount,
                "monthly_amount": terms.monthly_amount,
                "end_date": terms.end_date,
                "fee_payer": terms.fee_payer,
            },
        )
        payment, _ = Payment.objects.get_or_create(
            invoice=payment_invoice,
            defaults={
                "contract": contract,
                "customer": customer,
                "channel": channel,
                "amount": amount,
                "currency": currency.upper(),
                "description": description[:255],
                "status": PaymentStatus.ACTION_REQUIRED,
                "host_reference": host_reference[:255],
                "return_url": return_url[:1000],
            },
        )
        _event(
            PaymentEventKind.CHECKOUT_LINK,
            payment=payment,
            contract=contract,
            amount=amount,
            detail={"action": link.action},
        )
    return payment, link


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


def contracts_for_reference(reference: str, channel: str = "") -> list[Contract]:
    """Active agreements of the customer whose agreement ID is ``reference``.

    ``reference`` is what hosts store as the gateway customer id. Without a
    known customer only that one agreement is listed.
    """
    try:
        okpay_id = int(reference)
    except (TypeError, ValueError):
        return []
    contract = Contract.objects.filter(okpay_id=okpay_id).first()
    if contract is None:
        return []
    if contract.customer_id is None:
        return [contract] if contract.status == ContractStatus.ACTIVE else []
    return list(
        Contract.objects.filter(
            customer_id=contract.customer_id,
            channel=channel or contract.channel,
            status=ContractStatus.ACTIVE,
        ).order_by("-granted_at", "-pk")
    )


# --- the customer's return from the checkout -----------------------------------


def complete_from_return(
    *, invoice: str, okpay_settings: OkPaySettings
) -> Payment | None:
    """Finish what the customer's return from OKPAY stands for, asking OKPAY.

    ``invoice`` is a contract's invoice (the agreement the customer just
    approved) or a payment's invoice. Posted return fields are never trusted:
    the contract is looked up with ``PreapprovedPayments_Filter`` and the
    payment with ``Transaction_Get``, then the same idempotent functions as
    the IPN path apply the result. Returns the payment the return is about
    (the newest one of the contract), or None when there is none.
    """
    from okpay_gateway import contracts

    contract = Contract.objects.filter(invoice=invoice).first()
    if contract is None:
        payment = Payment.objects.filter(invoice=invoice).first()
        if payment is None:
            return None
        if payment.status in (*IN_FLIGHT_STATUSES, *WAITING_STATUSES):
            payment = resolve_payment(payment, okpay_settings=okpay_settings)
        return payment

    if contract.status == ContractStatus.PENDING:
        pp = _provider_contract(contract, okpay_settings)
        if pp is not None:
            contracts.sync_contract_from_provider(contract, pp)
            contract.refresh_from_db()
    if contract.status == ContractStatus.ACTIVE:
        charge_waiting_payments(contract, okpay_settings=okpay_settings)
    payment = contract.payments.order_by("-pk").first()
    if payment is not None and payment.status in IN_FLIGHT_STATUSES:
        payment = resolve_payment(payment, okpay_settings=okpay_settings)
    return payment


def _provider_contract(contract: Contract, okpay_settings: OkPaySettings) -> Any | None:
    client = _client(okpay_settings)
    try:
        if contract.okpay_id is not None:
            return client.preapproved_payment_get(contract.okpay_id)
        found = client.preapproved_payments_filter(invoice=contract.invoice)
    except exceptions.NotFound:
        return None
    except exceptions.ProviderError as exc:
        logger.warning(
            "OKPAY contract %s lookup failed: %s", contract.invoice, exc.code
        )
        return None
    matching = [
        pp
        for pp in found
        if pp.invoice == contract.invoice
        and (
            not pp.merchant_wallet_id
            or pp.merchant_wallet_id == okpay_settings.wallet_id
        )
    ]
    # Several agreements for one invoice would be a provider oddity; the newest wins.
    return max(matching, key=lambda pp: pp.id) if matching else None


# --- cancel, refund, sync -------------------------------------------------------


def cancel_contract(
    contract: Contract, *, okpay_settings: OkPaySettings, comment: str = ""
) -> Contract:
    """Cancel the agreement at OKPAY (final) and close it here.

    A contract that OKPAY already closed is synced to OKPAY's status instead.
    Payments still waiting for it are canceled.
    """
    from okpay_gateway import contracts

    if contract.status in CLOSED_CONTRACT_STATUSES:
        return contract
    if contract.okpay_id is not None:
        client = _client(okpay_settings)
        try:
            client.preapproved_payment_cancel(
                contract.okpay_id, comment=comment or None
            )
        except exceptions.OperationNotAllowed:
            # Already closed at OKPAY (expired, revoked): take its word for it.
            pp = client.preapproved_payment_get(contract.okpay_id)
            contracts.sync_contract_from_provider(contract, pp)
            contract.refresh_from_db()
            if contract.status in CLOSED_CONTRACT_STATUSES:
                _cancel_waiting_payments(contract)
                return contract
            raise
    with transaction.atomic():
        _event(
            PaymentEventKind.CONTRACT_CANCEL,
            contract=contract,
            currency=contract.currency,
            invoice=contract.invoice,
            comment=comment,
            detail={"okpay_id": contract.okpay_id},
        )
        contracts.close_contract(contract, ContractStatus.CANCELED, "canceled")
    contract.refresh_from_db()
    _cancel_waiting_payments(contract)
    logger.info("OKPAY contract %s canceled", contract.okpay_id or contract.invoice)
    return contract


def _cancel_waiting_payments(contract: Contract) -> None:
    for pk in Payment.objects.filter(
        contract=contract, status__in=WAITING_STATUSES
    ).values_list("pk", flat=True):
        cancel_payment(Payment(pk=pk), reason="contract closed")


def cancel_payment(payment: Payment, *, reason: str = "") -> Payment:
    """Cancel a payment that has not been sent to OKPAY; others are returned as is."""
    with transaction.atomic():
        locked = _locked(payment.pk)
        if locked.status not in (*WAITING_STATUSES, PaymentStatus.DECLINED):
            return locked
        locked.status = PaymentStatus.CANCELED
        locked.save(update_fields=["status", "updated_at"])
        _event(
            PaymentEventKind.CANCEL,
            payment=locked,
            amount=locked.amount,
            comment=reason,
        )
        return locked


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
        locked = _locked(payment.pk)
        if locked.status not in CAPTURED_STATUSES:
            raise exceptions.OperationNotAllowed(
                f"payment {locked.invoice} is {locked.status}, not captured",
                fault_code="Incompatible_Payment_Status",
                operation="refund",
                user_message="Only a completed payment can be refunded.",
            )
        remaining = locked.amount - _refund_total(locked)
        value = remaining if amount is None else Decimal(amount)
        if value <= 0 or value > remaining:
            raise exceptions.InvalidRequest(
                f"refund of {value} is not between 0.01 and {remaining}",
                fault_code="Incorrect_Amount",
                operation="refund",
                field="amount",
                user_message=f"The refund must be between 0.01 and {remaining}.",
            )
        contract = locked.contract
        receiver = contract.client_wallet or contract.client_email if contract else ""
        if not receiver:
            raise exceptions.ConfigurationError(
                f"payment {locked.invoice} has no customer wallet to refund to"
            )
        attempt = (
            locked.events.filter(
                kind__in=[PaymentEventKind.REFUND, PaymentEventKind.REFUND_FAILED]
            ).count()
            + 1
        )
        invoice = f"{locked.invoice}-refund-{attempt}"
        client = _client(okpay_settings)
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
            _event(
                PaymentEventKind.REFUND_FAILED,
                payment=locked,
                amount=value,
                invoice=invoice,
                detail=_fault_detail(failure),
            )
        else:
            locked.refunded_amount = _refund_total(locked) + value
            locked.status = (
                PaymentStatus.REFUNDED
                if locked.refunded_amount >= locked.amount
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            locked.save(update_fields=["refunded_amount", "status", "updated_at"])
            _event(
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


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What :func:`sync_contracts` found at OKPAY."""

    seen: int = 0
    new: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    closed: tuple[int, ...] = ()
    errors: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return (
            f"{self.seen} agreements: {len(self.new)} new, {len(self.changed)} changed,"
            f" {len(self.closed)} closed, {len(self.errors)} errors"
        )


_PROVIDER_STATUS = {
    "Active": ContractStatus.ACTIVE,
    "Canceled": ContractStatus.CANCELED,
    "Failed": ContractStatus.FAILED,
    "Expired": ContractStatus.EXPIRED,
}


def _snapshot(contract: Contract) -> tuple[Any, ...]:
    return (
        contract.status,
        contract.available_amount,
        contract.client_wallet,
        contract.end_date,
        contract.okpay_id,
    )


def sync_contracts(*, okpay_settings: OkPaySettings) -> SyncReport:
    """Bring every Contract row in line with OKPAY's list of agreements."""
    from okpay_gateway import contracts

    client = _client(okpay_settings)
    provider_contracts = client.preapproved_payments_filter(
        statuses=["Active", "Canceled", "Failed", "Expired"]
    )
    new: list[int] = []
    changed: list[int] = []
    closed: list[int] = []
    errors: list[str] = []
    seen = 0
    for pp in provider_contracts:
        if pp.merchant_wallet_id and pp.merchant_wallet_id != okpay_settings.wallet_id:
            continue
        seen += 1
        contract = Contract.objects.filter(okpay_id=pp.id).first()
        if contract is None and pp.invoice:
            contract = Contract.objects.filter(invoice=pp.invoice).first()
        created = contract is None
        if contract is None:
            # An agreement made outside this shop (or before it kept rows):
            # start from OKPAY's status, closed ones never pass through pending.
            status = _PROVIDER_STATUS.get(str(getattr(pp.status, "value", pp.status)))
            closed_now = status in CLOSED_CONTRACT_STATUSES
            contract = Contract.objects.create(
                okpay_id=pp.id,
                receiver_wallet=okpay_settings.wallet_id,
                title=(pp.title or f"Agreement {pp.id}")[:127],
                currency=pp.currency or "",
                invoice=pp.invoice or f"okpay-{pp.id}",
                status=status if closed_now else ContractStatus.PENDING,
                closed_at=timezone.now() if closed_now else None,
            )
        before = _snapshot(contract)
        was_open = contract.status not in CLOSED_CONTRACT_STATUSES
        try:
            contracts.sync_contract_from_provider(contract, pp)
        except exceptions.OkPayError as exc:
            errors.append(f"{pp.id}: {exc}")
            continue
        contract.refresh_from_db()
        if created:
            new.append(pp.id)
        elif _snapshot(contract) != before:
            changed.append(pp.id)
        if was_open and contract.status in CLOSED_CONTRACT_STATUSES:
            closed.append(pp.id)
    report = SyncReport(
        seen=seen,
        new=tuple(new),
        changed=tuple(changed),
        closed=tuple(closed),
        errors=tuple(errors),
    )
    logger.info("OKPAY contract sync: %s", report)
    return report


def manual_invoice(contract: Contract) -> str:
    """A fresh invoice for a merchant-initiated charge from the admin."""
    return f"manual-{contract.pk}-{uuid.uuid4().hex[:12]}"


__all__: list[str] = [
    "AgreementTerms",
    "SyncReport",
    "authorize_on_contract",
    "begin_contract_charge",
    "cancel_contract",
    "cancel_payment",
    "charge_contract",
    "charge_payment",
    "charge_waiting_payments",
    "complete_from_return",
    "complete_payment_from_notification",
    "contracts_for_reference",
    "decline_message",
    "finish_charge",
    "manual_invoice",
    "refund_payment",
    "register_channel_settings",
    "request_agreement",
    "resolve_payment",
    "settings_for_channel",
    "sync_contracts",
]
