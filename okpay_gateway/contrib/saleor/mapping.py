"""Translation between Saleor's plugin types and the okpay_gateway core.

Configuration lists become :class:`OkPaySettings` and agreement terms;
``PaymentData`` becomes invoices and customers; core results and errors
become ``GatewayResponse`` objects. No business rule lives here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from okpay_gateway import conf, declines, payments
from okpay_gateway.exceptions import ConfigurationError
from okpay_gateway.host.compat import (
    GatewayResponse,
    PaymentMethodInfo,
    TransactionKind,
)
from okpay_gateway.models import PaymentStatus
from okpay_gateway.provider.currencies import SUPPORTED_CURRENCIES
from okpay_gateway.provider.settings import OkPaySettings

from . import consts

_WALLET_RE = re.compile(r"OK[0-9]{9}")


def config_values(configuration: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """``{name: value}`` of a plugin configuration list, defaults filled in."""
    values = dict(consts.DEFAULTS)
    for item in configuration or ():
        values[item["name"]] = item.get("value")
    return values


def text(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return "" if value is None else str(value).strip()


def flag(values: Mapping[str, Any], key: str) -> bool:
    value = values.get(key)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def currencies(values: Mapping[str, Any]) -> list[str]:
    return [
        code.strip().upper()
        for code in text(values, consts.SUPPORTED_CURRENCIES).split(",")
        if code.strip()
    ]


def decimal_or_none(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def limits(values: Mapping[str, Any]) -> dict[str, Decimal | None]:
    return {
        "daily_amount": decimal_or_none(text(values, consts.DAILY_LIMIT)),
        "weekly_amount": decimal_or_none(text(values, consts.WEEKLY_LIMIT)),
        "monthly_amount": decimal_or_none(text(values, consts.MONTHLY_LIMIT)),
    }


def validity_days(values: Mapping[str, Any]) -> int | None:
    raw = text(values, consts.VALIDITY_DAYS)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def config_errors(values: Mapping[str, Any], *, active: bool) -> dict[str, str]:
    """Problems with a configuration, keyed by field name (empty when usable)."""
    errors: dict[str, str] = {}
    wallet = text(values, consts.WALLET_ID)
    if active and not wallet:
        errors[consts.WALLET_ID] = (
            "The OKPAY wallet ID is required to activate the plugin."
        )
    elif wallet and not _WALLET_RE.fullmatch(wallet):
        errors[consts.WALLET_ID] = (
            "The wallet ID must be OK followed by 9 digits, e.g. OK123456789."
        )
    if active and not text(values, consts.API_PASSWORD):
        errors[consts.API_PASSWORD] = (
            "The API password is required to activate the plugin."
        )
    environment = text(values, consts.ENVIRONMENT) or "live"
    if environment not in consts.ENVIRONMENTS:
        errors[consts.ENVIRONMENT] = (
            f"Unknown environment {environment!r}: use live, sandbox or emulator."
        )
    unknown = [code for code in currencies(values) if code not in SUPPORTED_CURRENCIES]
    if unknown:
        errors[consts.SUPPORTED_CURRENCIES] = (
            f"OKPAY does not support {', '.join(unknown)}; supported: "
            f"{', '.join(SUPPORTED_CURRENCIES)}."
        )
    elif not currencies(values):
        errors[consts.SUPPORTED_CURRENCIES] = "Give at least one currency, e.g. USD."
    if flag(values, consts.ACCEPT_TEST_IPN) and environment == "live":
        errors[consts.ACCEPT_TEST_IPN] = (
            "Test IPNs cannot be accepted in the live environment."
        )
    given_limits = 0
    for key in (consts.DAILY_LIMIT, consts.WEEKLY_LIMIT, consts.MONTHLY_LIMIT):
        raw = text(values, key)
        if not raw:
            continue
        given_limits += 1
        value = decimal_or_none(raw)
        if value is None or value <= 0 or value != value.quantize(Decimal("0.01")):
            errors[key] = "The limit must be a positive amount with at most 2 decimals."
    if given_limits == 0:
        errors[consts.MONTHLY_LIMIT] = (
            "Give at least one limit: daily, weekly or monthly amount."
        )
    if text(values, consts.VALIDITY_DAYS):
        days = validity_days(values)
        if days is None or days <= 0:
            errors[consts.VALIDITY_DAYS] = (
                "The contract validity must be a positive number of days."
            )
    if text(values, consts.FEE_PAYER) not in consts.FEE_PAYERS:
        errors[consts.FEE_PAYER] = "The fee payer must be merchant or client."
    for key in (consts.CONNECT_TIMEOUT, consts.READ_TIMEOUT):
        value = decimal_or_none(text(values, key))
        if value is None or value <= 0:
            errors[key] = "The timeout must be a positive number of seconds."
    return errors


def settings_from_config(values: Mapping[str, Any]) -> OkPaySettings:
    """Provider settings from plugin configuration; raises ConfigurationError."""
    mapping: dict[str, Any] = {
        "WALLET_ID": text(values, consts.WALLET_ID),
        "API_PASSWORD": text(values, consts.API_PASSWORD),
        "ENVIRONMENT": text(values, consts.ENVIRONMENT) or "live",
        "RECEIVER_EMAIL": text(values, consts.RECEIVER_EMAIL),
        "ACCEPT_TEST_IPN": flag(values, consts.ACCEPT_TEST_IPN),
    }
    if text(values, consts.EMULATOR_URL):
        mapping["EMULATOR_URL"] = text(values, consts.EMULATOR_URL)
    # Blank URLs keep the environment's defaults.
    for key, name in (
        (consts.API_URL, "API_URL"),
        (consts.CHECKOUT_URL, "CHECKOUT_URL"),
        (consts.VERIFY_URL, "VERIFY_URL"),
    ):
        if text(values, key):
            mapping[name] = text(values, key)
    for key, name in (
        (consts.CONNECT_TIMEOUT, "CONNECT_TIMEOUT"),
        (consts.READ_TIMEOUT, "READ_TIMEOUT"),
    ):
        value = decimal_or_none(text(values, key))
        if value is None:
            raise ConfigurationError(f"{key} must be a number of seconds")
        mapping[name] = float(value)
    if mapping["ENVIRONMENT"] == "live":
        # accept_test_ipn is refused in live; the validation message says so.
        mapping["ACCEPT_TEST_IPN"] = False
    return conf.settings_from_mapping(mapping)


# --- PaymentData ----------------------------------------------------------------


def payment_invoice(payment_information: Any) -> str:
    """Our invoice for a host payment: stable across retries of the same payment."""
    return f"pay-{payment_information.payment_id}"


def contract_invoice(payment_information: Any) -> str:
    return f"agr-{payment_information.payment_id}"


def customer_pk(payment_information: Any) -> int | None:
    """The host user's primary key from ``graphql_customer_id`` (``User:<pk>``)."""
    value = getattr(payment_information, "graphql_customer_id", None)
    if not value:
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    kind, _, pk = decoded.partition(":")
    return int(pk) if kind == "User" and pk.isdigit() else None


