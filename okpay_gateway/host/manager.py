"""``PluginsManager``: loads plugins and runs hooks the way Saleor's does.

Mirrors ``saleor/plugins/manager.py``:

* plugin classes come from dotted paths (``settings.PLUGINS``);
* global plugins (``CONFIGURATION_PER_CHANNEL = False``) are built once from
  ``PluginConfiguration`` rows with no channel, per-channel plugins once per
  channel slug; ``plugins_per_channel[slug]`` holds the channel's own plugins
  first, then every global plugin, each group in ``PLUGINS`` order;
* chain hooks pass ``previous_value`` from plugin to plugin over the active
  plugins; payment hooks go to the one plugin whose ``PLUGIN_ID`` is the
  gateway, active or not (the plugin checks ``self.active``).

Channels are slugs from the ``channels`` argument or ``OKPAY_HOST_CHANNELS``
(see :mod:`okpay_gateway.host.channels`); an unknown slug has no plugins.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils.module_loading import import_string

from .channels import Channel, configured_channels

if TYPE_CHECKING:
    from .base_plugin import BasePlugin
    from .interface import (
        CustomerSource,
        GatewayResponse,
        InitializedPaymentResponse,
        PaymentData,
        PaymentGateway,
        TokenConfig,
    )
    from .models import PluginConfiguration

logger = logging.getLogger(__name__)


def get_plugins_manager(
    allow_replica: bool, requestor_getter: Callable[[], Any] | None = None
) -> PluginsManager:
    """A fresh manager for ``settings.PLUGINS``; build one per request or task."""
    return PluginsManager(
        list(getattr(settings, "PLUGINS", [])), requestor_getter, allow_replica
    )


def _channel_slug_of(obj: Any) -> str | None:
    """The channel slug of an order, checkout or similar host object."""
    channel = getattr(obj, "channel", None)
    if channel is None:
        return getattr(obj, "channel_slug", None)
    return getattr(channel, "slug", channel)


class PluginsManager:
    """Base manager for handling plugins logic."""

    def __init__(
        self,
        plugins: list[str],
        requestor_getter: Callable[[], Any] | None = None,
        allow_replica: bool = True,
        *,
        channels: Iterable[str] | None = None,
    ) -> None:
        self._allow_replica = allow_replica
        self._requestor_getter = requestor_getter
        self._plugin_classes: list[type[BasePlugin]] = [
            import_string(path) for path in plugins
        ]
        self.channels: dict[str, Channel] = {
            channel.slug: channel for channel in configured_channels(channels)
        }
        self.all_plugins: list[BasePlugin] = []
        self.global_plugins: list[BasePlugin] = []
        self.plugins_per_channel: dict[str, list[BasePlugin]] = defaultdict(list)
        self._global_plugins_loaded = False
        self._loaded_channels: set[str] = set()

    @property
    def database(self) -> str:
        default = getattr(settings, "DATABASE_CONNECTION_DEFAULT_NAME", "default")
        if not self._allow_replica:
            return default
        replica = getattr(settings, "DATABASE_CONNECTION_REPLICA_NAME", "replica")
        # A shop without a replica alias reads from its default database.
        return replica if replica in settings.DATABASES else default

    # -- Loading ------------------------------------------------------------

    def _configs_map(self, classes: list[type[BasePlugin]], channel_slug: str | None):
        from .models import PluginConfiguration

        if not classes:
            return {}
        rows = PluginConfiguration.objects.using(self.database).filter(
            identifier__in=[cls.PLUGIN_ID for cls in classes]
        )
        rows = (
            rows.filter(channel=channel_slug)
            if channel_slug
            else rows.filter(channel__isnull=True)
        )
        return {row.identifier: row for row in rows}

    def _load_plugin(
        self,
        PluginClass: type[BasePlugin],
        db_configs_map: dict[str, PluginConfiguration],
        channel: Channel | None = None,
        requestor_getter: Callable[[], Any] | None = None,
        allow_replica: bool = True,
    ) -> BasePlugin:
        db_config = db_configs_map.get(PluginClass.PLUGIN_ID)
        if db_config is not None:
            configuration = db_config.configuration
            active = db_config.active
            channel = (
                self.channels.get(db_config.channel) if db_config.channel else None
            )
        else:
            configuration = PluginClass.DEFAULT_CONFIGURATION
            active = PluginClass.get_default_active()
        return PluginClass(
            configuration=configuration,
            active=active,
            channel=channel,
            requestor_getter=requestor_getter,
            db_config=db_config,
            allow_replica=allow_replica,
        )

    def _ensure_global_plugins_loaded(self) -> None:
        if self._global_plugins_loaded:
            return
        classes = [c for c in self._plugin_classes if not c.CONFIGURATION_PER_CHANNEL]
        configs = self._configs_map(classes, None)
        for PluginClass in classes:
            plugin = self._load_plugin(
                PluginClass,
                configs,
                requestor_getter=self._requestor_getter,
                allow_replica=self._allow_replica,
            )
            self.global_plugins.append(plugin)
            self.all_plugins.append(plugin)
        self._global_plugins_loaded = True

    def _ensure_channel_plugins_loaded(
        self, channel_slug: str, channel: Channel | None = None
    ) -> None:
        if channel_slug in self._loaded_channels:
            return
        self._ensure_global_plugins_loaded()
        channel = channel or self.channels.get(channel_slug)
        if channel is None:
            return
        classes = [c for c in self._plugin_classes if c.CONFIGURATION_PER_CHANNEL]
        configs = self._configs_map(classes, channel_slug)
        channel_plugins = [
            self._load_plugin(
                PluginClass,
                configs,
                channel=channel,
                requestor_getter=self._requestor_getter,
                allow_replica=self._allow_replica,
            )
            for PluginClass in classes
        ]
        self.all_plugins.extend(channel_plugins)
        self.plugins_per_channel[channel_slug] = [
            *channel_plugins,
            *self.global_plugins,
        ]
        self._loaded_channels.add(channel_slug)

    # -- Lookup -------------------------------------------------------------

    def get_plugins(
        self,
        channel_slug: str | None = None,
        active_only: bool = False,
        plugin_ids: list[str] | None = None,
    ) -> list[BasePlugin]:
        if channel_slug:
            self._ensure_channel_plugins_loaded(channel_slug)
            plugins = self.plugins_per_channel.get(channel_slug, [])
        else:
            self._ensure_global_plugins_loaded()
            plugins = self.all_plugins
        if active_only:
            plugins = [plugin for plugin in plugins if plugin.active]
        if plugin_ids is not None:
            plugins = [plugin for plugin in plugins if plugin.PLUGIN_ID in plugin_ids]
        return list(plugins)

    def get_all_plugins(self, active_only: bool = False) -> list[BasePlugin]:
        self._ensure_global_plugins_loaded()
        for slug in self.channels:
            self._ensure_channel_plugins_loaded(slug)
        if active_only:
            return [plugin for plugin in self.all_plugins if plugin.active]
        return list(self.all_plugins)

    def get_plugin(
        self, plugin_id: str, channel_slug: str | None = None
    ) -> BasePlugin | None:
        for plugin in self.get_plugins(channel_slug=channel_slug):
            if plugin.check_plugin_id(plugin_id):
                return plugin
        return None

    def is_event_active_for_any_plugin(
        self, event: str, channel_slug: str | None = None
    ) -> bool:
        plugins = self.get_plugins(channel_slug=channel_slug, active_only=True)
        return any(plugin.is_event_active(event) for plugin in plugins)

    # -- Running hooks ------------------------------------------------------

    def __run_method_on_plugins(
        self,
        method_name: str,
        default_value: Any,
        *args: Any,
        channel_slug: str | None = None,
        plugin_ids: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        value = default_value
        plugins = self.get_plugins(
            channel_slug=channel_slug, active_only=True, plugin_ids=plugin_ids
        )
        for plugin in plugins:
            value = self.__run_method_on_single_plugin(
                plugin, method_name, value, *args, **kwargs
            )
        return value

    def __run_method_on_single_plugin(
        self,
        plugin: BasePlugin | None,
        method_name: str,
        previous_value: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        plugin_method = getattr(plugin, method_name, NotImplemented)
        if plugin_method is NotImplemented:
            return previous_value
        returned_value = plugin_method(*args, **kwargs, previous_value=previous_value)
        if returned_value is NotImplemented:
            return previous_value
        return returned_value

    def run_method_on_plugins(
        self,
        method_name: str,
        default_value: Any,
        *args: Any,
        channel_slug: str | None = None,
        plugin_ids: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Public door to the chain for host events this manager has no method for."""
        return self.__run_method_on_plugins(
            method_name,
            default_value,
            *args,
            channel_slug=channel_slug,
            plugin_ids=plugin_ids,
            **kwargs,
        )

    def __run_payment_method(
        self,
        gateway: str,
        method_name: str,
        payment_information: PaymentData,
        channel_slug: str,
        **kwargs: Any,
    ) -> GatewayResponse:
        plugin = self.get_plugin(gateway, channel_slug)
        if plugin is not None:
            response = self.__run_method_on_single_plugin(
                plugin,
                method_name,
                previous_value=None,
                payment_information=payment_information,
                **kwargs,
            )
            if response is not None:
                return response
        raise Exception(
            f"Payment plugin {gateway} for {method_name} payment method is "
            "inaccessible!"
        )

    # -- Legacy Payment API -------------------------------------------------

    def authorize_payment(
        self, gateway: str, payment_information: PaymentData, channel_slug: str
    ) -> GatewayResponse:
        return self.__run_payment_method(
            gateway, "authorize_payment", payment_information, channel_slug
        )

    def capture_payment(
        self, gateway: str, payment_information: PaymentData, channel_slug: str
    ) -> GatewayResponse:
        return self.__run_payment_method(
            gateway, "capture_payment", payment_information, channel_slug
        )

    def refund_payment(
        self, gateway: str, payment_information: PaymentData, channel_slug: str
    ) -> GatewayResponse:
        return self.__run_payment_method(
            gateway, "refund_payment", payment_information, channel_slug
        )

    def void_payment(
        self, gateway: str, payment_information: PaymentData, channel_slug: str
    ) -> GatewayResponse:
        return self.__run_payment_method(
            gateway, "void_payment", payment_information, channel_slug
        )

    def confirm_payment(
        self, gateway: str, payment_information: PaymentData, channel_slug: str
    ) -> GatewayResponse:
        return self.__run_payment_method(
            gateway, "confirm_payment", payment_information, channel_slug
        )

    def process_payment(
        self, gateway: str, payment_information: PaymentData, channel_slug: str
    ) -> GatewayResponse:
        return self.__run_payment_method(
            gateway, "process_payment", payment_information, channel_slug
        )

    def token_is_required_as_payment_input(
        self, gateway: str, channel_slug: str | None
    ) -> bool:
        plugin = self.get_plugin(gateway, channel_slug=channel_slug)
        if plugin is None:
            return True
        return self.__run_method_on_single_plugin(
            plugin, "token_is_required_as_payment_input", previous_value=True
        )

    def get_client_token(
        self, gateway: str, token_config: TokenConfig, channel_slug: str
    ) -> str:
        plugin = self.get_plugin(gateway, channel_slug)
        return self.__run_method_on_single_plugin(
            plugin, "get_client_token", previous_value=None, token_config=token_config
        )

    def list_payment_sources(
        self, gateway: str, customer_id: str, channel_slug: str
    ) -> list[CustomerSource]:
        plugin = self.get_plugin(gateway, channel_slug=channel_slug)
        if plugin is None:
            raise Exception(f"Payment plugin {gateway} is inaccessible!")
        return self.__run_method_on_single_plugin(
            plugin, "list_payment_sources", previous_value=[], customer_id=customer_id
        )

    def list_payment_gateways(
        self,
        currency: str | None = None,
        checkout_info: Any = None,
        checkout_lines: Any = None,
        channel_slug: str | None = None,
        active_only: bool = True,
    ) -> list[PaymentGateway]:
        if checkout_info is not None:
            channel_slug = _channel_slug_of(checkout_info) or channel_slug
        plugins = self.get_plugins(channel_slug=channel_slug, active_only=active_only)
        # Only a process_payment defined on the concrete class makes a gateway.
        payment_plugins = [p for p in plugins if "process_payment" in type(p).__dict__]
        gateways: list[PaymentGateway] = []
        for plugin in payment_plugins:
            gateways.extend(
                plugin.get_payment_gateways(
                    currency=currency,
                    checkout_info=checkout_info,
                    checkout_lines=checkout_lines,
                    previous_value=None,
                )
            )
        return gateways

    def initialize_payment(
        self, gateway: str, payment_data: dict, channel_slug: str
    ) -> InitializedPaymentResponse | None:
        plugin = self.get_plugin(gateway, channel_slug)
        if plugin is None:
            return None
        return self.__run_method_on_single_plugin(
            plugin,
            "initialize_payment",
            previous_value=None,
            payment_data=payment_data,
            channel_slug=channel_slug,
        )

    def check_payment_balance(self, details: dict, channel_slug: str) -> dict:
        return self.__run_method_on_plugins(
            "check_payment_balance", None, details, channel_slug=channel_slug
        )

    # -- Events -------------------------------------------------------------

    def customer_created(self, customer: Any) -> Any:
        return self.__run_method_on_plugins("customer_created", None, customer)

    def customer_updated(self, customer: Any, webhooks: Any = None) -> Any:
        return self.__run_method_on_plugins(
            "customer_updated", None, customer, webhooks=webhooks
        )

    def customer_deleted(self, customer: Any, webhooks: Any = None) -> Any:
        return self.__run_method_on_plugins(
            "customer_deleted", None, customer, webhooks=webhooks
        )

    def customer_metadata_updated(self, customer: Any, webhooks: Any = None) -> Any:
        return self.__run_method_on_plugins(
            "customer_metadata_updated", None, customer, webhooks=webhooks
        )

    def _order_event(self, event: str, order: Any, webhooks: Any) -> Any:
        return self.__run_method_on_plugins(
            event,
            None,
            order,
            channel_slug=_channel_slug_of(order),
            webhooks=webhooks,
        )

    def order_created(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_created", order, webhooks)

    def order_confirmed(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_confirmed", order, webhooks)

    def order_paid(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_paid", order, webhooks)

    def order_fully_paid(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_fully_paid", order, webhooks)

    def order_refunded(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_refunded", order, webhooks)

    def order_fully_refunded(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_fully_refunded", order, webhooks)

    def order_cancelled(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_cancelled", order, webhooks)

    def order_expired(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_expired", order, webhooks)

    def order_updated(self, order: Any, webhooks: Any = None) -> Any:
        return self._order_event("order_updated", order, webhooks)

    # -- Configuration ------------------------------------------------------

    def save_plugin_configuration(
        self, plugin_id: str, channel_slug: str | None, cleaned_data: dict[str, Any]
    ) -> PluginConfiguration | None:
        """Create or update the row, validated by the plugin class.

        ``cleaned_data`` is ``{"active": bool, "configuration": [{name, value}]}``
        (either key optional). ``ValidationError`` from the plugin propagates
        and nothing is written.
        """
        from .models import PluginConfiguration

        if channel_slug:
            if channel_slug not in self.channels:
                return None
            plugins = self.get_plugins(channel_slug=channel_slug)
        else:
            self._ensure_global_plugins_loaded()
            plugins = self.global_plugins

        for plugin in plugins:
            if plugin_id != plugin.PLUGIN_ID:
                continue
            # Saleor stores the structure-decorated list; keep rows to the
            # documented {"name", "value"} pairs.
            stored = [
                {"name": item["name"], "value": item["value"]}
                for item in plugin.configuration
            ]
            # Saleor creates the row before validating; roll it back with a
            # rejected configuration so no half-made row is left behind.
            with transaction.atomic(using=self.database):
                row, _ = PluginConfiguration.objects.using(self.database).get_or_create(
                    identifier=plugin_id,
                    channel=channel_slug or None,
                    defaults={
                        "configuration": stored,
                        "name": plugin.PLUGIN_NAME,
                        "description": plugin.PLUGIN_DESCRIPTION,
                    },
                )
                row = plugin.save_plugin_configuration(row, cleaned_data)
            row.name = plugin.PLUGIN_NAME
            row.description = plugin.PLUGIN_DESCRIPTION
            plugin.active = row.active
            plugin.configuration = row.configuration
            return row
        return None

    # -- HTTP ---------------------------------------------------------------

    def webhook_endpoint_without_channel(
        self, request: HttpRequest, plugin_id: str
    ) -> HttpResponse:
        """Legacy ``/plugins/<plugin_id>/`` route: first match, ``active`` ignored."""
        path = _path_after(request, plugin_id)
        default_value = HttpResponseNotFound()
        plugin = next(
            (p for p in self.get_all_plugins() if p.check_plugin_id(plugin_id)), None
        )
        if plugin is None:
            return default_value
        return self.__run_method_on_single_plugin(
            plugin, "webhook", default_value, request, path
        )

    def webhook(
        self, request: HttpRequest, plugin_id: str, channel_slug: str | None = None
    ) -> HttpResponse:
        path = _path_after(request, plugin_id)
        default_value = HttpResponseNotFound()
        plugin = self.get_plugin(plugin_id, channel_slug=channel_slug)
        if plugin is None or not plugin.active:
            return default_value
        if plugin.CONFIGURATION_PER_CHANNEL and not channel_slug:
            return HttpResponseNotFound(
                "Incorrect endpoint. Use /plugins/channel/<channel_slug>/"
                f"{plugin.PLUGIN_ID}/"
            )
        return self.__run_method_on_single_plugin(
            plugin, "webhook", default_value, request, path
        )


def _path_after(request: HttpRequest, plugin_id: str) -> str | None:
    # Saleor's rule: everything after the first occurrence of the plugin id.
    parts = request.path.split(plugin_id, maxsplit=1)
    return parts[1] if len(parts) == 2 else None
