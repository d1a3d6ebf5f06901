"""Django admin for subscriptions, charge attempts, renewal runs and decisions.

Registered when imported; ``okpay_gateway/admin.py`` imports this module.
Everything money-related is read-only here: the admin shows what the engine
decided and why; state changes go through the engine and payments.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from okpay_gateway.admin_pages import ShowOnlyAdmin
from okpay_gateway.models import (
    ChargeAttempt,
    RenewalDecision,
    RenewalRun,
    Subscription,
    SubscriptionStatus,
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
        "situation",
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
    actions = ("cancel_subscriptions",)

    @admin.action(description="Cancel selected subscriptions")
    def cancel_subscriptions(self, request, queryset) -> None:
        from django.utils import timezone

        from okpay_gateway.billing.engine import end_subscription
        from okpay_gateway.billing.states import SubscriptionEvent

        done = sum(
            end_subscription(sub, SubscriptionEvent.CANCEL, "merchant", timezone.now())
            for sub in queryset
        )
        self.message_user(request, f"{done} subscription(s) canceled.")

    @admin.display(description="What now")
    def situation(self, obj: Subscription) -> str:
        """Why a subscription is on hold and what the merchant can do about it."""
        if obj.status != SubscriptionStatus.SUSPENDED:
            return "—"
        from okpay_gateway.payments import decline_message

        last = obj.charge_attempts.exclude(decline_code="").order_by("-pk").first()
        reason = decline_message(last.decline_code) if last else "the charge failed"
        ends = (
            f"it is canceled on {obj.next_charge_at:%Y-%m-%d %H:%M} UTC"
            if obj.next_charge_at
            else "it stays suspended until someone acts"
        )
        contract_url = reverse(
            "admin:okpay_gateway_contract_change", args=[obj.contract_id]
        )
        return format_html(
            "<p><strong>Suspended</strong> since {} after {} failed renewal "
            "charge(s); the last one: {}</p>"
            "<p>No charge is attempted while suspended, and {}. Nothing resumes "
            "it by itself.</p><p>What you can do: write to the customer "
            "(<a href='mailto:{}'>{}</a>): with money in the wallet or a new "
            "agreement they can subscribe again; check <a href='{}'>the "
            "agreement</a>; or end it now with the list action "
            "\u201cCancel selected subscriptions\u201d.</p>",
            f"{obj.suspended_at:%Y-%m-%d %H:%M} UTC" if obj.suspended_at else "?",
            obj.consecutive_failures,
            reason,
            ends,
            obj.email,
            obj.email or "no e-mail on file",
            contract_url,
        )


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
