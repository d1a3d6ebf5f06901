from __future__ import annotations

from django.apps import AppConfig


class OkPayDemoConfig(AppConfig):
    name = "okpay_gateway.demo"
    label = "okpay_gateway_demo"
    verbose_name = "OKPAY demo shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A closed agreement must stop its subscriptions. The core app is
        # meant to connect these receivers itself; importing them here too is
        # harmless (dispatch_uid) and keeps the demo right until it does.
        from okpay_gateway import signals
        from okpay_gateway.billing import receivers  # noqa: F401
        from okpay_gateway.demo.checkout import on_payment_completed

        signals.payment_completed.connect(
            on_payment_completed, dispatch_uid="okpay_gateway.demo.order_paid"
        )