def requested_invoice(payment_information: Any) -> str:
    """The invoice a capture/confirm/refund/void is about (the confirm token)."""
    token = getattr(payment_information, "token", None)
    if token and str(token).startswith("pay-"):
        return str(token)
    return payment_invoice(payment_information)


# --- GatewayResponse ------------------------------------------------------------


def method_info(contract: Any) -> Any:
    """Card-shaped details for an agreement (Saleor reads them unconditionally)."""
    okpay_id = str(contract.okpay_id or "")
    end = contract.end_date
    return PaymentMethodInfo(
        last_4=okpay_id[-4:] or None,
        exp_year=end.year if end else None,
        exp_month=end.month if end else None,
        brand=consts.SOURCE_BRAND,
        name=contract.title,
        type=consts.SOURCE_TYPE,
    )


def _base(payment_information: Any, **kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "amount": payment_information.amount,
        "currency": payment_information.currency,
        "error": None,
        "action_required": False,
    }
    values.update(kwargs)
    return GatewayResponse(**values)


def failure(
    payment_information: Any,
    message: str,
    *,
    kind: str | None = None,
    raw_response: dict[str, str] | None = None,
) -> Any:
    return _base(
        payment_information,
        is_success=False,
        kind=kind or TransactionKind.CAPTURE,
        transaction_id=requested_invoice(payment_information),
        error=message,
        raw_response=raw_response,
    )


