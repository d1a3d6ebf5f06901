"""Subscription states and the one table of allowed transitions.

Every status change of a subscription goes through :func:`transition`, which looks
the pair ``(status, event)`` up in :data:`TRANSITIONS`. A pair that is not in the
table raises :class:`~okpay_gateway.exceptions.InvalidTransition`; there are no
implicit self-loops and no wildcard rows.

Design decisions the table encodes:

* **A completed charge** (``charged``) from ``active``, ``past_due`` or
  ``suspended`` makes the subscription ``active``. Suspended is included on
  purpose: money that moved must be recorded, and it can arrive while suspended
  (the unknown-outcome resolver finds that an earlier attempt did go through, or
  the merchant retries by hand after the customer topped up). The only way back
  to ``active`` is a completed charge; there is no "reactivate without paying".
* **A decline** (``declined``) from ``active`` makes it ``past_due``. Further
  declines keep it where it is (``past_due`` stays ``past_due``, ``suspended``
  stays ``suspended``); how far down the ladder it goes is
  :mod:`okpay_gateway.billing.dunning`'s decision, applied with ``suspend`` and
  ``cancel``.
* **The dunning ladder** moves ``past_due`` → ``suspended`` (``suspend``, retries
  used up) → ``canceled`` (``cancel``, grace over). ``suspend`` is allowed only
  from ``past_due``: a subscription is suspended for not paying, not on a whim.
* **Cancel** (merchant, customer or the end of the dunning ladder) and **expire**
  (the subscription's own term is over) work from every live state.
* **The contract closes** (flow E): ``contract_canceled`` (the agreement was
  canceled, revoked or failed) gives ``canceled``; ``contract_expired`` (its end
  date passed) gives ``expired``. :data:`CONTRACT_CLOSED_EVENTS` maps OKPAY's
  ``ok_p_status`` values to these events. They are separate from ``cancel`` and
  ``expire`` so the history says who ended the subscription.
* **Terminal states** (``canceled``, ``expired``) allow nothing, like OKPAY's own
  terminal agreement states (A15): a new subscription is a new row.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from okpay_gateway.enums import SubscriptionStatus
from okpay_gateway.exceptions import InvalidTransition

__all__ = [
    "CONTRACT_CLOSED_EVENTS",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "SubscriptionEvent",
    "SubscriptionStatus",
    "allowed_events",
    "can_transition",
    "transition",
]


class SubscriptionEvent(StrEnum):
    CHARGED = "charged"
    """A charge for the subscription completed (money moved)."""
    DECLINED = "declined"
    """A charge was refused (insufficient funds, over the contract limits, ...)."""
    SUSPEND = "suspend"
    """The dunning ladder's retries are used up."""
    CANCEL = "cancel"
    """The merchant or customer canceled, or the dunning grace ran out."""
    EXPIRE = "expire"
    """The subscription's own term is over."""
    CONTRACT_CANCELED = "contract_canceled"
    """The billing agreement was canceled, revoked or failed."""
    CONTRACT_EXPIRED = "contract_expired"
    """The billing agreement's end date passed."""


_S = SubscriptionStatus
_E = SubscriptionEvent

TRANSITIONS: Mapping[tuple[SubscriptionStatus, SubscriptionEvent], SubscriptionStatus]
TRANSITIONS = MappingProxyType(
    {
        (_S.ACTIVE, _E.CHARGED): _S.ACTIVE,
        (_S.ACTIVE, _E.DECLINED): _S.PAST_DUE,
        (_S.ACTIVE, _E.CANCEL): _S.CANCELED,
        (_S.ACTIVE, _E.EXPIRE): _S.EXPIRED,
        (_S.ACTIVE, _E.CONTRACT_CANCELED): _S.CANCELED,
        (_S.ACTIVE, _E.CONTRACT_EXPIRED): _S.EXPIRED,
        (_S.PAST_DUE, _E.CHARGED): _S.ACTIVE,
        (_S.PAST_DUE, _E.DECLINED): _S.PAST_DUE,
        (_S.PAST_DUE, _E.SUSPEND): _S.SUSPENDED,
        (_S.PAST_DUE, _E.CANCEL): _S.CANCELED,
        (_S.PAST_DUE, _E.EXPIRE): _S.EXPIRED,
        (_S.PAST_DUE, _E.CONTRACT_CANCELED): _S.CANCELED,
        (_S.PAST_DUE, _E.CONTRACT_EXPIRED): _S.EXPIRED,
        (_S.SUSPENDED, _E.CHARGED): _S.ACTIVE,
        (_S.SUSPENDED, _E.DECLINED): _S.SUSPENDED,
        (_S.SUSPENDED, _E.CANCEL): _S.CANCELED,
        (_S.SUSPENDED, _E.EXPIRE): _S.EXPIRED,
        (_S.SUSPENDED, _E.CONTRACT_CANCELED): _S.CANCELED,
        (_S.SUSPENDED, _E.CONTRACT_EXPIRED): _S.EXPIRED,
    }
)
"""``(status, event) -> new status``; everything not listed is refused."""

TERMINAL_STATUSES: frozenset[SubscriptionStatus] = frozenset(
    {SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED}
)

CONTRACT_CLOSED_EVENTS: Mapping[str, SubscriptionEvent] = MappingProxyType(
    {
        "canceled": SubscriptionEvent.CONTRACT_CANCELED,
        "failed": SubscriptionEvent.CONTRACT_CANCELED,
        "expired": SubscriptionEvent.CONTRACT_EXPIRED,
    }
)
"""A closed agreement's ``ok_p_status`` -> the event for its subscriptions."""


def can_transition(
    status: SubscriptionStatus | str, event: SubscriptionEvent | str
) -> bool:
    """Whether ``event`` is allowed in ``status``."""
    return (SubscriptionStatus(status), SubscriptionEvent(event)) in TRANSITIONS


def transition(
    status: SubscriptionStatus | str, event: SubscriptionEvent | str
) -> SubscriptionStatus:
    """The status after ``event`` in ``status``.

    Plain strings (as stored in the database) are accepted; an unknown value
    raises ``ValueError``. Raises ``InvalidTransition(current, requested)``,
    with the status and the event as strings, for a pair the table does not allow.
    """
    current, requested = SubscriptionStatus(status), SubscriptionEvent(event)
    try:
        return TRANSITIONS[current, requested]
    except KeyError:
        raise InvalidTransition(current.value, requested.value) from None


def allowed_events(status: SubscriptionStatus | str) -> frozenset[SubscriptionEvent]:
    """Every event the table accepts in ``status`` (empty for terminal states)."""
    current = SubscriptionStatus(status)
    return frozenset(event for (state, event) in TRANSITIONS if state is current)
