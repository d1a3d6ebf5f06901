"""Root URLconf of ``okpay-gateway emulator``: the emulator at ``/``.

Static files are served by Django itself (``insecure``) because this server
only ever runs the local test double and has no front web server.
"""

from __future__ import annotations

from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path

FAVICON = "okpay_gateway/img/favicon.ico"

urlpatterns = [
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
    # Browsers ask for /favicon.ico on pages that link none (the admin's).
    path("favicon.ico", serve, {"path": FAVICON, "insecure": True}),
    path("", include("okpay_gateway.emulator.urls")),
]
