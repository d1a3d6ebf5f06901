from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from okpay_gateway.host.channels import Channel
from okpay_gateway.host.manager import PluginsManager, get_plugins_manager
from okpay_gateway.host.models import PluginConfiguration
from okpay_gateway.host.payment import TransactionKind

from .conftest import ALL_PLUGINS
from .sample_plugins import PREFIX

pytestmark = pytest.mark.django_db


def _manager(plugins=None, channels=("default-channel", "eu")):
    return PluginsManager(
        plugins or ALL_PLUGINS, allow_replica=False, channels=list(channels)
    )


def _order(slug="default-channel"):
    return SimpleNamespace(channel=Channel(slug=slug))


def test_manager_channel_plugins_listed_before_global_plugins():
    """A channel's list holds its per-channel plugins in PLUGINS order, then globals."""
    ids = [p.PLUGIN_ID for p in _manager().get_plugins("eu")]
    assert ids == [
        "test.gateway",
        "test.mixin-gateway",
        "test.chain-first",
        "test.chain-second",
        "test.no-webhook",
        "test.global",
    ]


def test_manager_per_channel_row_applies_only_to_its_channel():
    """A stored row configures its own channel; other channels get the defaults."""
    PluginConfiguration.objects.create(
        identifier="test.gateway",
        name="Test gateway",
        channel="eu",
        active=False,
        configuration=[
            {"name": "api_key", "value": "eu-key"},
            {"name": "x", "value": 1},
        ],
    )
    manager = _manager()
    eu = manager.get_plugin("test.gateway", "eu")
    default = manager.get_plugin("test.gateway", "default-channel")
    assert (eu.active, eu.values["api_key"], eu.channel.slug) == (False, "eu-key", "eu")
    assert "x" not in eu.values
    assert eu.db_config.channel == "eu"
    assert (default.active, default.values["api_key"], default.db_config) == (
        True,
        "default-key",
        None,
    )
    assert default.channel == Channel(slug="default-channel")


def test_manager_global_plugin_uses_row_without_channel():
    """Global plugins read the row whose channel is NULL and are shared by channels."""
    PluginConfiguration.objects.create(
        identifier="test.global", name="Global", channel=None, active=False
    )
    PluginConfiguration.objects.create(
        identifier="test.global", name="Global", channel="eu", active=True
    )
    manager = _manager()
    in_eu = manager.get_plugin("test.global", "eu")
    assert in_eu.active is False
    assert in_eu.channel is None
    assert in_eu is manager.get_plugin("test.global", "default-channel")
    assert manager.get_plugin("test.global") is in_eu


def test_manager_unknown_channel_has_no_plugins():
    """A slug that is not a configured channel resolves to no plugin at all."""
    manager = _manager()
    assert manager.get_plugins("nowhere") == []
    assert manager.get_plugin("test.global", "nowhere") is None


def test_manager_chain_passes_previous_value_through_active_plugins():
    """Each plugin receives the previous plugin's result; global plugins run last."""
    result = _manager().order_created(_order(), webhooks="W")
    assert result == ["first", "second:W", "global"]


def test_manager_chain_skips_inactive_plugins():
    """An inactive plugin is left out of the chain by the manager."""
    PluginConfiguration.objects.create(
        identifier="test.chain-first", name="x", channel="default-channel", active=False
    )
    assert _manager().order_created(_order(), webhooks=None) == [
        "second:None",
        "global",
    ]


def test_manager_chain_not_implemented_keeps_previous_value():
    """A plugin returning NotImplemented passes the previous value on unchanged."""
    manager = _manager()
    other = manager.check_payment_balance({"gateway_id": "other"}, "default-channel")
    mine = manager.check_payment_balance(
        {"gateway_id": "test.chain-first"}, "default-channel"
    )
    assert other is None
    assert mine == {"balance": Decimal("5.00")}


def test_manager_chain_with_plugin_ids_runs_only_those():
    """``plugin_ids`` restricts the chain to the named plugins."""
    result = _manager().run_method_on_plugins(
        "order_created",
        ["start"],
        _order(),
        channel_slug="default-channel",
        plugin_ids=["test.chain-second"],
        webhooks=1,
    )
    assert result == ["start", "second:1"]


def test_manager_process_payment_routes_to_gateway_of_channel(payment_data):
    """process_payment reaches the gateway instance of the given channel."""
    response = _manager().process_payment("test.gateway", payment_data, "eu")
    assert (response.kind, response.transaction_id, response.amount) == (
        TransactionKind.CAPTURE,
        "eu",
        Decimal("12.50"),
    )


