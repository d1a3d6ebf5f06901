"""What the App keeps beside the core's rows.

The agreements, payments, subscriptions and charge attempts are the core's
(``okpay_gateway``) rows, the same ones the plugin writes. These models hold
only the Saleor side: which Saleor instance installed the App (and its
encrypted token and signing keys), which Saleor customer an agreement belongs
to, which Saleor transaction a payment answers, and two outboxes — reports
to Saleor and renewal orders — written before Saleor is called, so a failed
or crashed call is retried and never repeated twice.
"""

from __future__ import annotations

import uuid

from django.db import models

from okpay_gateway.models import Contract, Payment, Subscription


class Installation(models.Model):
    """One Saleor instance (by its GraphQL API URL) that installed the App."""

    saleor_api_url = models.URLField(max_length=500, unique=True)
    domain = models.CharField(max_length=255, blank=True)
    # Saleor's global ID of the App, asked with the new token after registration.
    app_id = models.CharField(max_length=100, blank=True)
    # Fernet ciphertext (token_store); never shown, never logged.
    token_ciphertext = models.TextField(editable=False)
    jwks = models.JSONField(default=dict, blank=True, editable=False)
    jwks_fetched_at = models.DateTimeField(null=True, blank=True)
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.saleor_api_url

    def __repr__(self) -> str:
        return f"<Installation {self.saleor_api_url}>"

    @property
    def token(self) -> str:
        from . import token_store

        return token_store.decrypt(self.token_ciphertext)

    def set_token(self, token: str) -> None:
        from . import token_store

        self.token_ciphertext = token_store.encrypt(token)


class CustomerAgreement(models.Model):
    """The Saleor customer an agreement belongs to (the App cannot use the user FK)."""

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="agreements"
    )
    saleor_user_id = models.CharField(max_length=100, db_index=True)
    contract = models.OneToOneField(
        Contract, on_delete=models.CASCADE, related_name="saleor_app_customer"
    )
    # Whether the agreement id was written to the customer's private metadata.
    stored_on_customer = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.saleor_user_id} → {self.contract_id}"


class TransactionLink(models.Model):
    """The Saleor transaction a core payment answers."""

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="transactions"
    )
    saleor_transaction_id = models.CharField(max_length=100)
    payment = models.OneToOneField(
        Payment, on_delete=models.CASCADE, related_name="saleor_app_transaction"
    )
    source_object_id = models.CharField(max_length=100, blank=True)
    saleor_user_id = models.CharField(max_length=100, blank=True)
    channel_slug = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "saleor_transaction_id"],
                name="okpay_app_transaction_once",
            )
        ]

    def __str__(self) -> str:
        return self.saleor_transaction_id


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be delivered"
    DELIVERED = "delivered", "Delivered"


class EventReport(models.Model):
    """One ``transactionEventReport`` to send, written before it is sent.

    ``key`` (``<payment invoice>:<type>``) is unique: the IPN and the
    customer's return both try to write it, only one row can exist, so the
    outcome is reported once whichever arrives first. Undelivered rows are
    retried (``okpay_saleor_app_retry``, or the Celery task).
    """

    key = models.CharField(max_length=160, unique=True)
    link = models.ForeignKey(
        TransactionLink, on_delete=models.CASCADE, related_name="reports"
    )
    event_type = models.CharField(max_length=40)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    psp_reference = models.CharField(max_length=100)
    message = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class AppSubscription(models.Model):
    """The Saleor side of a subscription: whom and what a renewal order is for."""

    subscription = models.OneToOneField(
        Subscription, on_delete=models.CASCADE, related_name="saleor_app"
    )
    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="subscriptions"
    )
    saleor_user_id = models.CharField(max_length=100, blank=True)
    user_email = models.EmailField(blank=True)
    channel_id = models.CharField(max_length=100)
    # [{"variantId": ..., "quantity": n}] as draftOrderCreate takes them.
    lines = models.JSONField(default=list)
    # AddressInput dicts (draftOrderComplete needs a billing address).
    billing_address = models.JSONField(default=dict)
    shipping_address = models.JSONField(default=dict, blank=True)
    origin_order_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"subscription {self.subscription_id} in {self.channel_id}"


class RenewalOrderStatus(models.TextChoices):
    PENDING = "pending", "Waiting for Saleor"
    DRAFT = "draft", "Draft created"
    PLACED = "placed", "Order placed, not paid yet"
    PAID = "paid", "Paid order"


def new_reference() -> str:
    return f"okpay-renewal-{uuid.uuid4().hex}"


class RenewalOrder(models.Model):
    """The Saleor order of one renewal charge; written before Saleor is called.

    ``invoice`` is the charge attempt's ``<subscription>-<period>`` and unique;
    ``reference`` is the order's ``externalReference`` and is in its private
    metadata with the invoice, so a retried or crashed run finds the order
    instead of creating another.
    """

    invoice = models.CharField(max_length=127, unique=True)
    # The order's externalReference: unique across every database that talks
    # to the Saleor (invoices restart at 1 in each), fixed before Saleor is called.
    reference = models.CharField(max_length=200, unique=True, default=new_reference)
    app_subscription = models.ForeignKey(
        AppSubscription, on_delete=models.CASCADE, related_name="orders"
    )
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, related_name="saleor_app_order"
    )
    status = models.CharField(
        max_length=10,
        choices=RenewalOrderStatus.choices,
        default=RenewalOrderStatus.PENDING,
        db_index=True,
    )
    order_id = models.CharField(max_length=100, blank=True)
    order_number = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=255, blank=True)
    # A short lease: the receiver and the retry command never work on one row
    # at once (two drafts for one period).
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.invoice} ({self.status})"
