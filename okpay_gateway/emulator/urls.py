"""URLs of the OKPAY emulator, to be included at any prefix.

The SOAP endpoint lives in ``soap_urls`` and the browser/IPN side in
``web_urls`` so that the two halves can grow independently.
"""

from __future__ import annotations

from django.urls import include, path

app_name = "okpay_emulator"

urlpatterns = [
    path("", include("okpay_gateway.emulator.soap_urls")),
    path("", include("okpay_gateway.emulator.web_urls")),
]
