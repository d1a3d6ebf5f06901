"""The App mounted where tests' ``APP_URL`` points, beside the emulator."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    path("okpay-app/", include("okpay_gateway.contrib.saleor_app.urls")),
]
