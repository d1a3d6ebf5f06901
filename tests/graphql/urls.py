"""The test site: emulator, plugin webhooks and the GraphQL endpoint."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    path("", include("okpay_gateway.host.urls")),
    path("", include("okpay_gateway.graphql.urls")),
]
