from __future__ import annotations

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class OkPayHostConfig(AppConfig):
    name = "okpay_gateway.host"
    label = "okpay_gateway_host"
    verbose_name = "Plugins (Saleor-compatible host)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Same start-up check as Saleor's PluginConfig: fail at boot, not on
        # the first request, when settings.PLUGINS names a broken plugin.
        from django.conf import settings
        from django.utils.module_loading import import_string

        for plugin_path in getattr(settings, "PLUGINS", []):
            plugin_class = import_string(plugin_path)
            if not getattr(plugin_class, "PLUGIN_ID", ""):
                raise ImproperlyConfigured(
                    f"PLUGIN_ID for {plugin_path} is not defined"
                )
