"""What the demo shop sells (plans) and what a customer bought (orders).

An :class:`Order` plays the part of Saleor's checkout and payment: its primary
key is the ``payment_id`` the plugin sees, so the gateway's invoice for it is
``pay-<order pk>``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Interval(models.TextChoices):
    DAY = "day", "day"
    WEEK = "week", "week"
    MONTH = "month", "month"
    YEAR = "year", "year"


class Plan(models.Model):
    """A subscription the storefront offers, in one currency."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    interval = models.CharField(
        max_length=5, choices=Interval.choices, default=Interval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "currency", "amount"]

    def __str__(self) -> str:
        return f"{self.name} ({self.amount} {self.currency} / {self.period_label})"

    @property
    def period_label(self) -> str:
        if self.interval_count == 1:
            return str(self.interval)
        return f"{self.interval_count} {self.interval}s"


class OrderStatus(models.TextChoices):
    CREATED = "created", "Created"
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for your OKPAY approval"
    PROCESSING = "processing", "Payment being processed"
    PAID = "paid", "Paid"
    FAILED = "failed", "Payment failed"


class CheckoutChannel(models.TextChoices):
    FORM = "form", "Server-side form"
    GRAPHQL = "graphql", "GraphQL (checkoutComplete)"


class Order(models.Model):
    """One purchase of a plan; the host-side payment the plugin is asked about."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demo_orders"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="orders")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.CREATED
    )
    checkout_channel = models.CharField(
        max_length=10, choices=CheckoutChannel.choices, default=CheckoutChannel.FORM
    )
    # What the gateway calls this payment (its transaction id, ``pay-<pk>``).
    gateway_reference = models.CharField(max_length=127, blank=True)
    psp_reference = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=255, blank=True)
    # The billing engine's subscription created when the order was paid.
    subscription_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Order {self.pk} {self.plan.name} ({self.status})"

    @property
    def is_paid(self) -> bool:
        return self.status == OrderStatus.PAID
