"""Plugin webhook routes with Saleor's regexes and URL names.

Include at the site root (``path("", include("okpay_gateway.host.urls"))``)
so the URLs read ``/plugins/channel/<slug>/<plugin_id>/...`` as in Saleor.
The patterns are unanchored at the end on purpose: everything after the
plugin id reaches the plugin as ``path``. Order matters, because the legacy
``plugins/<plugin_id>/`` pattern would also match the other two.
"""

from __future__ import annotations

from django.urls import re_path

from .views import (
    handle_global_plugin_webhook,
    handle_plugin_per_channel_webhook,
    handle_plugin_webhook,
)

_ID = r"[.0-9A-Za-z_\-]+"

urlpatterns = [
    re_path(
        rf"^plugins/channel/(?P<channel_slug>{_ID})/(?P<plugin_id>{_ID})/",
        handle_plugin_per_channel_webhook,
        name="plugins-per-channel",
    ),
    re_path(
        rf"^plugins/global/(?P<plugin_id>{_ID})/",
        handle_global_plugin_webhook,
        name="plugins-global",
    ),
    re_path(
        rf"^plugins/(?P<plugin_id>{_ID})/",
        handle_plugin_webhook,
        name="plugins",
    ),
]
