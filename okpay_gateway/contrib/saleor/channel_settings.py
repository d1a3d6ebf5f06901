"""Provider settings of a channel, read from the stored plugin configuration.

Set ``OKPAY_GATEWAY["SETTINGS_PROVIDER"] =
"okpay_gateway.contrib.saleor.channel_settings.for_channel"`` in shops that
configure OKPAY through the plugin (Saleor, or our host): processes that never
handle a checkout — Celery workers, ``okpay_renew``, ``okpay_reverify`` — then
charge and verify with the channel's saved configuration.
"""

from __future__ import annotations

from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
from okpay_gateway.host import compat
from okpay_gateway.provider.settings import OkPaySettings


def for_channel(channel: str) -> OkPaySettings | None:
    """The active OKPAY plugin's settings for ``channel``, or None."""
    manager = compat.get_plugins_manager(allow_replica=False)
    plugin = manager.get_plugin(PLUGIN_ID, channel_slug=channel or None)
    if plugin is None or not plugin.active:
        return None
    return getattr(plugin, "okpay_settings", None)
