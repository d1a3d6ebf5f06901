"""Admin pages of the App's own rows; the app token is never shown."""

from __future__ import annotations

from django.contrib import admin

from .models import EventReport, Installation, RenewalOrder


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    list_display = ("saleor_api_url", "app_id", "installed_at", "jwks_fetched_at")
    fields = ("saleor_api_url", "domain", "app_id", "installed_at", "jwks_fetched_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(EventReport)
class EventReportAdmin(admin.ModelAdmin):
    list_display = ("key", "event_type", "amount", "status", "attempts", "last_error")
    list_filter = ("status", "event_type")
    search_fields = ("key", "psp_reference")
    readonly_fields = [field.name for field in EventReport._meta.fields]


@admin.register(RenewalOrder)
class RenewalOrderAdmin(admin.ModelAdmin):
    list_display = ("invoice", "status", "order_number", "attempts", "last_error")
    list_filter = ("status",)
    search_fields = ("invoice", "order_id")
    readonly_fields = [field.name for field in RenewalOrder._meta.fields]
