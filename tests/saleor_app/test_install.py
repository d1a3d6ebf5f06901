"""Installing the App: manifest, token registration, allow-list, appCreate."""

from __future__ import annotations

import logging

import pytest
import requests
from django.core.management import call_command

from okpay_gateway.contrib.saleor_app import token_store
from okpay_gateway.contrib.saleor_app.manifest import PERMISSIONS
from okpay_gateway.contrib.saleor_app.models import Installation
from tests.saleor_app.standin import APP_ID, APP_TOKEN, STAFF_TOKEN

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_manifest_lists_permissions_webhooks_and_token_url(app):
    """The manifest Saleor installs from: three permissions, seven webhooks."""
    manifest = requests.get(app + "manifest/", timeout=10).json()
    assert manifest["permissions"] == PERMISSIONS
    assert manifest["tokenTargetUrl"] == app + "register/"
    assert len(manifest["extensions"]) == 3  # see test_dashboard.py
    targets = {hook["targetUrl"] for hook in manifest["webhooks"]}
    assert app + "webhooks/transaction-initialize-session/" in targets
    for hook in manifest["webhooks"]:
        assert (
            requests.post(hook["targetUrl"], data=b"{}", timeout=10).status_code == 401
        )


def test_register_stores_token_encrypted_and_never_logs_it(app, standin, caplog):
    """Install flow: token checked with Saleor, stored as ciphertext only."""
    caplog.set_level(logging.DEBUG)
    response = requests.post(
        app + "register/",
        json={"auth_token": APP_TOKEN},
        headers={"Saleor-Api-Url": standin.api_url},
        timeout=10,
    )
    assert response.status_code == 200
    installation = Installation.objects.get(saleor_api_url=standin.api_url)
    assert installation.app_id == APP_ID
    assert APP_TOKEN not in installation.token_ciphertext
    assert token_store.decrypt(installation.token_ciphertext) == APP_TOKEN
    assert installation.token == APP_TOKEN
    assert APP_TOKEN not in caplog.text
    assert APP_TOKEN not in repr(installation) + str(installation)
    assert [call.token for call in standin.operations("AppId")] == [APP_TOKEN]


def test_register_refuses_saleor_url_not_on_allow_list(app, standin):
    """A Saleor URL outside ALLOWED_SALEOR_URLS is refused and nothing is stored."""
    response = requests.post(
        app + "register/",
        json={"auth_token": APP_TOKEN},
        headers={"Saleor-Api-Url": "http://127.0.0.1:1/graphql/"},
        timeout=10,
    )
    assert response.status_code == 403
    assert not Installation.objects.exists()
    assert standin.calls == []


def test_register_refuses_a_token_saleor_does_not_accept(app, standin):
    """A forged token is not stored (it would replace the real one)."""
    response = requests.post(
        app + "register/",
        json={"auth_token": "forged"},
        headers={"Saleor-Api-Url": standin.api_url},
        timeout=10,
    )
    assert response.status_code == 403
    assert not Installation.objects.exists()


def test_install_command_uses_app_create_and_webhook_create(app, standin, monkeypatch):
    """Local set-ups: appCreate with the staff token, webhooks with the app token."""
    monkeypatch.setenv("SALEOR_STAFF_PASSWORD", "staff-pass")
    call_command(
        "okpay_saleor_app_install",
        "--api-url",
        standin.api_url,
        "--staff-email",
        "admin@example.com",
    )
    assert standin.created_app["permissions"] == PERMISSIONS
    assert standin.operations("OkPayAppCreate")[0].token == STAFF_TOKEN
    assert len(standin.webhooks) == 7
    assert {hook["token"] for hook in standin.webhooks} == {APP_TOKEN}
    sync = {event for hook in standin.webhooks for event in hook["syncEvents"]}
    assert "TRANSACTION_INITIALIZE_SESSION" in sync
    assert all(hook["query"].startswith("subscription") for hook in standin.webhooks)
    assert Installation.objects.get().token == APP_TOKEN


def test_install_command_refuses_saleor_url_not_on_allow_list(app, standin):
    """The command checks the same allow-list before calling Saleor."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ALLOWED_SALEOR_URLS"):
        call_command(
            "okpay_saleor_app_install", "--api-url", "http://127.0.0.1:1/graphql/"
        )
    assert standin.operations("OkPayAppCreate") == []
