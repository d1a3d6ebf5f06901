"""What each contract was charged in the windows around ``now`` (plan inputs).

The allowance check of :func:`okpay_gateway.billing.plan.plan` needs, for a
capped contract, its completed charges since the start of the earliest
window that contains ``now`` (the week's Monday or the month's first day).
Renewal charges are dated by the engine's clock (``charged_at``); other
payments on the contract (first purchase, admin charges) by their
completion time. Read for a whole batch of contracts in one statement.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from okpay_gateway import clients, exceptions
from okpay_gateway.billing.plan import Allowance
from okpay_gateway.enums import ChargeAttemptStatus
from okpay_gateway.models import ChargeAttempt, Contract, Payment, PaymentStatus
from okpay_gateway.provider.settings import OkPaySettings

logger = logging.getLogger("okpay_gateway.billing.engine")

__all__ = ["allowances", "provider_available"]

_CAPTURED = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)


def _window_start(now: datetime) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(day.replace(day=1), day - timedelta(days=day.weekday()))


def allowances(contract_ids: Iterable[int], now: datetime) -> dict[int, Allowance]:
    """``{contract_id: Allowance}`` for these (capped) contracts."""
    ids = set(contract_ids)
    if not ids:
        return {}
    since = _window_start(now)
    renewals = ChargeAttempt.objects.filter(
        subscription__contract_id__in=ids,
        status=ChargeAttemptStatus.COMPLETED,
        charged_at__gte=since,
    ).values_list("subscription__contract_id", "charged_at", "amount")
    renewal_invoices = ChargeAttempt.objects.filter(
        subscription__contract_id__in=ids
    ).values("invoice")
    others = (
        Payment.objects.filter(
            contract_id__in=ids, status__in=_CAPTURED, completed_at__gte=since
        )
        .exclude(invoice__in=renewal_invoices)
        .values_list("contract_id", "completed_at", "amount")
    )
    charges: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    # One round trip for both halves (a compound statement takes no ORDER BY
    # in its parts, so the models' orderings are cleared).
    for contract_id, at, amount in renewals.order_by().union(
        others.order_by(), all=True
    ):
        charges[contract_id].append((at, amount))
    return {pk: Allowance(charges=tuple(charges.get(pk, ()))) for pk in ids}


def provider_available(
    contract: Contract, okpay_settings: OkPaySettings, now: datetime
) -> Decimal | None:
    """OKPAY's ``AvailableAmount`` for the contract (also stored on it); None if not read."""
    try:
        pp = clients.client_for(okpay_settings).preapproved_payment_get(
            contract.okpay_id
        )
    except exceptions.ProviderError as exc:
        logger.warning(
            "AvailableAmount of contract %s not read: %s", contract.okpay_id, exc.code
        )
        return None
    Contract.objects.filter(pk=contract.pk).update(
        available_amount=pp.available_amount
        if pp.available_amount < Decimal("1e10")
        else None,
        synced_at=now,
    )
    return pp.available_amount
