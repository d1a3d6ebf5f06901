"""Installing the App without Saleor's install flow: ``appCreate`` + ``webhookCreate``.

For local set-ups where Saleor cannot reach the manifest the usual way. A
staff token with ``MANAGE_APPS`` creates the App (its ``identifier`` is the
payment gateway id checkouts see); the App's own token then creates each
webhook of the manifest, so the webhooks belong to the App. The token is
stored exactly as the install flow stores it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from . import conf, documents, saleor_api
from .manifest import PERMISSIONS, build_manifest, webhook_definitions
from .models import Installation
from .views import register


class InstallRefused(Exception):
    """The Saleor URL is not allowed, or Saleor refused a step."""


@dataclass(frozen=True, slots=True)
class InstallResult:
    installation: Installation
    app_id: str
    webhook_ids: list[str]


def staff_token(api_url: str, email: str, password: str) -> str:
    payload = saleor_api.mutate(
        api_url,
        "",
        documents.TOKEN_CREATE,
        "tokenCreate",
        {"email": email, "password": password},
    )
    return str(payload.get("token") or "")


def install(api_url: str, staff: str) -> InstallResult:
    if not conf.saleor_url_allowed(api_url):
        raise InstallRefused(f"{api_url} is not in ALLOWED_SALEOR_URLS")
    manifest = build_manifest()
    created = saleor_api.mutate(
        api_url,
        staff,
        documents.APP_CREATE,
        "appCreate",
        {
            "input": {
                "name": manifest["name"],
                "identifier": manifest["id"],
                "permissions": PERMISSIONS,
            }
        },
    )
    token = str(created.get("authToken") or "")
    if not token:
        raise InstallRefused("appCreate returned no token")
    with transaction.atomic():
        installation = register(api_url, token)
    webhook_ids = []
    for definition in webhook_definitions():
        payload = saleor_api.mutate(
            api_url,
            token,
            documents.WEBHOOK_CREATE,
            "webhookCreate",
            {"input": definition},
        )
        webhook_ids.append(str((payload.get("webhook") or {}).get("id") or ""))
    return InstallResult(installation, installation.app_id, webhook_ids)
