"""The demo's bridge to the renewal engine (:mod:`okpay_gateway.billing`).

A paid order starts a subscription on the agreement that paid it; the clock
control and the background thread run renewals on emulator time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from okpay_gateway.demo.models import Order

logger = logging.getLogger(__name__)


def _origin(order: Order) -> str:
    return f"okpay-demo-order:{order.pk}"


def _contract_of(order: Order) -> Any:
    from okpay_gateway.models import Payment

    payment = (
        Payment.objects.select_related("contract")
        .filter(invoice=order.gateway_reference)
        .first()
    )
    return payment.contract if payment is not None else None


def start_for_order(order: Order) -> Any:
    """The subscription bought by a paid ``order`` (created once, by origin).

    Period 0 is the order itself, anchored at emulator time so the clock
    control decides when period 1 falls due.
    """
    from okpay_gateway.billing.schedule import BillingInterval
    from okpay_gateway.billing.subscriptions import create_subscription_from_purchase
    from okpay_gateway.emulator import clock

    contract = _contract_of(order)
    if contract is None:
        logger.warning("order %s is paid but has no OKPAY agreement", order.pk)
        return None
    plan = order.plan
    subscription = create_subscription_from_purchase(
        contract=contract,
        title=f"{plan.name} ({plan.currency})",
        amount=order.amount,
        currency=order.currency,
        interval=BillingInterval(plan.interval, plan.interval_count),
        paid_at=clock.now(),
        customer=order.customer,
        email=order.customer.email,
        channel=settings.CHANNEL_SLUG,
        origin=_origin(order),
    )
    if order.subscription_id != subscription.pk:
        Order.objects.filter(pk=order.pk).update(subscription_id=subscription.pk)
        order.subscription_id = subscription.pk
    return subscription


@dataclass(frozen=True, slots=True)
class RenewalSummary:
    """What one renewal pass did, for the clock page."""

    charged: int = 0
    skipped: int = 0
    declined: int = 0
    unknown: int = 0
    failed: int = 0
    error: str = ""

    @property
    def total(self) -> int:
        return self.charged + self.skipped + self.declined + self.unknown + self.failed


def run_renewals(*, trigger: str = "demo") -> RenewalSummary:
    """One renewal pass at emulator time; never raises."""
    from okpay_gateway.billing import engine
    from okpay_gateway.demo.tokens import follow_emulator_clock
    from okpay_gateway.emulator import clock

    try:
        follow_emulator_clock()
        report = engine.run_renewals(now=clock.now(), trigger=trigger)
    except Exception as exc:
        logger.exception("renewal pass failed")
        return RenewalSummary(error=f"{type(exc).__name__}: {exc}"[:200])
    # Keys are DecisionOutcome members; compare by value, not by hash.
    outcomes = {str(key): count for key, count in report.outcomes.items()}
    return RenewalSummary(
        charged=outcomes.get("charged", 0),
        skipped=outcomes.get("skipped", 0),
        declined=outcomes.get("declined", 0),
        unknown=outcomes.get("unknown", 0),
        failed=outcomes.get("failed", 0),
    )
