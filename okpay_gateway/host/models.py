"""Plugin configuration rows and customer metadata for the standalone host.

``PluginConfiguration`` mirrors ``saleor/plugins/models.py`` except that
``channel`` holds the channel slug (the host has no Channel table).
``CustomerMetadata`` gives a plain Django user the ``private_metadata`` that
Saleor's ``User`` carries, so gateway customer ids live under the same keys.
``HostPayment`` is the host's side of a checkout payment (Saleor's ``Payment``
row), kept by the GraphQL checkout of :mod:`okpay_gateway.graphql.checkout`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .payment import ChargeStatus, StorePaymentMethod


class PluginConfiguration(models.Model):
    identifier = models.CharField(max_length=128)
    name = models.CharField(max_length=128)
    # NULL, not "", marks a global row: Saleor's unique_together relies on it.
    channel = models.SlugField(  # noqa: DJ001
        max_length=255,
        null=True,
        blank=True,
        help_text="Channel slug; empty for a global plugin.",
    )
    description = models.TextField(blank=True)
    active = models.BooleanField(default=False)
    configuration = models.JSONField(
        default=dict, encoder=DjangoJSONEncoder, blank=True
    )

    class Meta:
        unique_together = ("identifier", "channel")
        permissions = (("manage_plugins", "Manage plugins"),)

    def __str__(self) -> str:
        scope = self.channel or "global"
        return f"{self.identifier} ({scope}, active: {self.active})"


class CustomerMetadata(models.Model):
    """Saleor-style metadata for a user of ``AUTH_USER_MODEL``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="okpay_host_metadata",
    )
    private_metadata = models.JSONField(
        default=dict, encoder=DjangoJSONEncoder, blank=True
    )
    metadata = models.JSONField(default=dict, encoder=DjangoJSONEncoder, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "customer metadata"

    def __str__(self) -> str:
        return f"metadata of user {self.user_id}"

    # The ModelWithMetadata API: in-memory only, callers save.

    def get_value_from_private_metadata(self, key: str, default: Any = None) -> Any:
        return self.private_metadata.get(key, default)

    def store_value_in_private_metadata(self, items: dict[str, Any]) -> None:
        self.private_metadata = {**(self.private_metadata or {}), **items}

    def delete_value_from_private_metadata(self, key: str) -> bool:
        if key in self.private_metadata:
            del self.private_metadata[key]
            return True
        return False

    def clear_private_metadata(self) -> None:
        self.private_metadata = {}

    def get_value_from_metadata(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    def store_value_in_metadata(self, items: dict[str, Any]) -> None:
        self.metadata = {**(self.metadata or {}), **items}

    def delete_value_from_metadata(self, key: str) -> bool:
        if key in self.metadata:
            del self.metadata[key]
            return True
        return False

    def clear_metadata(self) -> None:
        self.metadata = {}


class HostPayment(models.Model):
    """One payment of a shop checkout, as Saleor's ``Payment`` row keeps it.

    The gateway keeps its own records (OKPAY: ``okpay_gateway.Payment`` with
    ``invoice = "pay-<pk>"`` and ``host_reference = str(pk)``); this row holds
    only what the host itself must remember between ``checkoutPaymentCreate``
    and ``checkoutComplete``: the chosen gateway, the amount, the return URL,
    whether a confirmation is pending and its token.
    """

    checkout_token = models.CharField(max_length=255, db_index=True)
    gateway = models.CharField(max_length=255)
    channel = models.CharField(max_length=255, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    token = models.CharField(max_length=512, blank=True)
    return_url = models.URLField(max_length=1000, blank=True)
    store_payment_method = models.CharField(
        max_length=11,
        choices=StorePaymentMethod.CHOICES,
        default=StorePaymentMethod.NONE,
    )
    is_active = models.BooleanField(default=True)
    # Saleor's to_confirm: the next checkoutComplete calls confirm_payment
    # with confirm_token (the last ACTION_TO_CONFIRM transaction id).
    to_confirm = models.BooleanField(default=False)
    confirm_token = models.CharField(max_length=512, blank=True)
    charge_status = models.CharField(
        max_length=20, choices=ChargeStatus.CHOICES, default=ChargeStatus.NOT_CHARGED
    )
    captured_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    psp_reference = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.gateway} {self.total} {self.currency} ({self.charge_status})"
