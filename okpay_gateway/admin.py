"""Merchant admin: agreements, payments and the IPN log, like OKPAY's own pages.

Everything OKPAY owns is read-only here; the only writes are the merchant's
actions (cancel an agreement, charge it, re-verify or re-process an IPN),
and they go through :mod:`okpay_gateway.payments` and
:mod:`okpay_gateway.notifications`. No secret (API password, security
token) is ever rendered; wallet IDs are shown, passwords never exist here.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from okpay_gateway import alerts, charts, payments, reporting
from okpay_gateway.admin_pages import ShowOnlyAdmin, object_or_404
from okpay_gateway.exceptions import OkPayError
from okpay_gateway.models import (
    CLOSED_CONTRACT_STATUSES,
    ConfigurationAlert,
    Contract,
    ContractStatus,
    Notification,
    Payment,
    PaymentEvent,
)

logger = logging.getLogger(__name__)

# How much of a body that is not text the IPN page shows (escaped / as hex).
BODY_PREVIEW_BYTES = 4096
BODY_HEX_BYTES = 256


def readable_text(raw: bytes) -> str | None:
    """``raw`` as text when it is UTF-8 made of printable characters, else None.

    Decoding anything else with replacement characters would show mojibake
    that hides what was actually received.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(char.isprintable() or char in "\r\n\t" for char in text):
        return text
    return None


def escaped_bytes(raw: bytes) -> str:
    """Printable ASCII as itself, every other byte as ``\\xNN``."""
    return "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte != 0x5C else f"\\x{byte:02x}"
        for byte in raw
    )


# Header names whose values are never shown (they may carry credentials).
_HIDDEN_HEADERS = ("authorization", "cookie", "proxy-authorization")


def _provider_settings(channel: str) -> Any:
    return payments.settings_for_channel(channel)


# --- contracts -------------------------------------------------------------------


class ChargeForm(forms.Form):
    amount = forms.DecimalField(
        min_value=Decimal("0.01"), max_digits=12, decimal_places=2, label="Amount"
    )
    comment = forms.CharField(max_length=200, required=False, label="Comment")


