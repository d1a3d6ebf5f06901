from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from okpay_gateway.host.models import PluginConfiguration

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.host.urls")]


@pytest.fixture
def client(host_settings):
    """A client that enforces CSRF, like a provider posting without a token."""
    return Client(enforce_csrf_checks=True)


def test_webhook_per_channel_path_is_text_after_plugin_id(client):
    """The plugin receives the URL part after its id, e.g. "/ipn/"."""
    response = client.post("/plugins/channel/eu/test.gateway/ipn/", {"ok_txn_id": "1"})
    assert response.status_code == 200
    assert response.content == b"POST /ipn/ eu"


def test_webhook_nested_path_excludes_query_string(client):
    """Deeper paths pass through whole, the query string is not part of ``path``."""
    response = client.get(
        "/plugins/channel/default-channel/test.gateway/return/a/b?x=1"
    )
    assert response.content == b"GET /return/a/b default-channel"


def test_webhook_bare_plugin_url_gives_slash_path(client):
    """The shortest URL reaches the plugin with path "/"."""
    response = client.put("/plugins/channel/eu/test.gateway/")
    assert response.content == b"PUT / eu"


def test_webhook_inactive_plugin_is_not_found(client):
    """An inactive plugin answers 404 on the per-channel route."""
    PluginConfiguration.objects.create(
        identifier="test.gateway", name="x", channel="eu", active=False
    )
    assert client.post("/plugins/channel/eu/test.gateway/ipn/").status_code == 404
    ok = client.post("/plugins/channel/default-channel/test.gateway/ipn/")
    assert ok.status_code == 200


def test_webhook_unknown_channel_or_plugin_is_not_found(client):
    """Unknown channels and plugin ids answer 404."""
    assert client.post("/plugins/channel/nowhere/test.gateway/ipn/").status_code == 404
    assert client.post("/plugins/channel/eu/test.unknown/ipn/").status_code == 404


def test_webhook_plugin_without_hook_is_not_found(client):
    """A plugin that defines no webhook leaves the default 404 in place."""
    assert client.get("/plugins/channel/eu/test.no-webhook/x/").status_code == 404


def test_webhook_global_plugin_reached_through_channel_and_global_routes(client):
    """A global plugin answers on both the channel route and /plugins/global/."""
    by_channel = client.post("/plugins/channel/eu/test.global/hook/")
    by_global = client.post("/plugins/global/test.global/hook/")
    assert by_channel.content == b"global /hook/"
    assert by_global.content == b"global /hook/"


def test_webhook_global_route_does_not_serve_per_channel_plugin(client):
    """A per-channel plugin is not loaded on /plugins/global/, so it is a 404."""
    assert client.post("/plugins/global/test.gateway/ipn/").status_code == 404


def test_webhook_legacy_route_ignores_active(client):
    """The legacy /plugins/<id>/ route calls an inactive plugin the other routes refuse."""
    PluginConfiguration.objects.create(
        identifier="test.global", name="x", channel=None, active=False
    )
    assert client.post("/plugins/global/test.global/hook/").status_code == 404
    response = client.post("/plugins/test.global/hook/")
    assert response.status_code == 200
    assert response.content == b"global /hook/"


def test_webhook_url_names_reverse_like_saleor(host_settings):
    """The route names are Saleor's, so reverse() builds the same URLs."""
    assert (
        reverse(
            "plugins-per-channel",
            kwargs={"plugin_id": "test.gateway", "channel_slug": "eu"},
        )
        == "/plugins/channel/eu/test.gateway/"
    )
    assert (
        reverse("plugins-global", kwargs={"plugin_id": "x.y"}) == "/plugins/global/x.y/"
    )
    assert reverse("plugins", kwargs={"plugin_id": "x.y"}) == "/plugins/x.y/"
