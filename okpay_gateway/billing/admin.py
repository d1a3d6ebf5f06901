"""Django admin for subscriptions, charge attempts, renewal runs and decisions.

Registered when imported; ``okpay_gateway/admin.py`` imports this module.
Everything money-related is read-only here: the admin shows what the engine
decided and why; state changes go through the engine and payments.
"""

from __future__ import annotations

from django.contrib import admin

from okpay_gateway.admin_pages import ShowOnlyAdmin
from okpay_gateway.models import (
    ChargeAttempt,
    RenewalDecision,
    RenewalRun,
    Subscription,
)


class ChargeAttemptInline(admin.TabularInline):
    model = ChargeAttempt
    extra = 0
    can_delete = False
    fields = (
        "period_index",
        "invoice",
        "amount",
        "currency",
        "status",
        "decline_code",
        "tries",
        "charged_at",
        "next_resolve_at",
    )
    readonly_fields = fields
    ordering = ("-period_index",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DecisionInline(admin.TabularInline):
    model = RenewalDecision
    extra = 0
    can_delete = False
    fields = (
        "decided_at",
        "run",
        "period_index",
        "outcome",
        "reason",
        "amount",
        "currency",
    )
    readonly_fields = fields
    ordering = ("-decided_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "customer",
        "amount",
        "currency",
        "interval_unit",
        "interval_count",
        "status",
        "period_index",
        "next_charge_at",
        "consecutive_failures",
    )
    list_filter = ("status", "interval_unit", "currency", "channel")
    search_fields = (
        "title",
        "email",
        "origin",
        "contract__invoice",
        "=contract__okpay_id",
    )
    raw_id_fields = ("customer", "contract", "last_run")
    readonly_fields = (
        "period_index",
        "consecutive_failures",
        "last_failed_at",
        "suspended_at",
        "ended_at",
        "end_reason",
        "reminded_period",
        "expiry_notice_sent_at",
        "claim_token",
        "claimed_until",
        "last_run",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "next_charge_at"
    inlines = (ChargeAttemptInline, DecisionInline)


@admin.register(ChargeAttempt)
class ChargeAttemptAdmin(ShowOnlyAdmin):
    list_display = (
        "invoice",
        "subscription",
        "period_index",
        "amount",
        "currency",
        "status",
        "decline_code",
        "tries",
        "charged_at",
        "next_resolve_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("invoice", "decline_code")
    raw_id_fields = ("subscription", "payment")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RenewalRun)
class RenewalRunAdmin(ShowOnlyAdmin):
    list_display = (
        "id",
        "as_of",
        "trigger",
        "started_at",
        "finished_at",
        "decision_count",
    )
    list_filter = ("trigger",)
    readonly_fields = ("started_at", "finished_at", "as_of", "trigger", "summary")
    inlines = (DecisionInline,)

    @admin.display(description="decisions")
    def decision_count(self, obj: RenewalRun) -> int:
        return obj.decisions.count()

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RenewalDecision)
class RenewalDecisionAdmin(ShowOnlyAdmin):
    list_display = (
        "decided_at",
        "subscription",
        "period_index",
        "outcome",
        "reason",
        "amount",
        "currency",
        "run",
    )
    list_filter = ("outcome", "reason", "currency")
    search_fields = ("=subscription__id", "reason")
    raw_id_fields = ("run", "subscription", "attempt")
    date_hierarchy = "decided_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
