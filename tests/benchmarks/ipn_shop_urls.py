"""URLconf of the benchmark shop: the real webhook, its peers and the stats."""

from __future__ import annotations

from django.urls import include, path

from tests.benchmarks import ipn_paypal
from tests.benchmarks.ipn_floor import floor_view
from tests.benchmarks.ipn_stats import stats_view

urlpatterns = [
    path("okpay/", include("okpay_gateway.urls")),
    path("bench/floor/", floor_view),
    path("bench/stats", stats_view),
]
if ipn_paypal.available():
    from paypal.standard.ipn.views import ipn as paypal_ipn_view

    urlpatterns.append(path("bench/paypal/", paypal_ipn_view))
