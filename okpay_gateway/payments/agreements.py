"""Agreements (pre-approved contracts): asking for one, the return, cancel, sync.

Lives next to :mod:`okpay_gateway.contracts` (the contract state machine):
these functions talk to OKPAY and then apply what it said through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from okpay_gateway import conf, contracts, exceptions
from okpay_gateway.models import (
    CLOSED_CONTRACT_STATUSES,
    Contract,
    ContractStatus,
    FeePayer,
    Payment,
    PaymentEventKind,
    PaymentStatus,
)
from okpay_gateway.payments.charging import charge_waiting_payments
from okpay_gateway.payments.ledger import (
    IN_FLIGHT_STATUSES,
    WAITING_STATUSES,
    cancel_payment,
    client_for,
    logger,
    record_event,
)
from okpay_gateway.payments.resolution import resolve_payment
from okpay_gateway.provider.links import (
    CheckoutLink,
    LinkItem,
    build_preapproved_link,
)
from okpay_gateway.provider.settings import OkPaySettings


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
        fee_payer=FeePayer(terms.fee_payer).ok_fees,
        payer={"ok_payer_email": payer_email} if payer_email else None,
        # Shown on the approval page as what approving costs at once (an
        # assumption about OKPAY's link, so LINK_FIRST_PAYMENT turns it off).
        first_payment=(
            [LinkItem(name=(description or terms.title)[:127], price=amount)]
            if conf.options().link_first_payment
            else []
        ),
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
        record_event(
            PaymentEventKind.CHECKOUT_LINK,
            payment=payment,
            contract=contract,
            amount=amount,
            detail={"action": link.action},
        )
    return payment, link


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
    client = client_for(okpay_settings)
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


def cancel_contract(
    contract: Contract, *, okpay_settings: OkPaySettings, comment: str = ""
) -> Contract:
    """Cancel the agreement at OKPAY (final) and close it here.

    A contract that OKPAY already closed is synced to OKPAY's status instead.
    Payments still waiting for it are canceled.
    """

    if contract.status in CLOSED_CONTRACT_STATUSES:
        return contract
    if contract.okpay_id is not None:
        client = client_for(okpay_settings)
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
        record_event(
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

    client = client_for(okpay_settings)
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
