"""Test URLconf with the plugin webhook routes at the site root, as in Saleor."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    path("", include("okpay_gateway.host.urls")),
]
