"""A subscription's life outside charging: end, suspend, stop with its contract.

Every status change goes through :func:`~okpay_gateway.billing.states.transition`
on the locked row; signals go out after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from okpay_gateway import signals
from okpay_gateway.billing import notifications_mail
from okpay_gateway.billing.config import RenewalConfig
from okpay_gateway.billing.dunning import cancel_step
from okpay_gateway.billing.schedule import BillingInterval
from okpay_gateway.billing.states import (
    CONTRACT_CLOSED_EVENTS,
    SubscriptionEvent,
    can_transition,
    transition,
)
from okpay_gateway.enums import LIVE_SUBSCRIPTION_STATUSES, SubscriptionStatus
from okpay_gateway.models import Contract, Subscription
from okpay_gateway.types import SystemClock

logger = logging.getLogger("okpay_gateway.billing.engine")

__all__ = [
    "end_subscription",
    "interval_of",
    "locked_subscription",
    "on_commit_signal",
    "stop_for_contract",
    "stop_subscriptions_of_contract",
    "suspend",
]


def interval_of(subscription: Subscription) -> BillingInterval:
    return BillingInterval(subscription.interval_unit, subscription.interval_count)


def locked_subscription(pk: int) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=pk)
    )


def on_commit_signal(signal: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Subscription, **kwargs))


def end_subscription(
    subscription: Subscription,
    event: SubscriptionEvent,
    reason: str,
    now: datetime,
    *,
    send_mail: bool = True,
) -> bool:
    """Move a live subscription to canceled/expired; False if it was not live."""
    with transaction.atomic():
        locked = locked_subscription(subscription.pk)
        if not can_transition(locked.status, event):
            return False
        locked.status = transition(locked.status, event)
        locked.ended_at = now
        locked.end_reason = reason[:40]
        locked.next_charge_at = None
        locked.save(
            update_fields=[
                "status",
                "ended_at",
                "end_reason",
                "next_charge_at",
                "updated_at",
            ]
        )
        if locked.status == SubscriptionStatus.EXPIRED:
            on_commit_signal(
                signals.subscription_expired, subscription=locked, reason=reason
            )
        else:
            on_commit_signal(
                signals.subscription_canceled, subscription=locked, reason=reason
            )
        if send_mail:
            notifications_mail.send_subscription_canceled(locked, reason)
    subscription.status = locked.status
    logger.info(
        "subscription %s %s (%s)",
        locked.pk,
        locked.status,
        reason,
        extra={"okpay_subscription_id": locked.pk},
    )
    return True


def suspend(
    subscription_pk: int, now: datetime, config: RenewalConfig, attempt: Any
) -> None:
    """Apply the dunning ladder's suspend step (inside the caller's transaction)."""
    locked = locked_subscription(subscription_pk)
    if not can_transition(locked.status, SubscriptionEvent.SUSPEND):
        return
    locked.status = transition(locked.status, SubscriptionEvent.SUSPEND)
    locked.suspended_at = now
    cancel = cancel_step(config.ladder, now)
    locked.next_charge_at = cancel.at if cancel is not None else None
    locked.save(
        update_fields=["status", "suspended_at", "next_charge_at", "updated_at"]
    )
    on_commit_signal(
        signals.subscription_suspended,
        subscription=locked,
        attempt=attempt,
        step=cancel,
    )


def stop_for_contract(
    subscription: Subscription, now: datetime, config: RenewalConfig
) -> bool:
    """End ``subscription`` because its contract closed (how: the contract's status)."""
    contract = subscription.contract
    event = CONTRACT_CLOSED_EVENTS.get(
        str(contract.status), SubscriptionEvent.CONTRACT_CANCELED
    )
    return end_subscription(
        subscription,
        event,
        f"contract_{contract.status}",
        now,
        send_mail=config.send_mail,
    )


def stop_subscriptions_of_contract(
    contract: Contract, reason: str = "", *, now: datetime | None = None
) -> int:
    """End every live subscription of a closed contract (flow E); returns how many."""
    now = now or SystemClock().now()
    config = RenewalConfig.from_settings()
    event = CONTRACT_CLOSED_EVENTS.get(
        str(contract.status), SubscriptionEvent.CONTRACT_CANCELED
    )
    label = f"contract_{reason or contract.status}"
    stopped = 0
    for subscription in Subscription.objects.filter(
        contract=contract, status__in=LIVE_SUBSCRIPTION_STATUSES
    ).order_by("pk"):
        if end_subscription(
            subscription, event, label, now, send_mail=config.send_mail
        ):
            stopped += 1
    return stopped
