"""The demo's ``OKPAY_GRAPHQL_CHECKOUT_RESOLVER``: an order is a checkout.

``checkoutPaymentCreate``/``checkoutComplete`` name a checkout by token; the
demo hands its storefront the order's UUID, and this function says what that
order is (amount, currency, channel, customer, the plan as its one line).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.urls import reverse

from okpay_gateway.demo.models import CheckoutChannel, Order


def order_url(order: Order) -> str:
    """The order's page (the return URL after OKPAY), absolute."""
    path = reverse("okpay_demo:order", kwargs={"token": order.token})
    return settings.BASE_URL.rstrip("/") + path


def resolve_checkout(token: str) -> Any:
    """The checkout ``token`` stands for, or None when there is no such order."""
    from okpay_gateway.graphql.checkout import CheckoutInfo, CheckoutLineInfo

    try:
        key = uuid.UUID(str(token))
    except ValueError:
        return None
    order = Order.objects.select_related("plan", "customer").filter(token=key).first()
    if order is None:
        return None
    if order.checkout_channel != CheckoutChannel.GRAPHQL and not order.is_paid:
        # Looked up by the API means paid through the API (the order page says which).
        Order.objects.filter(pk=order.pk).update(
            checkout_channel=CheckoutChannel.GRAPHQL
        )
    plan = order.plan
    return CheckoutInfo(
        token=str(order.token),
        amount=order.amount,
        currency=order.currency,
        channel=settings.CHANNEL_SLUG,
        email=order.customer.email,
        customer=order.customer,
        lines=(
            CheckoutLineInfo(
                plan_id=plan.slug,
                title=plan.name,
                interval=plan.interval,
                amount=order.amount,
            ),
        ),
        return_url=order_url(order),
    )
