"""URLconf of the benchmark shop: the real webhook, the floor and the stats."""

from __future__ import annotations

from django.urls import include, path

from tests.benchmarks.ipn_floor import floor_view
from tests.benchmarks.ipn_stats import stats_view

urlpatterns = [
    path("okpay/", include("okpay_gateway.urls")),
    path("bench/floor/", floor_view),
    path("bench/stats", stats_view),
]
