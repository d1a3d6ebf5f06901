from __future__ import annotations

from okpay_gateway.host.base_plugin import ConfigurationTypeField
from okpay_gateway.host.masking import (
    hide_private_configuration_fields,
    masked_configuration,
)

from .sample_plugins import GatewayPlugin, GlobalPlugin

STRUCTURE = {
    "secret": {"type": ConfigurationTypeField.SECRET},
    "short": {"type": ConfigurationTypeField.SECRET_MULTILINE},
    "empty_secret": {"type": ConfigurationTypeField.SECRET},
    "password": {"type": ConfigurationTypeField.PASSWORD},
    "empty_password": {"type": ConfigurationTypeField.PASSWORD},
    "plain": {"type": ConfigurationTypeField.STRING},
    "unset": {"type": ConfigurationTypeField.SECRET},
}


def test_hide_private_fields_masks_each_type_like_saleor():
    """Secrets keep their last 4 (or last 1) characters, passwords become empty."""
    configuration = [
        {"name": "secret", "value": "sk_live_123456"},
        {"name": "short", "value": "abcd"},
        {"name": "empty_secret", "value": ""},
        {"name": "password", "value": "hunter2"},
        {"name": "empty_password", "value": ""},
        {"name": "plain", "value": "visible"},
        {"name": "unset", "value": None},
    ]
    hide_private_configuration_fields(configuration, STRUCTURE)
    assert {i["name"]: i["value"] for i in configuration} == {
        "secret": "3456",
        "short": "d",
        "empty_secret": None,
        "password": "",
        "empty_password": None,
        "plain": "visible",
        "unset": None,
    }


def test_hide_private_fields_without_structure_changes_nothing():
    """With no structure there is nothing to mask."""
    configuration = [{"name": "secret", "value": "sk_live_123456"}]
    hide_private_configuration_fields(configuration, None)
    assert configuration == [{"name": "secret", "value": "sk_live_123456"}]


def test_masked_configuration_leaves_plugin_values_intact():
    """Masking a plugin's configuration for display does not touch the plugin's values."""
    plugin = GatewayPlugin(
        configuration=[{"name": "api_key", "value": "sk_live_123456"}], active=True
    )
    shown = masked_configuration(plugin)
    assert shown[0]["value"] == "3456"
    assert plugin.configuration[0]["value"] == "sk_live_123456"


def test_masked_configuration_hides_password_of_global_plugin():
    """A PASSWORD field with a value is shown as an empty string."""
    plugin = GlobalPlugin(configuration=None, active=True)
    assert masked_configuration(plugin)[0]["value"] == ""
