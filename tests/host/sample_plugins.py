"""Small plugins the host tests load through dotted paths, as ``settings.PLUGINS``."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpResponse

from okpay_gateway.host.base_plugin import BasePlugin, ConfigurationTypeField
from okpay_gateway.host.interface import CustomerSource, GatewayResponse
from okpay_gateway.host.payment import TransactionKind

PREFIX = "tests.host.sample_plugins."


def _response(payment_information, kind, tag):
    return GatewayResponse(
        is_success=True,
        action_required=False,
        kind=kind,
        amount=payment_information.amount,
        currency=payment_information.currency,
        transaction_id=tag,
        error=None,
    )


class GatewayPlugin(BasePlugin):
    """A per-channel gateway with every kind of configuration field."""

    PLUGIN_ID = "test.gateway"
    PLUGIN_NAME = "Test gateway"
    PLUGIN_DESCRIPTION = "Gateway used by the host tests"
    DEFAULT_ACTIVE = True
    DEFAULT_CONFIGURATION = [
        {"name": "api_key", "value": "default-key"},
        {"name": "currencies", "value": "USD,EUR"},
        {"name": "auto_capture", "value": True},
        {"name": "webhook_id", "value": None},
    ]
    CONFIG_STRUCTURE = {
        "api_key": {
            "type": ConfigurationTypeField.SECRET,
            "help_text": "API key",
            "label": "API key",
        },
        "currencies": {
            "type": ConfigurationTypeField.STRING,
            "help_text": "Comma-separated currency codes",
            "label": "Currencies",
        },
        "auto_capture": {
            "type": ConfigurationTypeField.BOOLEAN,
            "help_text": "Capture at once",
            "label": "Auto capture",
        },
        "webhook_id": {
            "type": ConfigurationTypeField.OUTPUT,
            "help_text": "Set by the plugin",
            "label": "Webhook id",
        },
    }

    @property
    def values(self):
        return {item["name"]: item["value"] for item in self.configuration}

    @classmethod
    def validate_plugin_configuration(cls, plugin_configuration, **kwargs):
        values = {i["name"]: i["value"] for i in plugin_configuration.configuration}
        if plugin_configuration.active and not values.get("api_key"):
            raise ValidationError({"api_key": "An active gateway needs an API key."})

    def get_supported_currencies(self, previous_value):
        return [c.strip() for c in self.values["currencies"].split(",")]

    def get_payment_config(self, previous_value):
        return [{"field": "auto_capture", "value": self.values["auto_capture"]}]

    def process_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        channel = self.channel.slug if self.channel else "none"
        return _response(payment_information, TransactionKind.CAPTURE, channel)

    def confirm_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        return _response(
            payment_information, TransactionKind.CONFIRM, payment_information.token
        )

    def list_payment_sources(self, customer_id, previous_value):
        if not self.active:
            return previous_value
        return [CustomerSource(id=f"src-{customer_id}", gateway=self.PLUGIN_ID)]

    def token_is_required_as_payment_input(self, previous_value):
        return False

    def webhook(self, request, path, previous_value):
        if not self.active:
            return previous_value
        body = f"{request.method} {path} {self.channel.slug}"
        return HttpResponse(body, content_type="text/plain")


class ProcessPaymentMixin:
    def process_payment(self, payment_information, previous_value):
        return _response(payment_information, TransactionKind.AUTH, "mixin")


class MixinGatewayPlugin(ProcessPaymentMixin, BasePlugin):
    """Inherits process_payment from a mixin, so it is not listed as a gateway."""

    PLUGIN_ID = "test.mixin-gateway"
    PLUGIN_NAME = "Mixin gateway"
    DEFAULT_ACTIVE = True

    def get_supported_currencies(self, previous_value):
        return ["USD"]


class FirstChainPlugin(BasePlugin):
    """Appends its tag to the chained value."""

    PLUGIN_ID = "test.chain-first"
    PLUGIN_NAME = "Chain first"
    DEFAULT_ACTIVE = True

    def order_created(self, order, previous_value, webhooks=None):
        if not self.active:
            return previous_value
        return [*(previous_value or []), "first"]

    def check_payment_balance(self, request_data, previous_value):
        if request_data["gateway_id"] != self.PLUGIN_ID:
            return NotImplemented
        return {"balance": Decimal("5.00")}


class SecondChainPlugin(BasePlugin):
    """Appends its tag after the first plugin's, proving the value is passed on."""

    PLUGIN_ID = "test.chain-second"
    PLUGIN_NAME = "Chain second"
    DEFAULT_ACTIVE = True

    def order_created(self, order, previous_value, webhooks=None):
        return [*(previous_value or []), f"second:{webhooks}"]


class GlobalPlugin(BasePlugin):
    """A global (not per-channel) plugin with a webhook."""

    PLUGIN_ID = "test.global"
    PLUGIN_NAME = "Global plugin"
    CONFIGURATION_PER_CHANNEL = False
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "password": {
            "type": ConfigurationTypeField.PASSWORD,
            "help_text": "Password",
            "label": "Password",
        }
    }
    DEFAULT_CONFIGURATION = [{"name": "password", "value": "hunter2"}]

    def order_created(self, order, previous_value, webhooks=None):
        return [*(previous_value or []), "global"]

    def webhook(self, request, path, previous_value):
        return HttpResponse(f"global {path}", content_type="text/plain")


class NoWebhookPlugin(BasePlugin):
    """Active, but defines no webhook hook."""

    PLUGIN_ID = "test.no-webhook"
    PLUGIN_NAME = "No webhook"
    DEFAULT_ACTIVE = True


class NoIdPlugin(BasePlugin):
    """Forgets PLUGIN_ID; the app's start-up check must refuse it."""

    PLUGIN_NAME = "No id"
