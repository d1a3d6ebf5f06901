"""Creating subscriptions from a paid first purchase.

**Convention (Saleor and our host).** A product or variant marks a subscription
with metadata (Saleor's public ``metadata``; the variant's keys win over the
product's):

=========================  ===================================================
key                        value
=========================  ===================================================
``okpay.interval``         ``day``, ``week``, ``month`` or ``year`` (required)
``okpay.interval_count``   a whole number ≥ 1 (default ``1``): every N units
``okpay.title``            the plan title (default: the order line's product name)
``okpay.amount``           the amount per period (default: the line's total gross)
=========================  ===================================================

The order pays the first period (period 0, anchored at the payment time); the
subscription then renews at the start of each following period, charging the
customer's active OKPAY agreement in the order's currency and channel.

* Our host calls :func:`create_subscription_from_purchase` directly.
* In Saleor, the plugin's ``order_fully_paid(order, previous_value)`` hook calls
  :func:`subscriptions_from_paid_order` (it reads only plain attributes of the
  order, so it needs no Saleor import) and returns ``previous_value``.

Creating is idempotent per purchase: ``origin`` (``order-line:<id>`` for an
order line) is unique, so a hook delivered twice finds the first subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from okpay_gateway.billing.schedule import BillingInterval, period_start, to_utc
from okpay_gateway.models import Contract, Subscription, SubscriptionStatus
from okpay_gateway.types import SystemClock

logger = logging.getLogger(__name__)

__all__ = [
    "METADATA_AMOUNT",
    "METADATA_INTERVAL",
    "METADATA_INTERVAL_COUNT",
    "METADATA_TITLE",
    "SubscriptionTerms",
    "create_subscription_from_purchase",
    "parse_subscription_metadata",
    "subscriptions_from_paid_order",
]

METADATA_INTERVAL = "okpay.interval"
METADATA_INTERVAL_COUNT = "okpay.interval_count"
METADATA_TITLE = "okpay.title"
METADATA_AMOUNT = "okpay.amount"


@dataclass(frozen=True, slots=True)
class SubscriptionTerms:
    """What product/variant metadata says about a subscription plan."""

    interval: BillingInterval
    title: str | None = None
    amount: Decimal | None = None


def parse_subscription_metadata(
    *metadata: Mapping[str, Any] | None,
) -> SubscriptionTerms | None:
    """The plan described by the metadata mappings (later ones win), or None.

    Pass the product's metadata first, then the variant's. Returns None when
    no ``okpay.interval`` is set; raises ``ValueError`` (naming the key) for a
    value that is present but unusable.
    """
    merged: dict[str, Any] = {}
    for mapping in metadata:
        if mapping:
            merged.update(mapping)
    unit = str(merged.get(METADATA_INTERVAL) or "").strip().lower()
    if not unit:
        return None
    raw_count = str(merged.get(METADATA_INTERVAL_COUNT) or "1").strip()
    if not raw_count.isdigit():
        raise ValueError(
            f"{METADATA_INTERVAL_COUNT} must be a whole number, not {raw_count!r}"
        )
    try:
        interval = BillingInterval(unit, int(raw_count))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{METADATA_INTERVAL}/{METADATA_INTERVAL_COUNT}: {exc}"
        ) from exc
    amount = None
    raw_amount = merged.get(METADATA_AMOUNT)
    if raw_amount not in (None, ""):
        try:
            amount = Decimal(str(raw_amount))
        except InvalidOperation as exc:
            raise ValueError(
                f"{METADATA_AMOUNT} is not an amount: {raw_amount!r}"
            ) from exc
        if not amount.is_finite() or amount <= 0:
            raise ValueError(
                f"{METADATA_AMOUNT} must be more than 0, not {raw_amount!r}"
            )
    title = str(merged.get(METADATA_TITLE) or "").strip() or None
    return SubscriptionTerms(interval=interval, title=title, amount=amount)


def create_subscription_from_purchase(
    *,
    contract: Contract,
    title: str,
    amount: Decimal,
    interval: BillingInterval,
    paid_at: datetime | None = None,
    customer: Any = None,
    email: str = "",
    currency: str | None = None,
    channel: str | None = None,
    origin: str = "",
    ends_at: datetime | None = None,
    first_period_paid: bool = True,
) -> Subscription:
    """Create (or find, by ``origin``) the subscription a paid purchase starts.

    ``paid_at`` anchors period 0. With ``first_period_paid`` (the usual case:
    the purchase paid it) the first renewal is period 1 at the next period
    start; otherwise period 0 is due at once.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be a Decimal more than 0, not {amount!r}")
    anchor = to_utc(paid_at or SystemClock().now(), "paid_at")
    first = 1 if first_period_paid else 0
    values = {
        "customer": customer if customer is not None else contract.customer,
        "email": email or contract.client_email,
        "contract": contract,
        "channel": contract.channel if channel is None else channel,
        "title": title[:127],
        "amount": amount,
        "currency": (currency or contract.currency).upper(),
        "interval_unit": interval.unit.value,
        "interval_count": interval.count,
        "anchor": anchor,
        "ends_at": ends_at,
        "period_index": first,
        "next_charge_at": period_start(anchor, interval, first),
        "status": SubscriptionStatus.ACTIVE,
        "origin": origin,
    }
    if origin:
        existing = Subscription.objects.filter(origin=origin).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return Subscription.objects.create(**values)
        except IntegrityError:
            return Subscription.objects.get(origin=origin)
    return Subscription.objects.create(**values)


