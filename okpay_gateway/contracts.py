"""State changes of billing agreements (``Contract`` rows).

One transition table decides what may happen to an agreement::

    pending ──► active ──► canceled | expired | failed
       │
       └──────► failed | canceled

Terminal states (failed, canceled, expired) are final: OKPAY gives a new
agreement a new ``ok_p_id`` (okpay-ipn-links.md A15), so nothing here ever
reopens a closed contract. ``pending → canceled`` lets the shop abandon a
checkout the customer never finished.

Every function here must run inside the caller's transaction when it is
combined with other writes; each one opens its own ``transaction.atomic()``
(a savepoint when nested) and sends its signal with ``transaction.on_commit``,
so receivers only see committed state. Charging the payments that waited for
a grant is *not* done here (this module never moves money): the IPN pipeline
and :func:`okpay_gateway.payments.complete_from_return` do it after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from okpay_gateway import signals
from okpay_gateway.exceptions import InvalidTransition
from okpay_gateway.models import CLOSED_CONTRACT_STATUSES, Contract, ContractStatus

logger = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    ContractStatus.PENDING: frozenset(
        {ContractStatus.ACTIVE, ContractStatus.FAILED, ContractStatus.CANCELED}
    ),
    ContractStatus.ACTIVE: frozenset(
        {ContractStatus.CANCELED, ContractStatus.EXPIRED, ContractStatus.FAILED}
    ),
    ContractStatus.FAILED: frozenset(),
    ContractStatus.CANCELED: frozenset(),
    ContractStatus.EXPIRED: frozenset(),
}

# The ``reason`` sent with ``contract_closed`` for each closing status when the
# close comes from OKPAY (the customer revoked, OKPAY expired or refused it).
PROVIDER_CLOSE_REASONS: dict[str, str] = {
    ContractStatus.CANCELED: "revoked",
    ContractStatus.EXPIRED: "expired",
    ContractStatus.FAILED: "failed",
}

# PreapprovedPaymentStatus values (OKPAY's spelling) → our status.
_PROVIDER_STATUSES: dict[str, str] = {
    "Active": ContractStatus.ACTIVE,
    "Canceled": ContractStatus.CANCELED,
    "Failed": ContractStatus.FAILED,
    "Expired": ContractStatus.EXPIRED,
}


def is_closed(status: str) -> bool:
    """Whether ``status`` is terminal."""
    return status in CLOSED_CONTRACT_STATUSES


def can_transition(current: str, requested: str) -> bool:
    """Whether the table allows ``current → requested``."""
    return requested in TRANSITIONS.get(current, frozenset())


def ensure_transition(current: str, requested: str) -> None:
    """Raise :class:`InvalidTransition` unless ``current → requested`` is allowed."""
    if not can_transition(current, requested):
        raise InvalidTransition(current, requested)


@dataclass(frozen=True, slots=True)
class GrantDetails:
    """What OKPAY told us about a granted agreement; None means "not told"."""

    okpay_id: int
    client_wallet: str | None = None
    client_email: str | None = None
    client_name: str | None = None
    title: str | None = None
    daily_amount: Decimal | None = None
    weekly_amount: Decimal | None = None
    monthly_amount: Decimal | None = None
    end_date: date | None = None
    available_amount: Decimal | None = None


def _locked(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().get(pk=contract.pk)


def _refresh(target: Contract, source: Contract) -> None:
    """Copy the saved state into the caller's instance, so it sees the change."""
    for field in Contract._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _fill(contract: Contract, details: GrantDetails) -> list[str]:
    changed: list[str] = []
    text_limits = {
        "client_wallet": 20,
        "client_email": 254,
        "client_name": 255,
    }
    for name, limit in text_limits.items():
        value = getattr(details, name)
        if value and getattr(contract, name) != value[:limit]:
            setattr(contract, name, value[:limit])
            changed.append(name)
    # The shop asked for the title and limits. On OKPAY's page the customer may
    # only lower a limit or shorten the agreement, and a verified IPN echoes what
    # was approved (gap G3), so an echoed value wins when it is tighter; a
    # looser echo is ignored, since only the shop could have widened it.
    if details.title and not contract.title:
        contract.title = details.title[:127]
        changed.append("title")
    for name in ("daily_amount", "weekly_amount", "monthly_amount", "end_date"):
        value = getattr(details, name)
        current = getattr(contract, name)
        if value is not None and (current is None or value < current):
            setattr(contract, name, value)
            changed.append(name)
    if (
        details.available_amount is not None
        and contract.available_amount != details.available_amount
    ):
        contract.available_amount = details.available_amount
        changed.append("available_amount")
    return changed


