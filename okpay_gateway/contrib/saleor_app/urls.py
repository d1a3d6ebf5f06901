"""URLs of the Saleor App; mount them at ``OKPAY_SALEOR_APP["APP_URL"]``.

``path("okpay-app/", include("okpay_gateway.contrib.saleor_app.urls"))`` with
``APP_URL = "https://app.example.com/okpay-app/"`` serves the manifest at
``https://app.example.com/okpay-app/manifest/``.
"""

from __future__ import annotations

from django.urls import include, path

from . import views

app_name = "okpay_saleor_app"

urlpatterns = [
    path("manifest/", views.manifest_view, name="manifest"),
    path("register/", views.register_view, name="register"),
    path("dashboard/", include("okpay_gateway.contrib.saleor_app.dashboard.urls")),
    path("return/", views.return_view, name="return"),
    path("ipn/", views.ipn_view, name="ipn"),
    path("ipn/<slug:channel>/", views.ipn_view, name="ipn-channel"),
    *(
        path(f"webhooks/{name}/", view, name=f"webhook-{name}")
        for name, view in views.WEBHOOK_VIEWS.items()
    ),
]
