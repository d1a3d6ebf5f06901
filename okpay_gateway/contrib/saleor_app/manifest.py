"""The App's manifest: what Saleor reads when it installs the App.

Permissions, and why each is needed:

* ``HANDLE_PAYMENTS``: the Transactions API webhooks, ``transactionEventReport``
  and ``transactionCreate``; reading the checkout's customer in webhook payloads.
* ``MANAGE_ORDERS``: renewal orders (``draftOrderCreate``, ``draftOrderComplete``,
  ``order(externalReference:)``), and subscriptions from ``ORDER_FULLY_PAID``.
* ``MANAGE_USERS``: the customer's private metadata, where the agreement ID is
  kept (read in webhook payloads, written with ``updatePrivateMetadata``).

``extensions`` are the merchant pages inside the Dashboard
(``dashboard/extensions.py``), served under ``dashboard/`` on the App.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from . import conf, documents
from .dashboard.extensions import extension_definitions

PERMISSIONS = ["HANDLE_PAYMENTS", "MANAGE_ORDERS", "MANAGE_USERS"]

# (event, path under webhooks/, sync?)
WEBHOOKS = [
    ("PAYMENT_GATEWAY_INITIALIZE_SESSION", "payment-gateway-initialize-session", True),
    ("TRANSACTION_INITIALIZE_SESSION", "transaction-initialize-session", True),
    ("TRANSACTION_PROCESS_SESSION", "transaction-process-session", True),
    ("TRANSACTION_CHARGE_REQUESTED", "transaction-charge-requested", True),
    ("TRANSACTION_REFUND_REQUESTED", "transaction-refund-requested", True),
    ("TRANSACTION_CANCELATION_REQUESTED", "transaction-cancelation-requested", True),
    ("ORDER_FULLY_PAID", "order-fully-paid", False),
]


def _version() -> str:
    try:
        return metadata.version("okpay-gateway")
    except metadata.PackageNotFoundError:
        return "0"


def webhook_definitions() -> list[dict[str, Any]]:
    """The webhooks as the manifest (and ``webhookCreate``) declare them."""
    definitions = []
    for event, path, sync in WEBHOOKS:
        definition: dict[str, Any] = {
            "name": f"OKPAY {event.lower().replace('_', ' ')}",
            "asyncEvents": [] if sync else [event],
            "syncEvents": [event] if sync else [],
            "query": documents.SUBSCRIPTIONS[event].strip(),
            "targetUrl": conf.app_url(f"webhooks/{path}/"),
            "isActive": True,
        }
        definitions.append(definition)
    return definitions


def build_manifest() -> dict[str, Any]:
    return {
        "id": conf.setting("APP_IDENTIFIER"),
        "version": _version(),
        "name": "OKPAY",
        "about": (
            "OKPAY pre-approved payments: the customer approves a billing "
            "agreement once; later purchases and subscription renewals are "
            "charged without another redirect, and renewals become paid orders."
        ),
        "permissions": PERMISSIONS,
        "appUrl": conf.app_url("dashboard/"),
        "tokenTargetUrl": conf.app_url("register/"),
        "author": "okpay-gateway",
        "requiredSaleorVersion": ">=3.20",
        "extensions": extension_definitions(),
        "webhooks": webhook_definitions(),
    }
