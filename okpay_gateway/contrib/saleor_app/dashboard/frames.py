"""Who may frame the Dashboard pages: the Saleor Dashboards we trust.

``X-Frame-Options`` cannot name an allowed host (``ALLOW-FROM`` is dead), so
the pages send none and set ``Content-Security-Policy: frame-ancestors``
instead: ``OKPAY_SALEOR_APP["DASHBOARD_ORIGINS"]`` when set (the Dashboard may
be served from another host than the API), else the origins of
``ALLOWED_SALEOR_URLS`` (``https://*.example.com`` patterns stay wildcards,
which CSP understands). Nothing allowed means ``'none'``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.checks import Error
from django.http import HttpResponse

from .. import conf

_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d+)?$")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.match(origin) else None


def dashboard_origins() -> list[str]:
    configured = conf.setting("DASHBOARD_ORIGINS")
    sources = (
        configured if configured is not None else conf.setting("ALLOWED_SALEOR_URLS")
    )
    origins: list[str] = []
    for url in sources:
        origin = _origin(str(url))
        if origin and origin not in origins:
            origins.append(origin)
    return origins


def allow_dashboard(response: HttpResponse) -> None:
    origins = dashboard_origins()
    response["Content-Security-Policy"] = "frame-ancestors " + (
        " ".join(origins) if origins else "'none'"
    )


def check_origins() -> list[Error]:
    """System check: ``DASHBOARD_ORIGINS`` is None or a list of origins."""
    configured = conf.setting("DASHBOARD_ORIGINS")
    if configured is None:
        return []
    bad = (
        [configured]
        if not isinstance(configured, list | tuple)
        else [value for value in configured if _origin(str(value)) != value]
    )
    if not bad:
        return []
    return [
        Error(
            "OKPAY_SALEOR_APP['DASHBOARD_ORIGINS'] must list origins such as "
            f"'https://dashboard.example.com' (no path); not {bad!r}.",
            id="okpay_saleor_app.E105",
        )
    ]
