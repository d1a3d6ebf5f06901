"""The Transactions API webhooks: Saleor's payload in, Saleor's answer out.

Each handler takes the verified installation and the webhook's ``event``
payload (the shape of :mod:`.documents`) and returns the JSON Saleor expects
from that synchronous webhook. Money moves only through
:mod:`okpay_gateway.payments`; invoices are derived from Saleor's transaction
token, so a webhook Saleor sends again finds the same payment and never
charges twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from okpay_gateway import payments
from okpay_gateway.exceptions import OkPayError
from okpay_gateway.models import FeePayer, Payment, PaymentStatus
from okpay_gateway.provider.settings import OkPaySettings

from . import agreements, conf, reports
from .models import Installation, TransactionLink

logger = logging.getLogger(__name__)

AUTHORIZATION = "AUTHORIZATION"


class BadPayload(ValueError):
    """The webhook's payload lacks what the handler needs (answered 400)."""


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise BadPayload(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or amount <= 0:
        raise BadPayload(f"not a positive amount: {value!r}")
    return amount


def _money(amount: Decimal) -> str:
    return str(amount)


def _source(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("sourceObject") or {}


def _channel_slug(source: dict[str, Any]) -> str:
    return str((source.get("channel") or {}).get("slug") or "")


def _transaction(event: dict[str, Any]) -> dict[str, Any]:
    txn = event.get("transaction") or {}
    if not txn.get("id") or not txn.get("token"):
        raise BadPayload("the payload has no transaction id and token")
    return txn


# Invoices of the App's payments and agreements carry these prefixes, so the
# signal receivers recognise the App's rows without a query on every IPN.
PAYMENT_INVOICE_PREFIX = "saleor-app-"
AGREEMENT_INVOICE_PREFIX = "saleor-app-agr-"


def payment_invoice(txn: dict[str, Any]) -> str:
    return f"{PAYMENT_INVOICE_PREFIX}{txn['token']}"


def agreement_invoice(txn: dict[str, Any]) -> str:
    return f"{AGREEMENT_INVOICE_PREFIX}{txn['token']}"


def _settings(channel: str) -> OkPaySettings:
    return payments.settings_for_channel(channel)


def _terms() -> payments.AgreementTerms:
    days = conf.setting("VALIDITY_DAYS")
    return payments.AgreementTerms(
        title=str(conf.setting("AGREEMENT_TITLE"))[:127],
        daily_amount=conf.decimal_or_none("DAILY_LIMIT"),
        weekly_amount=conf.decimal_or_none("WEEKLY_LIMIT"),
        monthly_amount=conf.decimal_or_none("MONTHLY_LIMIT"),
        end_date=timezone.now().date() + timedelta(days=int(days)) if days else None,
        fee_payer=FeePayer.CLIENT
        if conf.setting("FEE_PAYER") == "client"
        else FeePayer.MERCHANT,
    )


def _link(
    installation: Installation,
    txn: dict[str, Any],
    payment: Payment,
    source: dict[str, Any],
) -> TransactionLink:
    link, _ = TransactionLink.objects.get_or_create(
        installation=installation,
        saleor_transaction_id=str(txn["id"]),
        defaults={
            "payment": payment,
            "source_object_id": str(source.get("id") or ""),
            "saleor_user_id": str((source.get("user") or {}).get("id") or ""),
            "channel_slug": _channel_slug(source),
        },
    )
    return link


def _linked_payment(installation: Installation, txn: dict[str, Any]) -> Payment | None:
    link = (
        TransactionLink.objects.select_related("payment")
        .filter(installation=installation, saleor_transaction_id=str(txn.get("id")))
        .first()
    )
    return link.payment if link else None


def _result_for(payment: Payment, *, pending: str) -> dict[str, Any]:
    """Saleor's answer for a charge in the payment's current state."""
    answer: dict[str, Any] = {
        "amount": _money(payment.amount),
        "pspReference": reports.psp_reference(payment),
    }
    outcome = reports.outcome_type(payment)
    if outcome == reports.CHARGE_SUCCESS:
        answer["result"] = reports.CHARGE_SUCCESS
    elif outcome == reports.CHARGE_FAILURE:
        answer["result"] = reports.CHARGE_FAILURE
        answer["message"] = payments.decline_message(payment.decline_code)
    else:
        answer["result"] = pending
    return answer


def _answered(link: TransactionLink, payment: Payment, answer: dict[str, Any]) -> None:
    # A final result in the webhook's answer is the report: claim its key so
    # the IPN or the return do not send it a second time.
    if answer["result"] in (reports.CHARGE_SUCCESS, reports.CHARGE_FAILURE):
        reports.claim(
            link,
            payment,
            answer["result"],
            delivered=True,
            message=answer.get("message", ""),
        )


# --- checkout ----------------------------------------------------------------


def payment_gateway_initialize(
    installation: Installation, event: dict[str, Any]
) -> dict[str, Any]:
    """What the storefront needs before ``transactionInitialize``."""
    source = _source(event)
    channel = _channel_slug(source)
    saved = [
        {"currency": contract.currency, "title": contract.title}
        for currency in conf.currencies()
        if (
            contract := agreements.active_agreement(
                installation, source.get("user"), currency, channel
            )
        )
        is not None
    ]
    return {
        "data": {
            "currencies": conf.currencies(),
            "agreements": saved,
            "flow": "redirect",
        }
    }


def transaction_initialize(
    installation: Installation, event: dict[str, Any]
) -> dict[str, Any]:
    """Charge an active agreement at once, or hand back the approval link."""
    txn = _transaction(event)
    action = event.get("action") or {}
    amount = _amount(action.get("amount"))
    currency = str(action.get("currency") or "").upper()
    source = _source(event)
    channel = _channel_slug(source)
    invoice = payment_invoice(txn)
    if currency not in conf.currencies():
        return {
            "result": "CHARGE_FAILURE",
            "amount": _money(amount),
            "pspReference": invoice,
            "message": f"OKPAY does not accept {currency} here.",
        }
    okpay_settings = _settings(channel)
    user = source.get("user")
    existing = _linked_payment(installation, txn)
    if existing is not None and existing.status != PaymentStatus.ACTION_REQUIRED:
        return _result_for(existing, pending="CHARGE_REQUEST")
    contract = agreements.active_agreement(installation, user, currency, channel)
    if contract is None:
        return _request_agreement(
            installation, event, txn, source, amount, currency, okpay_settings
        )
    try:
        if action.get("actionType") == AUTHORIZATION:
            payment = payments.authorize_on_contract(
                contract, amount=amount, invoice=invoice, host_reference=str(txn["id"])
            )
        else:
            payment = payments.charge_contract(
                contract,
                amount=amount,
                invoice=invoice,
                description=f"Saleor {event.get('merchantReference') or txn['id']}",
                okpay_settings=okpay_settings,
            )
    except OkPayError as exc:
        return {
            "result": "CHARGE_FAILURE",
            "amount": _money(amount),
            "pspReference": invoice,
            "message": exc.user_message,
        }
    link = _link(installation, txn, payment, source)
    if payment.status == PaymentStatus.PENDING:
        return {
            "result": "AUTHORIZATION_SUCCESS",
            "amount": _money(amount),
            "pspReference": invoice,
        }
    answer = _result_for(payment, pending="CHARGE_REQUEST")
    _answered(link, payment, answer)
    return answer


def _request_agreement(
    installation: Installation,
    event: dict[str, Any],
    txn: dict[str, Any],
    source: dict[str, Any],
    amount: Decimal,
    currency: str,
    okpay_settings: OkPaySettings,
) -> dict[str, Any]:
    channel = _channel_slug(source)
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    contract_invoice = agreement_invoice(txn)
    user = source.get("user") or {}
    email = str(
        source.get("email") or source.get("userEmail") or user.get("email") or ""
    )
    return_base = conf.app_url("return/")
    try:
        payment, link = payments.request_agreement(
            payment_invoice=payment_invoice(txn),
            contract_invoice=contract_invoice,
            amount=amount,
            currency=currency,
            terms=_terms(),
            okpay_settings=okpay_settings,
            channel=channel,
            ipn_url=conf.app_url(f"ipn/{channel}/")
            if channel
            else conf.app_url("ipn/"),
            return_success=f"{return_base}?{urlencode({'invoice': contract_invoice})}",
            return_fail=f"{return_base}?{urlencode({'invoice': contract_invoice, 'failed': '1'})}",
            host_reference=str(txn["id"]),
            return_url=str(data.get("returnUrl") or "")[:1000],
            description=f"Saleor {event.get('merchantReference') or txn['id']}",
            payer_email=email,
        )
    except OkPayError as exc:
        return {
            "result": "CHARGE_FAILURE",
            "amount": _money(amount),
            "pspReference": payment_invoice(txn),
            "message": exc.user_message,
        }
    _link(installation, txn, payment, source)
    agreements.link_customer(installation, source.get("user"), payment.contract)
    return {
        "result": "CHARGE_ACTION_REQUIRED",
        "amount": _money(amount),
        "pspReference": payment.invoice,
        "data": {
            "redirectUrl": link.url,
            "method": "GET",
            "action": link.action,
            "fields": link.as_dict(),
        },
    }


def transaction_process(
    installation: Installation, event: dict[str, Any]
) -> dict[str, Any]:
    """The storefront is back from OKPAY: ask OKPAY, then answer the state."""
    txn = _transaction(event)
    payment = _linked_payment(installation, txn)
    if payment is None:
        raise BadPayload("unknown transaction")
    if reports.outcome_type(payment) is None and payment.contract is not None:
        try:
            payments.complete_from_return(
                invoice=payment.contract.invoice,
                okpay_settings=_settings(payment.channel),
            )
        except OkPayError as exc:
            logger.warning("OKPAY return for %s failed: %s", payment.invoice, exc.code)
        payment.refresh_from_db()
    answer = _result_for(payment, pending="CHARGE_ACTION_REQUIRED")
    _answered(payment.saleor_app_transaction, payment, answer)
    return answer


# --- actions on an existing transaction -------------------------------------


def _unknown(kind: str, event: dict[str, Any]) -> dict[str, Any]:
    action = event.get("action") or {}
    txn = event.get("transaction") or {}
    return {
        "result": f"{kind}_FAILURE",
        "amount": str(action.get("amount") or "0"),
        "pspReference": str(txn.get("pspReference") or txn.get("id") or ""),
        "message": "Unknown OKPAY payment.",
    }


def transaction_charge(
    installation: Installation, event: dict[str, Any]
) -> dict[str, Any]:
    """Capture an authorized payment (authorize-then-charge channels)."""
    payment = _linked_payment(installation, event.get("transaction") or {})
    if payment is None:
        return _unknown("CHARGE", event)
    if reports.outcome_type(payment) is None:
        try:
            payment = payments.charge_payment(
                payment, okpay_settings=_settings(payment.channel)
            )
        except OkPayError as exc:
            return {
                "result": "CHARGE_FAILURE",
                "amount": _money(payment.amount),
                "pspReference": payment.invoice,
                "message": exc.user_message,
            }
    answer = _result_for(payment, pending="CHARGE_REQUEST")
    if answer["result"] == "CHARGE_REQUEST":
        # Saleor's charge-requested answer knows only success and failure;
        # the outcome follows with transactionEventReport once resolved.
        return {"pspReference": payment.invoice}
    _answered(payment.saleor_app_transaction, payment, answer)
    return answer


def transaction_refund(
    installation: Installation, event: dict[str, Any]
) -> dict[str, Any]:
    """Send money back to the customer's wallet (``Send_Money``)."""
    payment = _linked_payment(installation, event.get("transaction") or {})
    if payment is None:
        return _unknown("REFUND", event)
    amount = _amount((event.get("action") or {}).get("amount"))
    try:
        payment = payments.refund_payment(
            payment, amount=amount, okpay_settings=_settings(payment.channel)
        )
    except OkPayError as exc:
        return {
            "result": "REFUND_FAILURE",
            "amount": _money(amount),
            "pspReference": reports.psp_reference(payment),
            "message": exc.user_message,
        }
    refund = payment.events.filter(kind="refund").order_by("-pk").first()
    return {
        "result": "REFUND_SUCCESS",
        "amount": _money(amount),
        "pspReference": str(refund.okpay_txn_id)
        if refund and refund.okpay_txn_id
        else payment.invoice,
    }


def transaction_cancel(
    installation: Installation, event: dict[str, Any]
) -> dict[str, Any]:
    """Cancel a payment nothing was charged for yet."""
    payment = _linked_payment(installation, event.get("transaction") or {})
    if payment is None:
        return _unknown("CANCEL", event)
    payment = payments.cancel_payment(payment, reason="canceled in Saleor")
    answer: dict[str, Any] = {
        "amount": _money(payment.amount),
        "pspReference": reports.psp_reference(payment),
    }
    if payment.status == PaymentStatus.CANCELED:
        answer["result"] = "CANCEL_SUCCESS"
    else:
        answer["result"] = "CANCEL_FAILURE"
        answer["message"] = "The payment was already charged; refund it instead."
    return answer
