from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("okpay_gateway.host.urls")),
]
