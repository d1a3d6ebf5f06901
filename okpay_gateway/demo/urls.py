"""Root URLconf of the demo: storefront, admin, GraphQL, emulator, plugin webhooks.

Static files are served by Django itself (``insecure``) because the demo has
no front web server; it is a local demonstration only.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path

from okpay_gateway.demo import control, views

app_name = "okpay_demo"
FAVICON = "okpay_gateway/img/favicon.ico"

storefront = [
    path("", views.plans, name="plans"),
    path("plans/<slug:slug>/", views.plan_checkout, name="checkout"),
    path("orders/<uuid:token>/pay/", views.pay, name="pay"),
    path("orders/<uuid:token>/", views.order_detail, name="order"),
    path("account/", views.account, name="account"),
    path(
        "account/agreements/<int:pk>/cancel/",
        views.cancel_agreement,
        name="cancel_agreement",
    ),
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="okpay_gateway/storefront/login.html"
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("demo/clock/", control.clock_control, name="clock"),
    path("demo/about/", control.about, name="about"),
]


def _graphql_urls() -> list:
    try:
        from okpay_gateway.graphql.views import graphql_view
    except ImportError:
        return []
    return [path("graphql/", graphql_view, name="graphql")]


urlpatterns = [
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
    # Browsers ask for /favicon.ico on pages that link none (the admin's).
    path("favicon.ico", serve, {"path": FAVICON, "insecure": True}),
    path("admin/", admin.site.urls),
    path("okpay-emulator/", include("okpay_gateway.emulator.urls")),
    path("", include("okpay_gateway.host.urls")),
    *_graphql_urls(),
    path("", include((storefront, app_name))),
]
