"""Secret masking for configuration shown to administrators.

Mirrors ``hide_private_configuration_fields`` from
``saleor/graphql/plugins/resolvers.py``: it runs only on the read path and
mutates the list it is given, so callers pass a copy; stored values stay
unmasked.
"""

from __future__ import annotations

import copy
from typing import Any

from .base_plugin import BasePlugin, ConfigurationTypeField, PluginConfigurationType

SECRET_TYPES = (ConfigurationTypeField.SECRET, ConfigurationTypeField.SECRET_MULTILINE)


def hide_private_configuration_fields(
    configuration: PluginConfigurationType,
    config_structure: dict[str, dict[str, Any]] | None,
) -> None:
    if not config_structure:
        return
    for item in configuration:
        value = item["value"]
        if value is None:
            continue
        field_type = config_structure.get(item["name"], {}).get("type")
        if field_type == ConfigurationTypeField.PASSWORD:
            item["value"] = "" if value else None
        if field_type in SECRET_TYPES:
            if not value:
                item["value"] = None
            elif len(value) > 4:
                item["value"] = value[-4:]
            else:
                item["value"] = value[-1:]


def masked_configuration(
    plugin: BasePlugin, request: Any = None
) -> PluginConfigurationType:
    """The plugin's configuration as an admin screen may show it."""
    configuration = copy.deepcopy(plugin.resolve_plugin_configuration(request))
    hide_private_configuration_fields(configuration, plugin.CONFIG_STRUCTURE)
    return configuration
