"""Supported-currency parsing, as ``saleor/payment/gateways/utils.py`` does it."""

from __future__ import annotations

import logging

from .interface import GatewayConfig

logger = logging.getLogger(__name__)


def get_supported_currencies(config: GatewayConfig, gateway_name: str) -> list[str]:
    currencies = [
        c.strip() for c in config.supported_currencies.split(",") if c.strip()
    ]
    if not currencies:
        logger.warning(
            "Supported currencies not configured for %s, please configure "
            "supported currencies for this gateway.",
            gateway_name,
        )
    return currencies
