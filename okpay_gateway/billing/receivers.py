"""Signal receivers of the billing engine (flow E: a closed contract stops its subscriptions).

Connected when this module is imported; ``OkPayGatewayConfig.ready()`` imports
it so the receivers are live in every process (web, worker, command).
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from okpay_gateway import signals
from okpay_gateway.models import Contract

logger = logging.getLogger(__name__)


@receiver(signals.contract_closed, dispatch_uid="okpay_gateway.billing.contract_closed")
def stop_subscriptions_on_contract_closed(
    sender: Any, *, contract: Contract, reason: str = "", **kwargs: Any
) -> None:
    """Cancel (or expire) the live subscriptions of a contract that closed."""
    from okpay_gateway.billing.lifecycle import stop_subscriptions_of_contract

    stopped = stop_subscriptions_of_contract(contract, reason)
    if stopped:
        logger.info(
            "contract %s closed (%s): %s subscriptions stopped",
            contract.okpay_id or contract.invoice,
            reason,
            stopped,
        )
