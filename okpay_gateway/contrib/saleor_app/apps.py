from __future__ import annotations

from django.apps import AppConfig


class SaleorAppConfig(AppConfig):
    name = "okpay_gateway.contrib.saleor_app"
    label = "okpay_saleor_app"
    verbose_name = "OKPAY Saleor App"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks as django_checks

        from . import checks
        from . import receivers as _receivers  # noqa: F401 - connects receivers

        django_checks.register(checks.check_app_settings, checks.TAG)
