"""Helpers for the core tests: emulator sessions, wallets and IPN delivery.

Everything talks to the real in-process emulator; the only transports of our
own are the two broken ones used to test what happens when OKPAY's verify
endpoint cannot be reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import BaseAdapter

from okpay_gateway.emulator import operations
from okpay_gateway.emulator.adapter import emulator_session as _emulator_session
from okpay_gateway.emulator.models import IpnMessage, Wallet
from okpay_gateway.provider.ipn import encode_ipn

EMULATOR_URL = "http://okpay.emulator/"
IPN_PATH = "/okpay/ipn/"
FORM = "application/x-www-form-urlencoded"
MERCHANT_WALLET = "OK100000001"
MERCHANT_EMAIL = "shop@example.com"
API_PASSWORD = "api-secret-for-tests"


def emulator_session() -> requests.Session:
    """SESSION_FACTORY: requests to the emulator base are served in-process."""
    return _emulator_session(EMULATOR_URL)


class RefusingAdapter(BaseAdapter):
    """A transport whose every request fails to connect (verify endpoint down)."""

    def send(
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        raise requests.ConnectionError(
            "connection refused (test transport)", request=request
        )

    def close(self) -> None:
        """No sockets to close."""


class ExplodingAdapter(BaseAdapter):
    """A transport that raises a non-requests error: an unexpected failure."""

    def send(
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        raise RuntimeError("transport exploded (test transport)")

    def close(self) -> None:
        """No sockets to close."""


def refusing_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", RefusingAdapter())
    session.mount("https://", RefusingAdapter())
    return session


def exploding_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", ExplodingAdapter())
    session.mount("https://", ExplodingAdapter())
    return session


def gateway_settings(**overrides: Any) -> dict[str, Any]:
    """An ``OKPAY_GATEWAY`` dict for the emulator (overrides replace keys)."""
    values: dict[str, Any] = {
        "ENVIRONMENT": "emulator",
        "EMULATOR_URL": EMULATOR_URL,
        "WALLET_ID": MERCHANT_WALLET,
        "API_PASSWORD": API_PASSWORD,
        "RECEIVER_EMAIL": MERCHANT_EMAIL,
        "SESSION_FACTORY": "tests.core.support.emulator_session",
    }
    values.update(overrides)
    return values


def create_merchant(
    wallet_id: str = MERCHANT_WALLET, email: str = MERCHANT_EMAIL
) -> Wallet:
    return operations.create_wallet(
        email=email, name="Test Shop", api_password=API_PASSWORD, wallet_id=wallet_id
    )


def create_client(email: str = "buyer@example.com") -> Wallet:
    return operations.create_wallet(
        email=email, name="Anna Buyer", balances={"USD": "500.00", "EUR": "500.00"}
    )


def grant_at_emulator(
    merchant: Wallet,
    client: Wallet,
    *,
    invoice: str,
    currency: str = "USD",
    monthly_limit: str = "100.00",
):
    """The customer approves an agreement at the emulator; its IPN is stored, not sent."""
    return operations.grant_contract(
        receiver=merchant,
        client=client,
        title="Monthly box",
        currency=currency,
        monthly_limit=Decimal(monthly_limit),
        invoice=invoice,
        ipn_url="",
    )


def charge_at_emulator(
    merchant: Wallet, contract_id: int, *, amount: str, invoice: str
):
    return operations.charge_contract(
        merchant=merchant,
        contract_id=contract_id,
        amount=Decimal(amount),
        invoice=invoice,
    )


def last_ipn(event: str | None = None) -> IpnMessage:
    """The newest message the emulator stored (optionally of one event)."""
    messages = IpnMessage.objects.order_by("-ipn_id")
    if event is not None:
        messages = messages.filter(event=event)
    message = messages.first()
    assert message is not None, f"the emulator sent no {event or ''} IPN"
    return message


def fields_of(message: IpnMessage) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in message.fields]


def body_of(message: IpnMessage) -> bytes:
    return encode_ipn(fields_of(message))


def replaced(
    fields: Sequence[tuple[str, str]], **changes: str
) -> list[tuple[str, str]]:
    """``fields`` with the values of the named fields replaced."""
    return [(name, changes.get(name, value)) for name, value in fields]


def post_ipn(client, body: bytes, **extra: Any):
    """POST a raw IPN body to the standalone endpoint."""
    return client.post(IPN_PATH, data=body, content_type=FORM, **extra)
