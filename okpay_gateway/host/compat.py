"""The one import point for plugin code that must run under Saleor and without it.

Inside a Saleor project (``saleor`` importable and ``saleor.plugins`` in
``INSTALLED_APPS``) every name below is Saleor's own object, so Saleor's
manager and core see their own types. Anywhere else the names come from
:mod:`okpay_gateway.host`. The ``OKPAY_HOST_USE_SALEOR`` setting (``True`` /
``False``) overrides the detection; unset means "detect".

Saleor's helper functions live in modules that import half of Saleor, so
they are imported on first call rather than when this module loads.
"""

from __future__ import annotations

import importlib.util
from typing import Any


def running_in_saleor() -> bool:
    from django.conf import settings

    if not settings.configured:
        return False
    forced = getattr(settings, "OKPAY_HOST_USE_SALEOR", None)
    if forced is not None:
        return bool(forced)
    if importlib.util.find_spec("saleor") is None:
        return False
    return "saleor.plugins" in settings.INSTALLED_APPS


SALEOR = running_in_saleor()

if SALEOR:  # pragma: no cover - exercised only inside a Saleor project
    from saleor.payment import (
        ChargeStatus,
        GatewayError,
        PaymentError,
        TransactionKind,
    )
    from saleor.payment.interface import (
        CustomerSource,
        GatewayConfig,
        GatewayResponse,
        InitializedPaymentResponse,
        PaymentData,
        PaymentGateway,
        PaymentMethodInfo,
        StorePaymentMethodEnum,
        TokenConfig,
    )
    from saleor.plugins.base_plugin import BasePlugin, ConfigurationTypeField

    def prepare_key_for_gateway_customer_id(gateway_name: str) -> str:
        from saleor.payment.utils import prepare_key_for_gateway_customer_id as impl

        return impl(gateway_name)

    def fetch_customer_id(user: Any, gateway: str) -> str | None:
        from saleor.payment.utils import fetch_customer_id as impl

        return impl(user, gateway)

    def store_customer_id(user: Any, gateway: str, customer_id: str) -> None:
        from saleor.payment.utils import store_customer_id as impl

        impl(user, gateway, customer_id)

    def get_supported_currencies(config: Any, gateway_name: str) -> list[str]:
        from saleor.payment.gateways.utils import get_supported_currencies as impl

        return impl(config, gateway_name)

    def get_plugins_manager(allow_replica: bool, requestor_getter: Any = None) -> Any:
        from saleor.plugins.manager import get_plugins_manager as impl

        return impl(allow_replica, requestor_getter)

else:
    from .base_plugin import BasePlugin, ConfigurationTypeField
    from .currencies import get_supported_currencies
    from .customer import (
        fetch_customer_id,
        prepare_key_for_gateway_customer_id,
        store_customer_id,
    )
    from .interface import (
        CustomerSource,
        GatewayConfig,
        GatewayResponse,
        InitializedPaymentResponse,
        PaymentData,
        PaymentGateway,
        PaymentMethodInfo,
        StorePaymentMethodEnum,
        TokenConfig,
    )
    from .manager import get_plugins_manager
    from .payment import ChargeStatus, GatewayError, PaymentError, TransactionKind

__all__ = [
    "SALEOR",
    "BasePlugin",
    "ChargeStatus",
    "ConfigurationTypeField",
    "CustomerSource",
    "GatewayConfig",
    "GatewayError",
    "GatewayResponse",
    "InitializedPaymentResponse",
    "PaymentData",
    "PaymentError",
    "PaymentGateway",
    "PaymentMethodInfo",
    "StorePaymentMethodEnum",
    "TokenConfig",
    "TransactionKind",
    "fetch_customer_id",
    "get_plugins_manager",
    "get_supported_currencies",
    "prepare_key_for_gateway_customer_id",
    "running_in_saleor",
    "store_customer_id",
]
