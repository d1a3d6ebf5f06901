from __future__ import annotations

from django.apps import AppConfig


class OkPayGatewayConfig(AppConfig):
    name = "okpay_gateway"
    label = "okpay_gateway"
    verbose_name = "OKPAY gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks as django_checks

        from okpay_gateway import checks

        django_checks.register(checks.check_settings, checks.TAG)
        # The app config is where Django wires signal receivers; importing the
        # billing receivers here is wiring, not a dependency of the core on
        # billing: closed agreements must stop their subscriptions.
        from okpay_gateway.billing import checks as billing_checks
        from okpay_gateway.billing import receivers  # noqa: F401

        django_checks.register(billing_checks.check_dunning, checks.TAG)