def error_failure(payment_information: Any, exc: Any, payment: Any = None) -> Any:
    """The failure for an :class:`OkPayError`, in the shopper's terms.

    ``payment`` (ours, when known) decides whether a new agreement is offered.
    """
    can_replace = payment is not None and declines.unusable_agreement(payment.contract)
    advice = declines.advice_for(exc.code, default=exc.user_message)
    return failure(
        payment_information,
        advice.message(can_replace=can_replace),
        raw_response=advice_fields(exc.code, can_replace),
    )


def advice_fields(code: str, can_replace: bool) -> dict[str, str]:
    """What a storefront needs to offer the way out (``raw_response``).

    ``okpay_new_agreement`` is "true" when paying again with
    ``paymentData: {"okpay_new_agreement": true}`` replaces the customer's
    agreement that cannot pay with a new one.
    """
    return {
        "okpay_error": code,
        "okpay_new_agreement": "true" if can_replace else "false",
        "okpay_retry": "true" if declines.advice_for(code).retry else "false",
    }


def wants_new_agreement(payment_information: Any) -> bool:
    """Whether the storefront asked to replace an agreement that cannot pay."""
    data = getattr(payment_information, "data", None) or {}
    return flag(data, consts.NEW_AGREEMENT_KEY)


def action_required(payment_information: Any, payment: Any, link: Any) -> Any:
    return _base(
        payment_information,
        is_success=True,
        action_required=True,
        kind=TransactionKind.ACTION_TO_CONFIRM,
        transaction_id=payment.invoice,
        action_required_data={
            "redirect_url": link.url,
            "method": "GET",
            "action": link.action,
            "fields": link.as_dict(),
        },
    )


def response_for_payment(
    payment_information: Any,
    payment: Any,
    *,
    already_processed: bool = False,
    waiting_kind: str | None = None,
) -> Any:
    """The GatewayResponse describing our ``payment``'s current state."""
    contract = payment.contract
    customer_id = str(contract.okpay_id) if contract and contract.okpay_id else None
    info = method_info(contract) if contract else None
    common = {
        "transaction_id": payment.invoice,
        "customer_id": customer_id,
        "payment_method_info": info,
        "psp_reference": str(payment.okpay_txn_id) if payment.okpay_txn_id else None,
    }
    if payment.status in payments.CAPTURED_STATUSES:
        return _base(
            payment_information,
            is_success=True,
            kind=TransactionKind.CAPTURE,
            amount=payment.amount,
            currency=payment.currency,
            transaction_already_processed=already_processed,
            **common,
        )
    if payment.status in payments.IN_FLIGHT_STATUSES:
        return _base(
            payment_information, is_success=True, kind=TransactionKind.PENDING, **common
        )
    if payment.status == PaymentStatus.DECLINED or (
        payment.status == PaymentStatus.PENDING
        and payment.decline_code in declines.CONFIGURATION_CODES
    ):
        can_replace = declines.unusable_agreement(contract)
        return _base(
            payment_information,
            is_success=False,
            kind=TransactionKind.CAPTURE,
            error=declines.advice_for(payment.decline_code).message(
                can_replace=can_replace
            ),
            raw_response=advice_fields(payment.decline_code, can_replace),
            **common,
        )
    if payment.status == PaymentStatus.CANCELED:
        return _base(
            payment_information,
            is_success=False,
            kind=TransactionKind.CAPTURE,
            error="The payment was canceled.",
            **common,
        )
    return _base(
        payment_information,
        is_success=True,
        kind=waiting_kind or TransactionKind.PENDING,
        **common,
    )