def grant_contract(
    contract: Contract,
    details: GrantDetails,
    *,
    now: datetime | None = None,
    locked: bool = False,
) -> bool:
    """Mark ``contract`` active as OKPAY agreement ``details.okpay_id``.

    Returns True when the contract went ``pending → active`` (then
    ``contract_granted`` is sent after commit), False when it already was
    active under the same agreement (details are still filled in). Raises
    :class:`InvalidTransition` for a closed contract, and for one already
    bound to a different agreement (``current`` then names that agreement).

    ``locked=True`` says the caller read ``contract`` with a row lock in the
    current transaction: it is changed in place, without a re-read or a
    savepoint (an error then spoils the caller's whole transaction).
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=not locked):
        locked_row = contract if locked else _locked(contract)
        return _grant_locked(contract, locked_row, details, now)


def _grant_locked(
    contract: Contract, locked: Contract, details: GrantDetails, now: datetime
) -> bool:
    """Grant ``locked`` (``contract`` itself, or its locked re-read)."""
    if locked.okpay_id is not None and locked.okpay_id != details.okpay_id:
        raise InvalidTransition(
            f"{locked.status} as agreement {locked.okpay_id}",
            f"{ContractStatus.ACTIVE} as agreement {details.okpay_id}",
        )
    changed = _fill(locked, details)
    granted = False
    if locked.status != ContractStatus.ACTIVE:
        ensure_transition(locked.status, ContractStatus.ACTIVE)
        locked.status = ContractStatus.ACTIVE
        locked.granted_at = now
        changed += ["status", "granted_at"]
        granted = True
    if locked.okpay_id is None:
        locked.okpay_id = details.okpay_id
        changed.append("okpay_id")
    if changed:
        locked.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    _refresh(contract, locked)
    if granted:
        transaction.on_commit(
            lambda: signals.contract_granted.send(sender=Contract, contract=locked)
        )
        logger.info(
            "OKPAY contract %s granted (agreement %s)",
            locked.invoice,
            locked.okpay_id,
        )
    return granted


def close_contract(
    contract: Contract,
    status: str,
    reason: str,
    *,
    now: datetime | None = None,
    locked: bool = False,
) -> bool:
    """Close ``contract`` with the terminal ``status``.

    ``reason`` goes with ``contract_closed`` ("canceled", "expired",
    "failed", "revoked"). Returns False, changing nothing, when the contract
    already has ``status``; raises :class:`InvalidTransition` when the table
    does not allow the change (another terminal status, or a non-closing
    ``status``). ``locked`` as for :func:`grant_contract`.
    """
    if not is_closed(status):
        raise InvalidTransition(contract.status, status)
    now = now or timezone.now()
    with transaction.atomic(savepoint=not locked):
        locked_row = contract if locked else _locked(contract)
        return _close_locked(contract, locked_row, status, reason, now)


def _close_locked(
    contract: Contract, locked: Contract, status: str, reason: str, now: datetime
) -> bool:
    """Close ``locked`` (``contract`` itself, or its locked re-read)."""
    if locked.status == status:
        _refresh(contract, locked)
        return False
    ensure_transition(locked.status, status)
    locked.status = status
    locked.closed_at = now
    locked.save(update_fields=["status", "closed_at", "updated_at"])
    _refresh(contract, locked)
    transaction.on_commit(
        lambda: signals.contract_closed.send(
            sender=Contract, contract=locked, reason=reason
        )
    )
    logger.info(
        "OKPAY contract %s closed: %s (%s)",
        locked.okpay_id or locked.invoice,
        status,
        reason,
    )
    return True


def apply_provider_status(
    contract: Contract,
    status: str,
    details: GrantDetails | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Move ``contract`` to the status OKPAY reports (IPN or API).

    ``active`` grants (``details`` required); a terminal status closes with
    the reason from :data:`PROVIDER_CLOSE_REASONS`. Returns whether the
    status changed; raises :class:`InvalidTransition` when it may not.
    """
    if status == ContractStatus.ACTIVE:
        if details is None:
            raise ValueError("granting needs the agreement details")
        return grant_contract(contract, details, now=now)
    return close_contract(contract, status, PROVIDER_CLOSE_REASONS[status], now=now)


