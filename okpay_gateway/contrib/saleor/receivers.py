"""Core signal receivers of the Saleor plugin (connected when plugin.py loads).

A granted agreement is stored on the customer the way Saleor stores gateway
customer ids (``<PLUGIN_ID upper>.customer_id`` in private metadata), so
``checkoutComplete`` passes it back as ``PaymentData.customer_id`` and
``storedPaymentSources`` lists the agreement.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from okpay_gateway import signals
from okpay_gateway.host.compat import store_customer_id

from .consts import PLUGIN_ID

logger = logging.getLogger(__name__)


@receiver(signals.contract_granted, dispatch_uid="okpay_gateway.saleor.customer_id")
def store_agreement_on_customer(*, contract: Any, **kwargs: Any) -> None:
    """Remember the granted agreement's ID as the customer's gateway id."""
    customer = contract.customer
    if customer is None or contract.okpay_id is None:
        return
    store_customer_id(customer, PLUGIN_ID, str(contract.okpay_id))
    logger.info(
        "OKPAY agreement %s stored on customer %s", contract.okpay_id, customer.pk
    )
