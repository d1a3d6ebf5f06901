"""URL of the emulator's SOAP endpoint (``<prefix>OkPayAPI``, as OKPAY served it)."""

from __future__ import annotations

from django.urls import path

from okpay_gateway.emulator.soap import soap_endpoint

urlpatterns = [
    path("OkPayAPI", soap_endpoint, name="soap"),
]
