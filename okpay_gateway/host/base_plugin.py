"""``BasePlugin`` and ``ConfigurationTypeField`` as Saleor defines them.

Mirrors ``saleor/plugins/base_plugin.py``: class attributes, the keyword-only
constructor, the configuration merge on construction and the save path. Hooks
are type annotations only, never methods, so a plugin implements a hook by
defining a method of that name and the manager passes values through plugins
that do not.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from typing import TYPE_CHECKING, Any

from django.utils.functional import SimpleLazyObject

from .interface import (
    CustomerSource,
    GatewayResponse,
    InitializedPaymentResponse,
    PaymentData,
    PaymentGateway,
    TokenConfig,
)

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from .channels import Channel
    from .models import PluginConfiguration

PluginConfigurationType = list[dict[str, Any]]


class ConfigurationTypeField:
    STRING = "String"
    MULTILINE = "Multiline"
    BOOLEAN = "Boolean"
    SECRET = "Secret"
    SECRET_MULTILINE = "SecretMultiline"
    PASSWORD = "Password"
    OUTPUT = "OUTPUT"
    CHOICES = [
        (STRING, "Field is a String"),
        (MULTILINE, "Field is a Multiline"),
        (BOOLEAN, "Field is a Boolean"),
        (SECRET, "Field is a Secret"),
        (PASSWORD, "Field is a Password"),
        (SECRET_MULTILINE, "Field is a Secret multiline"),
        (OUTPUT, "Field is a read only"),
    ]


class BasePlugin:
    """Abstract class for storing all methods available for any plugin.

    Every hook receives ``previous_value`` by keyword: the value returned by
    the previous plugin in the chain (or the manager's default). A plugin must
    check ``self.active`` itself; ``PluginsManager.get_plugin`` also returns
    inactive plugins.
    """

    PLUGIN_ID = ""
    PLUGIN_NAME = ""
    PLUGIN_DESCRIPTION = ""
    CONFIG_STRUCTURE: dict[str, dict[str, Any]] | None = None
    CONFIGURATION_PER_CHANNEL = True
    DEFAULT_CONFIGURATION: PluginConfigurationType = []
    DEFAULT_ACTIVE = False
    HIDDEN = False

    def __init__(
        self,
        *,
        configuration: PluginConfigurationType,
        active: bool,
        channel: Channel | None = None,
        requestor_getter: Callable[[], Any] | None = None,
        db_config: PluginConfiguration | None = None,
        allow_replica: bool = True,
    ) -> None:
        self.configuration = self.get_plugin_configuration(configuration)
        self.active = active
        self.channel = channel
        self.requestor = (
            SimpleLazyObject(requestor_getter) if requestor_getter else None
        )
        self.db_config = db_config
        self.allow_replica = allow_replica

    def __del__(self) -> None:
        self.channel = None
        self.configuration = None
        self.requestor = None
        self.db_config = None

    def __str__(self) -> str:
        return self.PLUGIN_NAME

    # -- Legacy Payment API hooks (annotations only, as in Saleor) ---------

    authorize_payment: Callable[[PaymentData, Any], GatewayResponse]
    capture_payment: Callable[[PaymentData, Any], GatewayResponse]
    confirm_payment: Callable[[PaymentData, Any], GatewayResponse]
    process_payment: Callable[[PaymentData, Any], GatewayResponse]
    refund_payment: Callable[[PaymentData, Any], GatewayResponse]
    void_payment: Callable[[PaymentData, Any], GatewayResponse]
    list_payment_sources: Callable[[str, Any], list[CustomerSource]]
    get_client_token: Callable[[TokenConfig, Any], str]
    get_payment_config: Callable[[Any], list[dict[str, Any]]]
    get_supported_currencies: Callable[[Any], list[str]]
    initialize_payment: Callable[[dict, Any], InitializedPaymentResponse]
    check_payment_balance: Callable[[dict, Any], dict]

    # -- HTTP endpoint: /plugins/channel/<slug>/<PLUGIN_ID>/<path> ----------

    webhook: Callable[[HttpRequest, str, Any], HttpResponse]

    # -- Events a recurring-billing plugin may hook --------------------------

    customer_created: Callable[[Any, Any], Any]
    customer_updated: Callable[[Any, Any], Any]
    customer_deleted: Callable[[Any, Any], Any]
    customer_metadata_updated: Callable[[Any, Any], Any]
    order_created: Callable[[Any, Any], Any]
    order_confirmed: Callable[[Any, Any], Any]
    order_paid: Callable[[Any, Any], Any]
    order_fully_paid: Callable[[Any, Any], Any]
    order_refunded: Callable[[Any, Any], Any]
    order_fully_refunded: Callable[[Any, Any], Any]
    order_cancelled: Callable[[Any, Any], Any]
    order_expired: Callable[[Any, Any], Any]
    order_updated: Callable[[Any, Any], Any]
    order_fulfilled: Callable[[Any, Any], Any]
    notify: Callable[[Any, Callable[[], dict], Any], Any]

    # -- Real methods on Saleor's BasePlugin --------------------------------

    def token_is_required_as_payment_input(self, previous_value: Any) -> Any:
        return previous_value

    def get_payment_gateways(
        self,
        currency: str | None,
        checkout_info: Any,
        checkout_lines: Any,
        previous_value: Any,
        **kwargs: Any,
    ) -> list[PaymentGateway]:
        payment_config = (
            self.get_payment_config(previous_value)
            if hasattr(self, "get_payment_config")
            else []
        )
        currencies = (
            self.get_supported_currencies([])
            if hasattr(self, "get_supported_currencies")
            else []
        )
        if currency and currency not in currencies:
            return []
        return [
            PaymentGateway(
                id=self.PLUGIN_ID,
                name=self.PLUGIN_NAME,
                config=payment_config,
                currencies=currencies,
            )
        ]

    @classmethod
    def check_plugin_id(cls, plugin_id: str) -> bool:
        return plugin_id == cls.PLUGIN_ID

    @classmethod
    def get_default_active(cls) -> bool:
        return cls.DEFAULT_ACTIVE

    def is_event_active(self, event: str, channel: str | None = None) -> bool:
        return hasattr(self, event)

    def get_plugin_configuration(
        self, configuration: PluginConfigurationType | None
    ) -> PluginConfigurationType:
        if not configuration:
            configuration = []
        configuration = self._update_configuration_structure(configuration)
        if configuration:
            self._append_config_structure(configuration)
        return configuration

    def resolve_plugin_configuration(self, request: Any) -> PluginConfigurationType:
        """Override to customise the configuration the admin API shows."""
        return self.configuration

    # -- Configuration save path (PluginsManager.save_plugin_configuration) -

    @classmethod
    def validate_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration, **kwargs: Any
    ) -> None:
        """Raise ``django.core.exceptions.ValidationError`` if it is unusable."""
        return

    @classmethod
    def pre_save_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration
    ) -> None:
        """Last chance to mutate ``plugin_configuration.configuration``."""

    @classmethod
    def save_plugin_configuration(
        cls, plugin_configuration: PluginConfiguration, cleaned_data: dict[str, Any]
    ) -> PluginConfiguration:
        current_config = plugin_configuration.configuration
        configuration_to_update = cleaned_data.get("configuration")
        if configuration_to_update:
            cls._update_config_items(configuration_to_update, current_config)
        if "active" in cleaned_data:
            plugin_configuration.active = cleaned_data["active"]
        cls.validate_plugin_configuration(plugin_configuration)
        cls.pre_save_plugin_configuration(plugin_configuration)
        plugin_configuration.save()
        if plugin_configuration.configuration:
            cls._append_config_structure(plugin_configuration.configuration)
        return plugin_configuration

    @classmethod
    def _update_config_items(
        cls,
        configuration_to_update: PluginConfigurationType,
        current_config: PluginConfigurationType,
    ) -> None:
        config_structure = cls.CONFIG_STRUCTURE or {}
        to_update = {
            item["name"]: item.get("value") for item in configuration_to_update
        }
        for config_item in current_config:
            new_value = to_update.pop(config_item["name"], None)
            if new_value is None:
                continue
            item_type = config_structure.get(config_item["name"], {}).get("type")
            new_value = cls._clean_configuration_value(item_type, new_value)
            if new_value is not None:
                config_item["value"] = new_value

        current_keys = {item["name"] for item in current_config}
        # Saleor iterates a set here; keep the caller's order instead so the
        # stored list is deterministic.
        for missing_key, raw_value in to_update.items():
            if missing_key in current_keys or not config_structure.get(missing_key):
                continue
            item_type = config_structure[missing_key].get("type")
            new_value = cls._clean_configuration_value(item_type, raw_value)
            if new_value is None:
                continue
            current_config.append({"name": missing_key, "value": new_value})

    @classmethod
    def _clean_configuration_value(cls, item_type: str | None, new_value: Any) -> Any:
        if (
            item_type == ConfigurationTypeField.BOOLEAN
            and new_value
            and not isinstance(new_value, bool)
        ):
            new_value = new_value.lower() == "true"
        if item_type == ConfigurationTypeField.OUTPUT:
            # Read-only for the admin: only the plugin itself writes it.
            return None
        return new_value

    @classmethod
    def _append_config_structure(cls, configuration: PluginConfigurationType) -> None:
        config_structure = cls.CONFIG_STRUCTURE or {}
        without_structure = []
        for item in configuration:
            structure = config_structure.get(item.get("name"))
            if structure:
                item.update(structure)
            else:
                without_structure.append(item)
        for item in without_structure:
            configuration.remove(item)

    @classmethod
    def _update_configuration_structure(
        cls, configuration: PluginConfigurationType
    ) -> PluginConfigurationType:
        config_structure = cls.CONFIG_STRUCTURE or {}
        desired_keys = set(config_structure)
        updated = [copy(item) for item in configuration if item["name"] in desired_keys]
        missing_keys = desired_keys - {item["name"] for item in updated}
        if not missing_keys or not cls.DEFAULT_CONFIGURATION:
            return updated
        updated.extend(
            copy(item)
            for item in cls.DEFAULT_CONFIGURATION
            if item["name"] in missing_keys
        )
        return updated
