from __future__ import annotations

from django.apps import AppConfig


class OkPayEmulatorConfig(AppConfig):
    name = "okpay_gateway.emulator"
    label = "okpay_gateway_emulator"
    verbose_name = "OKPAY emulator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers contract expiry with the clock (clock.on_move), so moving
        # the clock expires agreements in every process.
        from okpay_gateway.emulator import operations  # noqa: F401
