"""URLs of the standalone endpoints; include them under any prefix.

``path("okpay/", include("okpay_gateway.urls"))`` makes OKPAY's IPN URL
``/okpay/ipn/`` (reverse it as ``okpay_gateway:ipn``).
"""

from __future__ import annotations

from django.urls import path

from okpay_gateway import views

app_name = "okpay_gateway"

urlpatterns = [
    path("ipn/", views.ipn_view, name="ipn"),
]
