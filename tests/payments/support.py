"""Shared set-up for tests that run the core against the in-process emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from okpay_gateway import clients, conf
from okpay_gateway.emulator.adapter import emulator_session
from okpay_gateway.emulator.seed import load_seed
from okpay_gateway.models import Contract, ContractStatus
from okpay_gateway.provider.settings import OkPaySettings

EMULATOR_BASE = "http://okpay.emulator/"
MERCHANT_WALLET = "OK426375901"
MERCHANT_API_PASSWORD = "merchant-api-pass"
CUSTOMER_WALLET = "OK426375911"
CUSTOMER_EMAIL = "alice@example.com"
SESSION_FACTORY = "tests.payments.support.emulator_session_factory"


def emulator_session_factory() -> requests.Session:
    """The ``OKPAY_GATEWAY["SESSION_FACTORY"]`` of these tests."""
    return emulator_session(EMULATOR_BASE + "okpay-emulator/")


def gateway_settings(**extra: Any) -> dict[str, Any]:
    return {
        "ENVIRONMENT": "emulator",
        "EMULATOR_URL": EMULATOR_BASE + "okpay-emulator/",
        "WALLET_ID": MERCHANT_WALLET,
        "API_PASSWORD": MERCHANT_API_PASSWORD,
        "SESSION_FACTORY": SESSION_FACTORY,
        **extra,
    }


def use_emulator(settings: Any) -> OkPaySettings:
    """Point OKPAY_GATEWAY at the emulator (pytest-django ``settings`` fixture)."""
    settings.OKPAY_GATEWAY = gateway_settings()
    clients.reset()
    return conf.get_settings()


def seed_world(
    *,
    customer_balance: str = "500.00",
    merchant_balance: str = "100.00",
    monthly: str | None = "300.00",
    contract_invoice: str = "agr-seed-1",
) -> int:
    """Merchant + customer wallets and one Active agreement; returns its OKPAY id."""
    summary = load_seed(
        {
            "wallets": [
                {
                    "wallet_id": MERCHANT_WALLET,
                    "email": "merchant@example.com",
                    "name": "Merchant",
                    "api_password": MERCHANT_API_PASSWORD,
                    "api_enabled": True,
                    "balances": {"USD": merchant_balance},
                },
                {
                    "wallet_id": CUSTOMER_WALLET,
                    "email": CUSTOMER_EMAIL,
                    "name": "Alice",
                    "password": "customer-pass",
                    "balances": {"USD": customer_balance},
                },
            ],
            "contracts": [
                {
                    "receiver": MERCHANT_WALLET,
                    "client": CUSTOMER_WALLET,
                    "title": "Hosting",
                    "currency": "USD",
                    "monthly_amount": monthly,
                    "status": "Active",
                    "invoice": contract_invoice,
                }
            ],
        }
    )
    return summary.contract_ids[0]


def local_contract(okpay_id: int | None, **fields: Any) -> Contract:
    """Our Contract row mirroring the seeded agreement."""
    values: dict[str, Any] = {
        "okpay_id": okpay_id,
        "receiver_wallet": MERCHANT_WALLET,
        "client_wallet": CUSTOMER_WALLET,
        "client_email": CUSTOMER_EMAIL,
        "title": "Hosting",
        "currency": "USD",
        "monthly_amount": Decimal("300.00"),
        "status": ContractStatus.ACTIVE,
        "invoice": "agr-seed-1",
    }
    values.update(fields)
    return Contract.objects.create(**values)
