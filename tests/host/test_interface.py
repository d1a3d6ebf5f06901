from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal

import pytest

from okpay_gateway.host.currencies import get_supported_currencies
from okpay_gateway.host.interface import (
    CustomerSource,
    GatewayConfig,
    GatewayResponse,
    PaymentData,
    PaymentLinesData,
    PaymentMethodInfo,
    StorePaymentMethodEnum,
)
from okpay_gateway.host.payment import (
    ALLOWED_GATEWAY_KINDS,
    ChargeStatus,
    PaymentError,
    TransactionKind,
)


def test_payment_data_field_order_and_defaults_match_saleor(payment_data):
    """PaymentData has Saleor's fields in Saleor's order with Saleor's defaults."""
    assert [f.name for f in fields(PaymentData)] == [
        "gateway", "amount", "currency", "billing", "shipping", "payment_id",
        "graphql_payment_id", "order_id", "customer_ip_address", "customer_email",
        "order_channel_slug", "token", "customer_id", "reuse_source", "data",
        "graphql_customer_id", "checkout_token", "checkout_metadata",
        "store_payment_method", "payment_metadata", "psp_reference", "refund_data",
        "transactions",
    ]  # fmt: skip
    assert payment_data.store_payment_method is StorePaymentMethodEnum.NONE
    assert (payment_data.payment_metadata, payment_data.transactions) == ({}, [])
    assert "_resolve_lines_data" not in asdict(payment_data)


def test_payment_data_lines_data_resolved_lazily_once():
    """lines_data calls the resolver on first access and caches the result."""
    calls = []

    def resolve():
        calls.append(1)
        return PaymentLinesData(Decimal("1"), Decimal("0"), [])

    data = PaymentData(
        "g", Decimal("1"), "USD", None, None, 1, "x", "None", None, "e",
        _resolve_lines_data=resolve,
    )  # fmt: skip
    assert data.lines_data.shipping_amount == Decimal("1")
    assert data.lines_data is data.lines_data
    assert calls == [1]


def test_gateway_response_defaults_match_saleor():
    """Optional GatewayResponse fields default as in Saleor."""
    response = GatewayResponse(
        is_success=True,
        action_required=True,
        kind=TransactionKind.ACTION_TO_CONFIRM,
        amount=Decimal("3.00"),
        currency="EUR",
        transaction_id="INV-1",
        error=None,
    )
    assert (
        response.customer_id,
        response.payment_method_info,
        response.raw_response,
        response.action_required_data,
        response.transaction_already_processed,
        response.psp_reference,
    ) == (None, None, None, None, False, None)


def test_small_dataclasses_defaults_match_saleor():
    """GatewayConfig, CustomerSource and PaymentMethodInfo default as in Saleor."""
    config = GatewayConfig("okpay", True, "USD", {})
    assert (config.store_customer, config.require_3d_secure) == (False, False)
    source = CustomerSource(id="1", gateway="okpay")
    assert (source.credit_card_info, source.metadata) == (None, None)
    assert asdict(PaymentMethodInfo()) == dict.fromkeys(
        ["first_4", "last_4", "exp_year", "exp_month", "brand", "name", "type"]
    )


def test_transaction_kind_values_and_choices_match_saleor():
    """TransactionKind strings match Saleor and CHOICES omits the three failure kinds."""
    assert TransactionKind.ACTION_TO_CONFIRM == "action_to_confirm"
    assert TransactionKind.CAPTURE_FAILED == "capture_failed"
    assert set(ALLOWED_GATEWAY_KINDS) == {
        "external", "auth", "pending", "action_to_confirm", "refund",
        "refund_ongoing", "capture", "void", "confirm", "cancel",
    }  # fmt: skip


def test_charge_status_values_match_saleor():
    """ChargeStatus strings use Saleor's hyphenated spelling."""
    assert [value for value, _ in ChargeStatus.CHOICES] == [
        "not-charged", "pending", "partially-charged", "fully-charged",
        "partially-refunded", "fully-refunded", "refused", "cancelled",
    ]  # fmt: skip


def test_payment_error_exposes_message_and_code():
    """PaymentError carries .message and .code and prints the message."""
    with pytest.raises(PaymentError) as excinfo:
        raise PaymentError("Declined", code="not_enough_money")
    assert (excinfo.value.message, excinfo.value.code) == (
        "Declined",
        "not_enough_money",
    )
    assert str(excinfo.value) == "Declined"


def test_store_payment_method_enum_values_equal_names():
    """StorePaymentMethodEnum values equal their names and compare as strings."""
    assert [m.value for m in StorePaymentMethodEnum] == [
        "NONE",
        "ON_SESSION",
        "OFF_SESSION",
    ]
    assert StorePaymentMethodEnum["OFF_SESSION"] == "OFF_SESSION"


def test_get_supported_currencies_splits_and_strips():
    """Comma-separated currencies become a list; an empty setting gives []."""
    assert get_supported_currencies(GatewayConfig("g", True, "USD, EUR,", {}), "g") == [
        "USD",
        "EUR",
    ]
    assert get_supported_currencies(GatewayConfig("g", True, "", {}), "g") == []
