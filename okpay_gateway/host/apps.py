from __future__ import annotations

from django.apps import AppConfig


class OkPayHostConfig(AppConfig):
    name = "okpay_gateway.host"
    label = "okpay_gateway_host"
    verbose_name = "Plugins (Saleor-compatible host)"
    default_auto_field = "django.db.models.BigAutoField"
