"""The Dashboard pages, included by the App's urls under ``dashboard/``."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.agreements_view, name="dashboard-agreements"),
    path("agreements/<int:pk>/", views.agreement_view, name="dashboard-agreement"),
    path("agreements/<int:pk>/cancel/", views.cancel_view, name="dashboard-cancel"),
    path("agreements/<int:pk>/charge/", views.charge_view, name="dashboard-charge"),
    path("customer/", views.customer_view, name="dashboard-customer"),
    path("order/", views.order_view, name="dashboard-order"),
]