def test_manager_confirm_payment_passes_payment_information(payment_data):
    """confirm_payment hands the PaymentData to the plugin by keyword."""
    response = _manager().confirm_payment(
        "test.gateway", payment_data, "default-channel"
    )
    assert (response.kind, response.transaction_id) == (
        TransactionKind.CONFIRM,
        "tok-1",
    )


def test_manager_payment_inactive_gateway_raises_inaccessible(payment_data):
    """An inactive gateway returns previous_value None, which the manager refuses."""
    PluginConfiguration.objects.create(
        identifier="test.gateway", name="x", channel="eu", active=False
    )
    with pytest.raises(
        Exception,
        match=re.escape(
            "Payment plugin test.gateway for process_payment payment method "
            "is inaccessible!"
        ),
    ):
        _manager().process_payment("test.gateway", payment_data, "eu")


def test_manager_payment_method_missing_on_plugin_raises(payment_data):
    """A gateway without the hook (here: capture_payment) is inaccessible for it."""
    with pytest.raises(Exception, match="for capture_payment payment method"):
        _manager().capture_payment("test.gateway", payment_data, "eu")


def test_manager_list_payment_sources_uses_customer_id_keyword():
    """list_payment_sources passes customer_id and returns the plugin's sources."""
    (source,) = _manager().list_payment_sources("test.gateway", "C-9", "eu")
    assert (source.id, source.gateway, source.credit_card_info) == (
        "src-C-9",
        "test.gateway",
        None,
    )
    with pytest.raises(
        Exception, match=re.escape("Payment plugin nope is inaccessible!")
    ):
        _manager().list_payment_sources("nope", "C-9", "eu")


def test_manager_list_payment_gateways_requires_concrete_process_payment():
    """Only plugins defining process_payment on their own class are gateways."""
    gateways = _manager().list_payment_gateways(channel_slug="default-channel")
    assert [g.id for g in gateways] == ["test.gateway"]


def test_manager_list_payment_gateways_filters_currency():
    """A gateway that does not support the currency is left out."""
    manager = _manager()
    assert manager.list_payment_gateways(currency="PLN", channel_slug="eu") == []
    (gateway,) = manager.list_payment_gateways(currency="EUR", channel_slug="eu")
    assert gateway.currencies == ["USD", "EUR"]


def test_manager_list_payment_gateways_active_only_flag():
    """Inactive gateways are listed only when active_only is False."""
    PluginConfiguration.objects.create(
        identifier="test.gateway", name="x", channel="eu", active=False
    )
    manager = _manager()
    assert manager.list_payment_gateways(channel_slug="eu") == []
    listed = manager.list_payment_gateways(channel_slug="eu", active_only=False)
    assert [g.id for g in listed] == ["test.gateway"]


def test_manager_list_payment_gateways_reads_channel_from_checkout_info():
    """With checkout_info given, its channel decides which plugins are asked."""
    checkout_info = SimpleNamespace(channel=Channel(slug="eu"))
    gateways = _manager().list_payment_gateways(checkout_info=checkout_info)
    assert [g.id for g in gateways] == ["test.gateway"]


def test_manager_get_plugin_returns_inactive_plugins():
    """get_plugin does not filter on active; the plugin must check it itself."""
    PluginConfiguration.objects.create(
        identifier="test.gateway", name="x", channel="eu", active=False
    )
    plugin = _manager().get_plugin("test.gateway", "eu")
    assert plugin is not None
    assert plugin.active is False


def test_manager_token_is_required_defaults_true_for_unknown_gateway():
    """token_is_required_as_payment_input is True unless the gateway says otherwise."""
    manager = _manager()
    assert manager.token_is_required_as_payment_input("nope", "eu") is True
    assert manager.token_is_required_as_payment_input("test.global", "eu") is True
    assert manager.token_is_required_as_payment_input("test.gateway", "eu") is False


def test_manager_is_event_active_for_any_plugin():
    """An event is active when an active plugin defines the hook."""
    manager = _manager()
    assert manager.is_event_active_for_any_plugin("order_created", "eu") is True
    assert manager.is_event_active_for_any_plugin("order_paid", "eu") is False


def test_manager_get_all_plugins_loads_every_channel():
    """get_all_plugins holds the globals once and per-channel plugins per channel."""
    ids = [(p.PLUGIN_ID, p.channel) for p in _manager().get_all_plugins()]
    assert ids.count(("test.global", None)) == 1
    assert ("test.gateway", Channel(slug="eu")) in ids
    assert ("test.gateway", Channel(slug="default-channel")) in ids
    assert len(ids) == 11


