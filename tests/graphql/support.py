"""Helpers of the GraphQL tests."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.test import Client
from django.utils import timezone

from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.graphql.ids import to_global_id
from okpay_gateway.models import Contract, ContractStatus, Subscription
from tests.contrib.support import CHANNEL
from tests.payments.support import CUSTOMER_WALLET, MERCHANT_WALLET

GRAPHQL_URL = "/graphql/"


class GraphQLClient:
    """Posts operations to the endpoint as a storefront would."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            GRAPHQL_URL,
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
        )

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.raw(query, variables)
        assert response.status_code == 200, response.content
        return response.json()

    def login(self, user: Any) -> GraphQLClient:
        self.client.force_login(user)
        return self


def approve_at_okpay(fields: dict[str, str]) -> Any:
    """The customer approves the agreement on OKPAY's page (IPN sent)."""
    return operations.grant_contract(
        receiver=Wallet.objects.get(wallet_id=MERCHANT_WALLET),
        client=Wallet.objects.get(wallet_id=CUSTOMER_WALLET),
        title=fields["ok_p_title"],
        currency=fields["ok_currency"],
        monthly_limit=Decimal(fields["ok_p_monthly_amount"]),
        invoice=fields["ok_invoice"],
        ipn_url=fields["ok_ipn"],
        notify=True,
    )


def make_contract(okpay_id: int | None, customer: Any, **fields: Any) -> Contract:
    """Our row for an agreement of ``customer`` (default: the seeded active one)."""
    values: dict[str, Any] = {
        "okpay_id": okpay_id,
        "customer": customer,
        "channel": CHANNEL,
        "receiver_wallet": MERCHANT_WALLET,
        "client_wallet": CUSTOMER_WALLET,
        "client_email": getattr(customer, "email", ""),
        "title": "Hosting",
        "currency": "USD",
        "monthly_amount": Decimal("300.00"),
        "status": ContractStatus.ACTIVE,
        "invoice": f"agr-seed-{okpay_id}",
        "granted_at": timezone.now(),
    }
    values.update(fields)
    return Contract.objects.create(**values)


def make_subscription(contract: Any, customer: Any, **fields: Any) -> Subscription:
    now = timezone.now()
    values: dict[str, Any] = {
        "customer": customer,
        "email": getattr(customer, "email", ""),
        "contract": contract,
        "channel": CHANNEL,
        "title": "Pro plan",
        "amount": Decimal("20.00"),
        "currency": "USD",
        "interval_unit": "month",
        "anchor": now,
        "next_charge_at": now + timedelta(days=30),
    }
    values.update(fields)
    return Subscription.objects.create(**values)


def gid(type_name: str, row: Any) -> str:
    return to_global_id(type_name, row.pk)
