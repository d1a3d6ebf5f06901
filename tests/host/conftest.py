from __future__ import annotations

from decimal import Decimal

import pytest

from okpay_gateway.host.interface import PaymentData

from .sample_plugins import PREFIX

ALL_PLUGINS = [
    PREFIX + "GatewayPlugin",
    PREFIX + "MixinGatewayPlugin",
    PREFIX + "FirstChainPlugin",
    PREFIX + "SecondChainPlugin",
    PREFIX + "GlobalPlugin",
    PREFIX + "NoWebhookPlugin",
]


@pytest.fixture
def host_settings(settings):
    """Two channels and every sample plugin, as a shop would configure them."""
    settings.PLUGINS = list(ALL_PLUGINS)
    settings.OKPAY_HOST_CHANNELS = ["default-channel", "eu"]
    return settings


@pytest.fixture
def payment_data():
    """PaymentData as Saleor builds it during checkout (order id is the string "None")."""
    return PaymentData(
        gateway="test.gateway",
        amount=Decimal("12.50"),
        currency="USD",
        billing=None,
        shipping=None,
        payment_id=7,
        graphql_payment_id="UGF5bWVudDo3",
        order_id="None",
        customer_ip_address="127.0.0.1",
        customer_email="buyer@example.com",
        token="tok-1",
    )