def test_get_plugins_manager_reads_settings(host_settings):
    """get_plugins_manager builds from settings.PLUGINS and OKPAY_HOST_CHANNELS."""
    host_settings.PLUGINS = [PREFIX + "GatewayPlugin"]
    manager = get_plugins_manager(allow_replica=False)
    assert list(manager.channels) == ["default-channel", "eu"]
    assert [p.PLUGIN_ID for p in manager.get_plugins("eu")] == ["test.gateway"]
    assert manager.database == "default"


def test_manager_replica_falls_back_to_default_database():
    """Without a replica alias, an allow_replica manager reads the default database."""
    manager = PluginsManager([], allow_replica=True)
    assert manager.database == "default"


# -- save_plugin_configuration ----------------------------------------------


def test_save_plugin_configuration_creates_row_with_cleaned_values():
    """Booleans are cleaned, OUTPUT and unknown keys ignored, defaults stored."""
    manager = _manager()
    row = manager.save_plugin_configuration(
        "test.gateway",
        "eu",
        {
            "active": True,
            "configuration": [
                {"name": "api_key", "value": "new-key"},
                {"name": "auto_capture", "value": "False"},
                {"name": "webhook_id", "value": "forged"},
                {"name": "not_a_field", "value": "x"},
            ],
        },
    )
    stored = PluginConfiguration.objects.get(identifier="test.gateway", channel="eu")
    assert stored.pk == row.pk
    assert (stored.name, stored.description, stored.active) == (
        "Test gateway",
        "Gateway used by the host tests",
        True,
    )
    assert stored.configuration == [
        {"name": "api_key", "value": "new-key"},
        {"name": "currencies", "value": "USD,EUR"},
        {"name": "auto_capture", "value": False},
        {"name": "webhook_id", "value": None},
    ]
    plugin = manager.get_plugin("test.gateway", "eu")
    assert plugin.values["api_key"] == "new-key"
    assert plugin.values["auto_capture"] is False


def test_save_plugin_configuration_appends_structured_key_missing_from_row():
    """A key absent from the row is appended when it is in CONFIG_STRUCTURE."""
    PluginConfiguration.objects.create(
        identifier="test.gateway",
        name="x",
        channel="eu",
        active=True,
        configuration=[{"name": "api_key", "value": "k"}],
    )
    _manager().save_plugin_configuration(
        "test.gateway",
        "eu",
        {"configuration": [{"name": "currencies", "value": "EUR"}]},
    )
    stored = PluginConfiguration.objects.get(identifier="test.gateway", channel="eu")
    assert stored.configuration == [
        {"name": "api_key", "value": "k"},
        {"name": "currencies", "value": "EUR"},
    ]


def test_save_plugin_configuration_rejected_by_validation_writes_nothing():
    """validate_plugin_configuration's ValidationError propagates and no row is left."""
    with pytest.raises(ValidationError) as excinfo:
        _manager().save_plugin_configuration(
            "test.gateway",
            "eu",
            {"active": True, "configuration": [{"name": "api_key", "value": ""}]},
        )
    assert excinfo.value.message_dict == {
        "api_key": ["An active gateway needs an API key."]
    }
    assert not PluginConfiguration.objects.exists()


def test_save_plugin_configuration_rejection_keeps_existing_row():
    """A rejected update leaves the stored row as it was."""
    PluginConfiguration.objects.create(
        identifier="test.gateway",
        name="x",
        channel="eu",
        active=False,
        configuration=[{"name": "api_key", "value": ""}],
    )
    with pytest.raises(ValidationError):
        _manager().save_plugin_configuration("test.gateway", "eu", {"active": True})
    stored = PluginConfiguration.objects.get(identifier="test.gateway", channel="eu")
    assert stored.active is False


def test_save_plugin_configuration_global_plugin_uses_null_channel():
    """A global plugin saves to the row without a channel."""
    row = _manager().save_plugin_configuration("test.global", None, {"active": False})
    assert row.channel is None
    assert PluginConfiguration.objects.get(identifier="test.global").active is False


def test_save_plugin_configuration_wrong_scope_returns_none():
    """A per-channel plugin needs a channel, and the channel must exist."""
    manager = _manager()
    assert manager.save_plugin_configuration("test.gateway", None, {}) is None
    assert manager.save_plugin_configuration("test.gateway", "nowhere", {}) is None
    assert manager.save_plugin_configuration("nope", "eu", {}) is None
    assert not PluginConfiguration.objects.exists()