def _metadata(obj: Any) -> Mapping[str, Any] | None:
    value = getattr(obj, "metadata", None) if obj is not None else None
    return value if isinstance(value, Mapping) else None


def _line_amount(line: Any) -> Decimal | None:
    total = getattr(line, "total_price_gross_amount", None)
    if total is not None:
        return Decimal(str(total))
    unit = getattr(line, "unit_price_gross_amount", None)
    if unit is None:
        return None
    return Decimal(str(unit)) * int(getattr(line, "quantity", 1) or 1)


def subscriptions_from_paid_order(
    order: Any,
    *,
    lines: Iterable[Any] | None = None,
    contract: Contract | None = None,
    paid_at: datetime | None = None,
) -> list[Subscription]:
    """The body of Saleor's ``order_fully_paid`` hook (and any host's equivalent).

    Reads Saleor's attribute names: ``order.lines`` (or ``lines``),
    ``line.variant.metadata`` / ``line.variant.product.metadata``,
    ``line.product_name``, ``line.total_price_gross_amount``,
    ``order.currency``, ``order.channel.slug``, ``order.user``,
    ``order.user_email``. ``contract`` defaults to the customer's active
    agreement in the order's currency and channel; without one nothing is
    created (logged). Lines with bad metadata are logged and skipped.
    """
    from okpay_gateway.contracts import active_contract_for

    if lines is None:
        manager = getattr(order, "lines", None)
        lines = manager.all() if hasattr(manager, "all") else (manager or ())
    currency = str(getattr(order, "currency", "") or "")
    channel_obj = getattr(order, "channel", None)
    channel = str(getattr(channel_obj, "slug", channel_obj or "") or "")
    user = getattr(order, "user", None)
    created: list[Subscription] = []
    for line in lines:
        variant = getattr(line, "variant", None)
        product = getattr(variant, "product", None) if variant is not None else None
        try:
            terms = parse_subscription_metadata(_metadata(product), _metadata(variant))
        except ValueError as exc:
            logger.warning(
                "order line %s: bad subscription metadata: %s",
                getattr(line, "pk", "?"),
                exc,
            )
            continue
        if terms is None:
            continue
        agreement = contract or active_contract_for(user, currency, channel)
        if agreement is None:
            logger.warning(
                "order %s line %s is a subscription but the customer has no active "
                "OKPAY agreement in %s",
                getattr(order, "pk", "?"),
                getattr(line, "pk", "?"),
                currency,
            )
            continue
        amount = terms.amount or _line_amount(line)
        if amount is None or amount <= 0:
            continue
        created.append(
            create_subscription_from_purchase(
                contract=agreement,
                title=terms.title
                or str(getattr(line, "product_name", "") or "Subscription"),
                amount=amount,
                interval=terms.interval,
                paid_at=paid_at,
                customer=user,
                email=str(getattr(order, "user_email", "") or ""),
                currency=currency or None,
                channel=channel,
                origin=f"order-line:{getattr(line, 'pk', None) or getattr(line, 'id', '')}",
            )
        )
    return created
