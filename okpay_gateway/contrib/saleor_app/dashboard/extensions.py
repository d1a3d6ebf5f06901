"""The App's Dashboard extensions, as the manifest declares them.

Each extension's ``permissions`` must be a subset of the App's; the
Dashboard shows it only to staff users who hold them. The pages check the
token's permissions again themselves (``auth``).
"""

from __future__ import annotations

from typing import Any

from .. import conf

# (label, mount, target, path under the App's dashboard/)
EXTENSIONS = (
    ("OKPAY agreements", "NAVIGATION_ORDERS", "APP_PAGE", "dashboard/"),
    (
        "OKPAY agreements",
        "CUSTOMER_DETAILS_MORE_ACTIONS",
        "POPUP",
        "dashboard/customer/",
    ),
    ("OKPAY agreements", "ORDER_DETAILS_MORE_ACTIONS", "POPUP", "dashboard/order/"),
)


def extension_definitions() -> list[dict[str, Any]]:
    from .auth import VIEW_PERMISSIONS

    return [
        {
            "label": label,
            "mount": mount,
            "target": target,
            "permissions": sorted(VIEW_PERMISSIONS),
            "url": conf.app_url(path),
        }
        for label, mount, target, path in EXTENSIONS
    ]
