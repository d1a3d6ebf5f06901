from __future__ import annotations

from okpay_gateway.host.base_plugin import BasePlugin, ConfigurationTypeField

from .sample_plugins import GatewayPlugin, NoWebhookPlugin


def _plugin(configuration, cls=GatewayPlugin, **kwargs):
    return cls(configuration=configuration, active=True, **kwargs)


def test_configuration_unknown_stored_key_is_dropped():
    """Stored keys that are not in CONFIG_STRUCTURE disappear on construction."""
    plugin = _plugin(
        [{"name": "api_key", "value": "k"}, {"name": "legacy_secret", "value": "x"}]
    )
    names = [item["name"] for item in plugin.configuration]
    assert "legacy_secret" not in names
    assert names[0] == "api_key"


def test_configuration_missing_keys_filled_from_defaults_after_stored_ones():
    """Stored items keep their order and missing keys follow in DEFAULT_CONFIGURATION order."""
    plugin = _plugin(
        [{"name": "webhook_id", "value": "wh-1"}, {"name": "api_key", "value": "k"}]
    )
    assert [(i["name"], i["value"]) for i in plugin.configuration] == [
        ("webhook_id", "wh-1"),
        ("api_key", "k"),
        ("currencies", "USD,EUR"),
        ("auto_capture", True),
    ]


def test_configuration_items_get_structure_appended():
    """Each kept item carries the type, help_text and label of its structure."""
    plugin = _plugin([{"name": "api_key", "value": "k"}])
    api_key = plugin.configuration[0]
    assert api_key == {
        "name": "api_key",
        "value": "k",
        "type": ConfigurationTypeField.SECRET,
        "help_text": "API key",
        "label": "API key",
    }


def test_configuration_stored_list_is_not_mutated():
    """The merge works on shallow copies, so the stored list stays untouched."""
    stored = [{"name": "api_key", "value": "k"}, {"name": "junk", "value": 1}]
    _plugin(stored)
    assert stored == [{"name": "api_key", "value": "k"}, {"name": "junk", "value": 1}]


def test_configuration_none_gives_defaults():
    """A ``None`` configuration becomes the defaults for every structured key."""
    plugin = _plugin(None)
    assert {i["name"]: i["value"] for i in plugin.configuration} == {
        "api_key": "default-key",
        "currencies": "USD,EUR",
        "auto_capture": True,
        "webhook_id": None,
    }


def test_configuration_without_structure_is_empty():
    """A plugin with CONFIG_STRUCTURE None keeps no configuration at all."""
    plugin = _plugin([{"name": "anything", "value": 1}], cls=NoWebhookPlugin)
    assert plugin.configuration == []


def test_base_plugin_class_attribute_defaults_match_saleor():
    """BasePlugin's class attributes have Saleor's defaults."""
    assert (
        BasePlugin.PLUGIN_ID,
        BasePlugin.PLUGIN_NAME,
        BasePlugin.PLUGIN_DESCRIPTION,
        BasePlugin.CONFIG_STRUCTURE,
        BasePlugin.CONFIGURATION_PER_CHANNEL,
        BasePlugin.DEFAULT_CONFIGURATION,
        BasePlugin.DEFAULT_ACTIVE,
        BasePlugin.HIDDEN,
    ) == ("", "", "", None, True, [], False, False)


def test_base_plugin_hooks_are_annotations_only():
    """Payment hooks and webhook are not attributes of BasePlugin, only annotations."""
    plugin = _plugin([], cls=NoWebhookPlugin)
    assert not hasattr(plugin, "process_payment")
    assert not hasattr(plugin, "webhook")
    assert "process_payment" in BasePlugin.__annotations__
    assert plugin.is_event_active("webhook") is False
    assert plugin.token_is_required_as_payment_input(previous_value=True) is True


def test_base_plugin_constructor_sets_saleor_attributes():
    """The keyword-only constructor stores active, channel, db_config and requestor."""
    plugin = GatewayPlugin(
        configuration=[],
        active=False,
        requestor_getter=lambda: "staff-user",
        allow_replica=False,
    )
    assert plugin.active is False
    assert plugin.channel is None
    assert plugin.db_config is None
    assert plugin.allow_replica is False
    assert str(plugin.requestor) == "staff-user"
    assert str(plugin) == "Test gateway"


def test_base_plugin_allow_replica_defaults_to_true():
    """``allow_replica`` defaults to True and ``requestor`` to None, as in Saleor."""
    plugin = GatewayPlugin(configuration=[], active=True)
    assert plugin.allow_replica is True
    assert plugin.requestor is None


def test_configuration_type_field_values_match_saleor():
    """The stored strings of ConfigurationTypeField are Saleor's and CHOICES lists all seven."""
    assert [value for value, _label in ConfigurationTypeField.CHOICES] == [
        "String",
        "Multiline",
        "Boolean",
        "Secret",
        "Password",
        "SecretMultiline",
        "OUTPUT",
    ]


def test_get_payment_gateways_unsupported_currency_returns_empty():
    """The base get_payment_gateways filters on get_supported_currencies."""
    plugin = _plugin([])
    assert plugin.get_payment_gateways("PLN", None, None, previous_value=None) == []
    (gateway,) = plugin.get_payment_gateways("EUR", None, None, previous_value=None)
    assert (gateway.id, gateway.name, gateway.currencies) == (
        "test.gateway",
        "Test gateway",
        ["USD", "EUR"],
    )
    assert gateway.config == [{"field": "auto_capture", "value": True}]
