"""A tiny shop for the GraphQL tests: checkouts kept in a dict by token."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okpay_gateway.graphql.checkout import CheckoutInfo, CheckoutLineInfo
from tests.contrib.support import CHANNEL

CHECKOUTS: dict[str, CheckoutInfo] = {}


def resolve_checkout(token: str) -> CheckoutInfo | None:
    """``OKPAY_GRAPHQL_CHECKOUT_RESOLVER`` of the tests."""
    return CHECKOUTS.get(token)


def open_checkout(
    token: str,
    *,
    customer: Any = None,
    amount: str = "20.00",
    currency: str = "USD",
    email: str = "alice@example.com",
) -> CheckoutInfo:
    """Register a checkout for one monthly plan and return it."""
    checkout = CheckoutInfo(
        token=token,
        amount=Decimal(amount),
        currency=currency,
        channel=CHANNEL,
        email=email,
        customer=customer,
        lines=(
            CheckoutLineInfo(
                plan_id="pro",
                title="Pro plan",
                interval="month",
                amount=Decimal(amount),
            ),
        ),
    )
    CHECKOUTS[token] = checkout
    return checkout
