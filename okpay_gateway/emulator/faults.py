"""Scripted misbehaviour: the emulator's fault injection.

A :class:`~.models.FaultRule` names a kind of trouble and what it applies to
(wallet, contract, operation; an empty target matches anything). The first
matching rule, oldest first, wins and uses up one of its ``remaining_uses``.

SOAP kinds (used by :mod:`.soap`): ``fault`` (answer ``fault_code``),
``http_500`` (a bare HTTP 500, no envelope), ``slow`` (wait, then do the
call), ``applied_late`` (do the call and commit, then wait). IPN kinds
(``invalid_verify``, ``duplicate_ipn``, ``out_of_order_ipn``,
``ipn_endpoint_down``) are read by the web half through :func:`take`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q

from okpay_gateway.emulator.models import FaultKind, FaultRule

logger = logging.getLogger(__name__)

SOAP_KINDS = (
    FaultKind.FAULT,
    FaultKind.HTTP_500,
    FaultKind.SLOW,
    FaultKind.APPLIED_LATE,
)


def add_rule(
    kind: str,
    *,
    wallet_id: str | None = None,
    contract_id: int | None = None,
    operation: str | None = None,
    fault_code: str = "",
    delay_seconds: Decimal | float | int = 0,
    uses: int | None = 1,
    note: str = "",
) -> FaultRule:
    """Script one misbehaviour; ``uses=None`` keeps it until :func:`clear`."""
    if kind not in FaultKind.values:
        raise ValueError(f"unknown fault kind {kind!r}")
    if kind == FaultKind.FAULT and not fault_code:
        raise ValueError("a 'fault' rule needs a fault_code")
    return FaultRule.objects.create(
        kind=kind,
        wallet_id=wallet_id or "",
        contract_id=contract_id,
        operation=operation or "",
        fault_code=fault_code,
        delay_seconds=Decimal(str(delay_seconds)),
        remaining_uses=uses,
        note=note,
    )


def _matching(
    kinds: Iterable[str],
    wallet_id: str | None,
    contract_id: int | None,
    operation: str | None,
):
    query = FaultRule.objects.filter(kind__in=list(kinds)).filter(
        Q(remaining_uses__isnull=True) | Q(remaining_uses__gt=0)
    )
    query = query.filter(Q(wallet_id="") | Q(wallet_id=wallet_id or ""))
    query = query.filter(Q(contract_id__isnull=True) | Q(contract_id=contract_id))
    query = query.filter(Q(operation="") | Q(operation=operation or ""))
    return query.order_by("id")


def take(
    kinds: Iterable[str],
    *,
    wallet_id: str | None = None,
    contract_id: int | None = None,
    operation: str | None = None,
) -> FaultRule | None:
    """The first live rule of one of ``kinds`` matching the call, with one use taken."""
    with transaction.atomic():
        rule = (
            _matching(kinds, wallet_id, contract_id, operation)
            .select_for_update()
            .first()
        )
        if rule is None:
            return None
        if rule.remaining_uses is not None:
            FaultRule.objects.filter(pk=rule.pk).update(
                remaining_uses=F("remaining_uses") - 1
            )
            rule.remaining_uses -= 1
    logger.info(
        "emulator fault %s fires (rule %s, operation %s)", rule.kind, rule.pk, operation
    )
    return rule


def peek(
    kinds: Iterable[str],
    *,
    wallet_id: str | None = None,
    contract_id: int | None = None,
    operation: str | None = None,
) -> FaultRule | None:
    """Like :func:`take` without using the rule up."""
    return _matching(kinds, wallet_id, contract_id, operation).first()


def clear() -> int:
    """Remove every rule; returns how many there were."""
    count, _ = FaultRule.objects.all().delete()
    return count
