"""Payload builders and helpers shared by the App's tests."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

SCHEMA_NAME = "schema-3.24.0a0.graphql"


def _schema_path() -> Path:
    # ../shared/saleor beside the checkout; a git worktree sits one level deeper.
    here = Path(__file__).resolve()
    for parent in here.parents[2:5]:
        candidate = parent / "shared" / "saleor" / SCHEMA_NAME
        if candidate.is_file():
            return candidate
    return here.parents[3] / "shared" / "saleor" / SCHEMA_NAME


SCHEMA_PATH = _schema_path()
CHANNEL = "default-channel"
CHANNEL_ID = base64.b64encode(b"Channel:1").decode()
USER_ID = base64.b64encode(b"User:7").decode()
CUSTOMER_EMAIL = "alice@example.com"


def saleor_schema(required: bool = False):
    """graphql-core schema of Saleor 3.24, or None (skip/fail when ``required``)."""
    if not SCHEMA_PATH.is_file():
        if required:
            message = f"Saleor's schema not found at {SCHEMA_PATH}"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        return None
    from graphql import build_schema

    return build_schema(SCHEMA_PATH.read_text())


def gid(kind: str, pk: Any) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def address() -> dict[str, Any]:
    return {
        "firstName": "Alice",
        "lastName": "Payer",
        "companyName": "",
        "streetAddress1": "1 Main St",
        "streetAddress2": "",
        "city": "NEW YORK",
        "cityArea": "",
        "postalCode": "10001",
        "country": {"code": "US"},
        "countryArea": "NY",
        "phone": "",
    }


def user(metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": USER_ID,
        "email": CUSTOMER_EMAIL,
        "privateMetadata": [
            {"key": key, "value": value} for key, value in (metadata or {}).items()
        ],
    }


def checkout(*, with_user: bool = True, metadata: dict[str, str] | None = None) -> dict:
    return {
        "__typename": "Checkout",
        "id": gid("Checkout", uuid.uuid4()),
        "email": CUSTOMER_EMAIL,
        "channel": {"id": CHANNEL_ID, "slug": CHANNEL},
        "user": user(metadata) if with_user else None,
        "billingAddress": address(),
    }


def transaction(token: str | None = None) -> dict[str, Any]:
    token = token or str(uuid.uuid4())
    return {"id": gid("TransactionItem", token), "token": token, "pspReference": ""}


def initialize_event(
    *,
    amount: str = "20.00",
    currency: str = "USD",
    txn: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
    action_type: str = "CHARGE",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "data": data or {"returnUrl": "https://shop.example.com/checkout/done"},
        "merchantReference": "checkout-1",
        "idempotencyKey": str(uuid.uuid4()),
        "customerIpAddress": "127.0.0.1",
        "action": {"amount": amount, "currency": currency, "actionType": action_type},
        "transaction": txn or transaction(),
        "sourceObject": source or checkout(),
    }


def action_event(txn: dict[str, Any], amount: str, currency: str = "USD") -> dict:
    return {
        "action": {"amount": amount, "currency": currency, "actionType": "CHARGE"},
        "transaction": txn,
    }


def money(value: str) -> Decimal:
    return Decimal(value)


def approve_at_okpay(
    fields: dict[str, str], *, notify: bool = True, status: str = "Active"
):
    """The customer approves (or with ``status="Failed"`` declines) on OKPAY's page."""
    from okpay_gateway.emulator import operations
    from okpay_gateway.emulator.models import Wallet
    from tests.payments.support import CUSTOMER_WALLET, MERCHANT_WALLET

    return operations.grant_contract(
        receiver=Wallet.objects.get(wallet_id=MERCHANT_WALLET),
        client=Wallet.objects.get(wallet_id=CUSTOMER_WALLET),
        title=fields["ok_p_title"],
        currency=fields["ok_currency"],
        monthly_limit=Decimal(fields["ok_p_monthly_amount"]),
        invoice=fields["ok_invoice"],
        ipn_url=fields["ok_ipn"],
        notify=notify,
        status=status,
    )
