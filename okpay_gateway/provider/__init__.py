"""OKPAY protocol layer: SOAP client, wire messages, faults (stdlib + zeep + requests).

Nothing here imports Django.
"""

from __future__ import annotations

from okpay_gateway.provider.auth import TokenSource, security_token
from okpay_gateway.provider.client import OPERATION_METHODS, OkPayClient
from okpay_gateway.provider.faults import (
    FAULT_TABLE,
    MONEY_MOVING_OPERATIONS,
    classify_fault,
    is_money_moving,
    translate_error,
)
from okpay_gateway.provider.messages import (
    AccountInfo,
    Address,
    AddressType,
    Balance,
    ClientStatus,
    HistoryInfo,
    HostedSubscriptionStatus,
    OperationStatus,
    PreapprovedPayment,
    PreapprovedPaymentStatus,
    Subscription,
    SubscriptionCycleInterval,
    TransactionInfo,
    VerificationStatus,
    WithdrawalInfo,
    charge_comment,
    format_okpay_datetime,
    parse_okpay_datetime,
    split_charge_comment,
    validate_amount,
)
from okpay_gateway.provider.settings import Environment, OkPaySettings

__all__ = [
    "FAULT_TABLE",
    "MONEY_MOVING_OPERATIONS",
    "OPERATION_METHODS",
    "AccountInfo",
    "Address",
    "AddressType",
    "Balance",
    "ClientStatus",
    "Environment",
    "HistoryInfo",
    "HostedSubscriptionStatus",
    "OkPayClient",
    "OkPaySettings",
    "OperationStatus",
    "PreapprovedPayment",
    "PreapprovedPaymentStatus",
    "Subscription",
    "SubscriptionCycleInterval",
    "TokenSource",
    "TransactionInfo",
    "VerificationStatus",
    "WithdrawalInfo",
    "charge_comment",
    "classify_fault",
    "format_okpay_datetime",
    "is_money_moving",
    "parse_okpay_datetime",
    "security_token",
    "split_charge_comment",
    "translate_error",
    "validate_amount",
]
