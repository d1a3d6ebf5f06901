"""The test URLconf plus the standalone endpoints at ``/okpay/``."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    path("okpay/", include("okpay_gateway.urls")),
]
