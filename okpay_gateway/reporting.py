"""What the merchant's pages show about agreements, for every front end.

The Django admin and the Saleor App's Dashboard pages both show counts by
status and an agreement's history (our ledger beside OKPAY's own list of
operations); both read them here so the two never disagree.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Count, Q, QuerySet

from okpay_gateway import clients, contracts, payments
from okpay_gateway.exceptions import InvalidTransition, OkPayError
from okpay_gateway.models import Contract, ContractStatus, PaymentEvent

logger = logging.getLogger(__name__)

# What a merchant searches agreements by (admin and Dashboard pages).
SEARCH_FIELDS = (
    "title",
    "client_email",
    "client_phone",
    "client_wallet",
    "client_name",
    "invoice",
    "payments__invoice",
)

COUNTED_STATUSES = (
    ContractStatus.ACTIVE,
    ContractStatus.FAILED,
    ContractStatus.EXPIRED,
    ContractStatus.CANCELED,
)


def status_counts(
    contracts: QuerySet[Contract] | None = None,
) -> list[tuple[str, str, int]]:
    """``(label, status, count)`` for each status the merchant looks at."""
    queryset = Contract.objects.all() if contracts is None else contracts
    counts = queryset.aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in COUNTED_STATUSES}
    )
    return [
        (ContractStatus(status).label, status, counts[status])
        for status in COUNTED_STATUSES
    ]


def search(contracts: QuerySet[Contract], term: str) -> QuerySet[Contract]:
    """Agreements matching ``term`` in :data:`SEARCH_FIELDS` or by OKPAY id."""
    term = term.strip()
    if not term:
        return contracts
    condition = Q()
    for name in SEARCH_FIELDS:
        condition |= Q(**{f"{name}__icontains": term})
    if term.isdigit():
        condition |= Q(okpay_id=int(term))
    # payments__invoice joins: one row per agreement.
    return contracts.filter(condition).distinct()


def ledger(contract: Contract) -> QuerySet[PaymentEvent]:
    """Every ledger row of the agreement and of its payments, oldest first."""
    return (
        PaymentEvent.objects.filter(
            Q(contract=contract) | Q(payment__contract=contract)
        )
        .select_related("payment")
        .order_by("created_at", "pk")
    )


def refresh_from_okpay(contract: Contract, client: Any) -> None:
    """Bring the agreement's available amount and status up to date.

    The available amount is OKPAY's figure for the limit windows around
    OKPAY's own "now"; a copy stored at the last sync goes stale with every
    charge, and recomputing it here would mix the shop's clock into windows
    that only OKPAY's clock defines. So a page showing it asks OKPAY each time.
    """
    pp = client.preapproved_payment_get(contract.okpay_id)
    try:
        contracts.sync_contract_from_provider(contract, pp)
    except InvalidTransition as exc:
        # Closed here, still active at OKPAY: shown as is; sync_contracts reports it.
        logger.warning("OKPAY agreement %s: %s", contract.okpay_id, exc)


def okpay_operations(contract: Contract) -> tuple[list[Any], str]:
    """OKPAY's operations under the agreement (refreshing it), or ``[]`` and why not."""
    if contract.okpay_id is None:
        return [], "This agreement has not been approved at OKPAY yet."
    try:
        client = clients.client_for(payments.settings_for_channel(contract.channel))
        operations = list(client.preapproved_payment_get_operations(contract.okpay_id))
        refresh_from_okpay(contract, client)
    except OkPayError as exc:
        logger.warning(
            "OKPAY operations of %s unavailable: %s", contract.okpay_id, exc.code
        )
        return [], (
            "OKPAY's list of operations could not be fetched right now "
            f"({exc.user_message}). The ledger below is complete."
        )
    return operations, ""


def history_context(contract: Contract) -> dict[str, Any]:
    """Template context of an agreement's history (admin and Dashboard pages)."""
    operations, error = okpay_operations(contract)
    # Transactions dated on OKPAY's clock too, the clock of the operations
    # (the emulator's can be moved; a real OKPAY's may drift).
    okpay_dates = {op.id: op.date for op in operations}
    events = list(ledger(contract))
    for event in events:
        event.okpay_date = okpay_dates.get(event.okpay_txn_id)
    return {
        "okpay_ledger": events,
        "okpay_operations": operations,
        "okpay_operations_error": error,
        "okpay_can_act": contract.status == ContractStatus.ACTIVE,
    }
