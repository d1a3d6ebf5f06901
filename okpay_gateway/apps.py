from __future__ import annotations

from django.apps import AppConfig


class OkPayGatewayConfig(AppConfig):
    name = "okpay_gateway"
    label = "okpay_gateway"
    verbose_name = "OKPAY gateway"
    default_auto_field = "django.db.models.BigAutoField"
