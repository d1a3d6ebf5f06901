"""The App's Dashboard extensions, as the manifest declares them.

Each extension's ``permissions`` must be a subset of the App's; the
Dashboard shows it only to staff users who hold them. The pages check the
token's permissions again themselves (``auth``).

Saleor accepts only a relative path for an ``APP_PAGE`` target; the Dashboard
joins it to the manifest's ``appUrl`` (``<APP_URL>dashboard/``), so ``/`` is
the agreements list. ``POPUP`` targets take an absolute URL.
"""

from __future__ import annotations

from typing import Any

from .. import conf

# (label, mount, target, path under the App's dashboard/)
EXTENSIONS = (
    ("OKPAY agreements", "NAVIGATION_ORDERS", "APP_PAGE", ""),
    ("OKPAY agreements", "CUSTOMER_DETAILS_MORE_ACTIONS", "POPUP", "customer/"),
    ("OKPAY agreements", "ORDER_DETAILS_MORE_ACTIONS", "POPUP", "order/"),
)


def extension_definitions() -> list[dict[str, Any]]:
    from .auth import VIEW_PERMISSIONS

    return [
        {
            "label": label,
            "mount": mount,
            "target": target,
            "permissions": sorted(VIEW_PERMISSIONS),
            "url": "/" + path
            if target == "APP_PAGE"
            else conf.app_url("dashboard/" + path),
        }
        for label, mount, target, path in EXTENSIONS
    ]


def extension_page_url(app_url: str, url: str) -> str:
    """Where the Dashboard points the iframe of an extension with ``url``.

    ``app_url`` is the manifest's ``appUrl``; relative paths are joined to it
    the way the Dashboard joins them (one slash between).
    """
    if url.startswith("/"):
        return app_url.rstrip("/") + "/" + url.lstrip("/")
    return url
