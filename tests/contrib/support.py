"""Set-up for the Saleor plugin tests on the standalone host."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import requests

from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
from okpay_gateway.emulator.adapter import EmulatorAdapter
from okpay_gateway.host.interface import PaymentData
from okpay_gateway.host.manager import PluginsManager
from okpay_gateway.host.models import PluginConfiguration
from tests.payments.support import MERCHANT_API_PASSWORD, MERCHANT_WALLET

PLUGIN_PATH = "okpay_gateway.contrib.saleor.plugin.OkPayGatewayPlugin"
CHANNEL = "default"
SHOP_URL = "http://testserver"
WEBHOOK = f"/plugins/channel/{CHANNEL}/{PLUGIN_ID}/"


def shop_session() -> requests.Session:
    """IPN_SESSION_FACTORY of the emulator: IPNs reach this shop in-process."""
    session = requests.Session()
    session.mount(
        SHOP_URL + "/", EmulatorAdapter(prefix="/").mounted_at(SHOP_URL + "/")
    )
    return session


def plugin_configuration(**overrides: Any) -> list[dict[str, Any]]:
    values: dict[str, Any] = {
        "wallet_id": MERCHANT_WALLET,
        "api_password": MERCHANT_API_PASSWORD,
        "supported_currencies": "USD",
        "environment": "emulator",
        "emulator_url": "http://okpay.emulator/okpay-emulator/",
        "public_url": SHOP_URL,
        "monthly_limit": "300.00",
        "accept_test_ipn": True,
        "agreement_title": "Example Shop subscription",
    }
    values.update(overrides)
    return [{"name": name, "value": value} for name, value in values.items()]


def configure_plugin(*, active: bool = True, **overrides: Any) -> PluginConfiguration:
    return PluginConfiguration.objects.create(
        identifier=PLUGIN_ID,
        name="OKPAY",
        channel=CHANNEL,
        active=active,
        configuration=plugin_configuration(**overrides),
    )


def manager() -> PluginsManager:
    return PluginsManager([PLUGIN_PATH], channels=[CHANNEL])


def payment_data(
    *,
    payment_id: int = 42,
    amount: str = "20.00",
    currency: str = "USD",
    user: Any = None,
    token: str | None = None,
    customer_id: str | None = None,
) -> PaymentData:
    graphql_user = (
        base64.b64encode(f"User:{user.pk}".encode()).decode()
        if user is not None
        else None
    )
    return PaymentData(
        gateway=PLUGIN_ID,
        amount=Decimal(amount),
        currency=currency,
        billing=None,
        shipping=None,
        payment_id=payment_id,
        graphql_payment_id=base64.b64encode(f"Payment:{payment_id}".encode()).decode(),
        order_id="None",
        customer_ip_address=None,
        customer_email="alice@example.com",
        token=token,
        customer_id=customer_id,
        graphql_customer_id=graphql_user,
    )
