"""``path("", include("okpay_gateway.graphql.urls"))`` serves ``/graphql/``."""

from __future__ import annotations

from django.urls import path

from .views import graphql_view

urlpatterns = [
    path("graphql/", graphql_view, name="okpay-graphql"),
]