@admin.register(Contract)
class ContractAdmin(ShowOnlyAdmin):
    change_list_template = "okpay_gateway/admin/contract_change_list.html"
    change_form_template = "okpay_gateway/admin/contract_change_form.html"
    # Few, narrow columns: the list must fit a 1,400 px window beside the
    # filters (the channel is a filter; the full record is one click away).
    list_display = (
        "okpay_id",
        "title",
        "client",
        "monthly_limit",
        "status",
        "created_on",
    )
    list_filter = (
        "status",
        ("created_at", admin.DateFieldListFilter),
        "currency",
        "channel",
        "is_test",
    )
    date_hierarchy = "created_at"
    search_fields = reporting.SEARCH_FIELDS
    readonly_fields = (
        "okpay_id",
        "status",
        "customer",
        "channel",
        "receiver_wallet",
        "client_wallet",
        "client_email",
        "client_phone",
        "client_name",
        "title",
        "currency",
        "daily_amount",
        "weekly_amount",
        "monthly_amount",
        "available_amount",
        "end_date",
        "fee_payer",
        "invoice",
        "created_at",
        "granted_at",
        "closed_at",
        "synced_at",
        "is_test",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "okpay_id",
                    "status",
                    "title",
                    "invoice",
                    "channel",
                    "is_test",
                )
            },
        ),
        (
            "Client",
            {
                "fields": (
                    "customer",
                    "client_name",
                    "client_email",
                    "client_phone",
                    "client_wallet",
                )
            },
        ),
        (
            "Parameters",
            {
                "fields": (
                    "currency",
                    "daily_amount",
                    "weekly_amount",
                    "monthly_amount",
                    "available_amount",
                    "end_date",
                    "fee_payer",
                    "receiver_wallet",
                )
            },
        ),
        ("Dates", {"fields": ("created_at", "granted_at", "closed_at", "synced_at")}),
    )
    actions = ("cancel_contracts",)

    class Media:
        css = {"all": ("okpay_gateway/css/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Client", ordering="client_email")
    def client(self, obj: Contract) -> str:
        return format_html(
            "{}<br><small>{}</small>",
            obj.client_email or obj.client_name or "—",
            obj.client_wallet,
        )

    @admin.display(description="Monthly limit", ordering="monthly_amount")
    def monthly_limit(self, obj: Contract) -> str:
        if obj.monthly_amount is None:
            return "—"
        return f"{obj.monthly_amount} {obj.currency}"

    @admin.display(description="Created", ordering="created_at")
    def created_on(self, obj: Contract) -> str:
        return obj.created_at.strftime("%Y-%m-%d") if obj.created_at else ""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, _ = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit():
            results |= queryset.filter(okpay_id=int(term))
        # Searching payments__invoice joins; let the admin de-duplicate.
        return results, True

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "okpay_alerts": alerts.open_alerts(),
            "okpay_counts": reporting.status_counts(),
            "okpay_chart": charts.render_svg(charts.daily_activity()),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        contract = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if contract is not None:
            context.update(reporting.history_context(contract))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list[Any]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name=f"{prefix}_cancel",
            ),
            path(
                "<path:object_id>/charge/",
                self.admin_site.admin_view(self.charge_view),
                name=f"{prefix}_charge",
            ),
            *super().get_urls(),
        ]

    def _change_url(self, contract: Contract) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[contract.pk],
        )

    def _cancel(self, request: HttpRequest, contract: Contract, comment: str) -> bool:
        try:
            payments.cancel_contract(
                contract,
                okpay_settings=_provider_settings(contract.channel),
                comment=comment,
            )
        except OkPayError as exc:
            self.message_user(
                request,
                f"Agreement {contract} could not be canceled: {exc.user_message}",
                messages.ERROR,
            )
            return False
        return True

    def _closed(
        self, request: HttpRequest, contract: Contract, action: str
    ) -> HttpResponse:
        state = (
            f"is closed ({contract.get_status_display().lower()})"
            if contract.status in CLOSED_CONTRACT_STATUSES
            else "is not approved yet"
        )
        self.message_user(
            request,
            f"Agreement {contract} {state}: it cannot be {action}.",
            messages.WARNING,
        )
        return HttpResponseRedirect(self._change_url(contract))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        contract = object_or_404(self, request, object_id)
        if contract.status in CLOSED_CONTRACT_STATUSES:
            return self._closed(request, contract, "canceled")
        if request.method == "POST":
            if self._cancel(request, contract, request.POST.get("comment", "")[:200]):
                self.message_user(request, f"Agreement {contract} canceled for good.")
            return HttpResponseRedirect(self._change_url(contract))
        return TemplateResponse(
            request,
            "okpay_gateway/admin/contract_cancel_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "contracts": [contract],
                "title": "Cancel the agreement?",
                "single": True,
            },
        )

    @admin.action(description="Cancel selected agreements (final)")
    def cancel_contracts(self, request: HttpRequest, queryset: QuerySet) -> Any:
        open_contracts = [
            c for c in queryset if c.status not in CLOSED_CONTRACT_STATUSES
        ]
        if not open_contracts:
            self.message_user(
                request,
                "None of the selected agreements is open; nothing to cancel.",
                messages.WARNING,
            )
            return None
        if request.POST.get("confirmed") == "yes":
            done = sum(
                self._cancel(request, contract, request.POST.get("comment", "")[:200])
                for contract in open_contracts
            )
            self.message_user(request, f"{done} agreement(s) canceled for good.")
            return None
        return TemplateResponse(
            request,
            "okpay_gateway/admin/contract_cancel_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "contracts": open_contracts,
                "title": "Cancel these agreements?",
                "single": False,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def charge_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        contract = object_or_404(self, request, object_id)
        if contract.status != ContractStatus.ACTIVE:
            return self._closed(request, contract, "charged")
        form = ChargeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                payment = payments.charge_contract(
                    contract,
                    amount=form.cleaned_data["amount"],
                    invoice=payments.manual_invoice(contract),
                    description=form.cleaned_data["comment"],
                    okpay_settings=_provider_settings(contract.channel),
                )
            except OkPayError as exc:
                self.message_user(
                    request,
                    f"The charge was not made: {exc.user_message}",
                    messages.ERROR,
                )
            else:
                level = (
                    messages.SUCCESS
                    if payment.status in payments.CAPTURED_STATUSES
                    else messages.WARNING
                )
                detail = (
                    f" ({payments.decline_message(payment.decline_code)})"
                    if payment.decline_code
                    else ""
                )
                self.message_user(
                    request,
                    f"Charge {payment.invoice}: {payment.get_status_display()}{detail}",
                    level,
                )
                return HttpResponseRedirect(self._change_url(contract))
        return TemplateResponse(
            request,
            "okpay_gateway/admin/contract_charge_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "contract": contract,
                "form": form,
                "title": f"Charge {contract}",
            },
        )