# Contract.available_amount holds 12 digits; OKPAY reports "no cap" as .NET's
# decimal.MaxValue, which is stored as None (unknown / unlimited).
_AVAILABLE_AMOUNT_CEILING = Decimal("9999999999.99")


def _storable_available(value: Decimal | None) -> Decimal | None:
    if value is None or value > _AVAILABLE_AMOUNT_CEILING:
        return None
    return value


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value))


def sync_contract_from_provider(
    contract: Contract, pp: Any, *, now: datetime | None = None
) -> bool:
    """Bring ``contract`` in line with OKPAY's ``PreapprovedPayment`` ``pp``.

    Records the agreement ID, the client, the available amount and the sync
    time, then applies OKPAY's status through the transition table. Returns
    whether the status changed. A closed contract that OKPAY reports active
    raises :class:`InvalidTransition` (closed is final here).
    """
    now = now or timezone.now()
    status = _PROVIDER_STATUSES.get(_enum_value(pp.status))
    if status is None:
        raise InvalidTransition(contract.status, _enum_value(pp.status))
    client = getattr(pp, "client", None)
    end = getattr(pp, "end_date", None)
    details = GrantDetails(
        okpay_id=pp.id,
        client_wallet=getattr(client, "wallet_id", None),
        client_email=getattr(client, "email", None),
        client_name=getattr(client, "name", None),
        title=getattr(pp, "title", None),
        end_date=end.date() if isinstance(end, datetime) else end,
        available_amount=_storable_available(getattr(pp, "available_amount", None)),
    )
    with transaction.atomic():
        locked = _locked(contract)
        if locked.okpay_id is not None and locked.okpay_id != pp.id:
            raise InvalidTransition(
                f"{locked.status} as agreement {locked.okpay_id}",
                f"{status} as agreement {pp.id}",
            )
        if status == ContractStatus.ACTIVE:
            if is_closed(locked.status):
                raise InvalidTransition(locked.status, status)
            changed_status = grant_contract(locked, details, now=now)
        elif is_closed(locked.status):
            # Closed is closed: which terminal word each side uses does not matter.
            changed_status = False
        else:
            changed_status = close_contract(
                locked, status, PROVIDER_CLOSE_REASONS[status], now=now
            )
        fields = _fill(locked, details)
        if locked.okpay_id is None:
            locked.okpay_id = pp.id
            fields.append("okpay_id")
        locked.synced_at = now
        locked.save(update_fields=[*dict.fromkeys(fields), "synced_at", "updated_at"])
        _refresh(contract, locked)
        return changed_status


def active_contract_for(
    customer: AbstractBaseUser | int | None,
    currency: str,
    channel: str = "",
    *,
    today: date | None = None,
) -> Contract | None:
    """The newest usable active agreement of ``customer`` in ``currency``.

    An agreement whose end date has passed counts as gone even before the
    ``expired`` IPN arrives (the end date is inclusive, A13). Returns None for
    an anonymous customer.
    """
    if customer is None:
        return None
    customer_id = customer if isinstance(customer, int) else customer.pk
    if customer_id is None:
        return None
    today = today or timezone.now().date()
    return (
        Contract.objects.filter(
            customer_id=customer_id,
            currency=currency.upper(),
            channel=channel or "",
            status=ContractStatus.ACTIVE,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .order_by("-granted_at", "-pk")
        .first()
    )


def find_contract(
    *, okpay_id: int | None = None, invoice: str | None = None, lock: bool = False
) -> Contract | None:
    """The contract known by OKPAY's agreement ID, else by its invoice (one query)."""
    wanted = Q()
    if okpay_id is not None:
        wanted |= Q(okpay_id=okpay_id)
    if invoice:
        wanted |= Q(invoice=invoice)
    if not wanted:
        return None
    queryset = Contract.objects.select_for_update() if lock else Contract.objects.all()
    # Both columns are unique: at most two rows, the agreement ID's wins.
    candidates = list(queryset.filter(wanted).order_by())
    for contract in candidates:
        if okpay_id is not None and contract.okpay_id == okpay_id:
            return contract
    return next((c for c in candidates if invoice and c.invoice == invoice), None)


__all__ = [
    "PROVIDER_CLOSE_REASONS",
    "TRANSITIONS",
    "GrantDetails",
    "active_contract_for",
    "apply_provider_status",
    "can_transition",
    "close_contract",
    "ensure_transition",
    "find_contract",
    "grant_contract",
    "is_closed",
    "sync_contract_from_provider",
]
