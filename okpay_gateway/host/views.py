"""Plugin HTTP endpoints (``saleor/plugins/views.py``).

Saleor serves these without CSRF, session or auth middleware; a Django shop
usually has ``CsrfViewMiddleware``, so the views are ``csrf_exempt`` to give
provider callbacks (IPN, returns) the same reach. Do not rely on
``request.user`` in a plugin webhook.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .manager import get_plugins_manager


@csrf_exempt
def handle_plugin_per_channel_webhook(
    request: HttpRequest, plugin_id: str, channel_slug: str
) -> HttpResponse:
    manager = get_plugins_manager(allow_replica=False)
    return manager.webhook(request, plugin_id, channel_slug=channel_slug)


@csrf_exempt
def handle_global_plugin_webhook(request: HttpRequest, plugin_id: str) -> HttpResponse:
    manager = get_plugins_manager(allow_replica=False)
    return manager.webhook(request, plugin_id, channel_slug=None)


@csrf_exempt
def handle_plugin_webhook(request: HttpRequest, plugin_id: str) -> HttpResponse:
    manager = get_plugins_manager(allow_replica=False)
    return manager.webhook_endpoint_without_channel(request, plugin_id)