# --- payments --------------------------------------------------------------------


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "kind",
        "amount",
        "currency",
        "okpay_txn_id",
        "invoice",
        "comment",
        "detail",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ShowOnlyAdmin):
    list_display = (
        "invoice",
        "amount",
        "currency",
        "status",
        "decline_code",
        "okpay_txn_id",
        "contract",
        "channel",
        "created_at",
    )
    list_filter = (
        "status",
        "currency",
        "channel",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "invoice",
        "host_reference",
        "contract__title",
        "contract__client_email",
    )
    inlines = (PaymentEventInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Payment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- IPN log ---------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(ShowOnlyAdmin):
    list_display = (
        "received_at",
        "ipn_id",
        "event",
        "txn_status",
        "invoice",
        "verification",
        "state",
        "flag_list",
        "is_test",
        "hit_count",
    )
    list_filter = ("state", "verification", "is_test", "event", "channel")
    search_fields = ("invoice", "=ipn_id", "=txn_id", "=contract_okpay_id")
    date_hierarchy = "received_at"
    actions = ("reverify_notifications", "reprocess_notifications")
    fields = (
        "received_at",
        "last_seen_at",
        "hit_count",
        "channel",
        "remote_addr",
        "content_type",
        "body_length",
        "body_text",
        "safe_headers",
        "ipn_id",
        "txn_id",
        "txn_status",
        "event",
        "contract_okpay_id",
        "invoice",
        "is_test",
        "verification",
        "verification_answer",
        "verify_attempts",
        "next_verify_at",
        "verified_at",
        "state",
        "flags",
        "error",
        "processed_at",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term and not term.isdigit():
            # The "=" id lookups only take numbers.
            return queryset.filter(invoice__icontains=term), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Flags")
    def flag_list(self, obj: Notification) -> str:
        return ", ".join(obj.flag_codes)

    @admin.display(description="Body")
    def body_text(self, obj: Notification) -> str:
        raw = bytes(obj.body or b"")
        text = readable_text(raw)
        if text is not None:
            return format_html(
                "<pre style='white-space:pre-wrap'>{}</pre>", text.replace("&", "&\n")
            )
        shown = raw[:BODY_PREVIEW_BYTES]
        more = len(raw) - len(shown)
        return format_html(
            "<p class='okpay-binary-body'>Not text: {} bytes, shown escaped{}.</p>"
            "<pre style='white-space:pre-wrap;overflow-wrap:anywhere'>{}</pre>"
            "<p>Hex of the first {} bytes:</p><pre>{}</pre>",
            len(raw),
            f" (the first {len(shown)}; {more} more not shown)" if more else "",
            escaped_bytes(shown),
            min(len(raw), BODY_HEX_BYTES),
            raw[:BODY_HEX_BYTES].hex(" ", 1),
        )

    @admin.display(description="Headers")
    def safe_headers(self, obj: Notification) -> str:
        lines = [
            f"{name}: {'(hidden)' if name.lower() in _HIDDEN_HEADERS else value}"
            for name, value in sorted((obj.headers or {}).items())
        ]
        return format_html("<pre>{}</pre>", "\n".join(lines))

    def _run(self, request: HttpRequest, queryset: QuerySet, name: str) -> None:
        from okpay_gateway import notifications

        operation = getattr(notifications, name)
        results: dict[str, int] = {}
        for notification in queryset.order_by("pk"):
            try:
                updated = operation(notification)
            except OkPayError as exc:
                self.message_user(
                    request,
                    f"IPN {notification.pk}: {exc.user_message}",
                    messages.ERROR,
                )
                continue
            results[updated.state] = results.get(updated.state, 0) + 1
        summary = ", ".join(
            f"{state}: {count}" for state, count in sorted(results.items())
        )
        self.message_user(request, f"{name.capitalize()}: {summary or 'nothing done'}.")

    @admin.action(description="Re-verify with OKPAY and apply")
    def reverify_notifications(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, "reverify")

    @admin.action(description="Re-process (skip verification when already trusted)")
    def reprocess_notifications(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, "reprocess")


# --- configuration alerts ---------------------------------------------------------


@admin.register(ConfigurationAlert)
class ConfigurationAlertAdmin(ShowOnlyAdmin):
    list_display = (
        "code",
        "channel",
        "message",
        "occurrences",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
    )
    list_filter = ("code", "channel", ("resolved_at", admin.EmptyFieldListFilter))
    readonly_fields = (*list_display, "operation")
    actions = ("resolve_alerts",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark resolved (the configuration is fixed)")
    def resolve_alerts(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = queryset.filter(resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
        self.message_user(request, f"{done} alert(s) resolved.")


# The subscription pages live with the renewal engine; importing the module
# registers them on the same admin site.
from okpay_gateway.billing import admin as _billing_admin  # noqa: E402, F401
