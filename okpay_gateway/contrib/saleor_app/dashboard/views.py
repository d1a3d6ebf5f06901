"""The merchant's pages, served inside the Saleor Dashboard's iframe.

Every page answers a request without a Dashboard token with a data-free shell
(``shell.html``) whose script takes the token from AppBridge and loads the
page again with it in ``Authorization``; with a token, the page's HTML
fragment, after :func:`auth.authenticate`. Cancel and charge are POSTs that
also need a signed form token (:mod:`.csrf`) and ``ACT_PERMISSIONS``.
Money moves and agreements close only through the core's functions
(``payments.charge_contract``, ``payments.cancel_contract``), which write the
ledger; the staff user's e-mail goes into the ledger comment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from okpay_gateway import charts, payments, reporting
from okpay_gateway.exceptions import OkPayError
from okpay_gateway.models import (
    CLOSED_CONTRACT_STATUSES,
    Contract,
    ContractStatus,
    RenewalDecision,
)

from ..models import AppSubscription, CustomerAgreement, RenewalOrder, TransactionLink
from . import auth, csrf, frames

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
TEMPLATES = "okpay_gateway/saleor_app/dashboard/"

Page = Callable[..., HttpResponse]


def page(needed: frozenset[str], *, methods: tuple[str, ...] = ("GET",)):
    """Shell without a token; the page for a verified, allowed staff user."""

    def decorate(view: Page) -> Callable[..., HttpResponse]:
        @wraps(view)
        @xframe_options_exempt
        @csrf_exempt  # cookie-less pages: see csrf.py for the form tokens
        @transaction.non_atomic_requests
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response: HttpResponse = HttpResponseNotAllowed(methods)
            elif request.method == "GET" and "Authorization" not in request.headers:
                response = render(request, TEMPLATES + "shell.html")
            else:
                try:
                    staff = auth.authenticate(request, needed)
                except auth.Refused as refused:
                    logger.info("Dashboard page refused: %s", refused.reason)
                    response = render(
                        request,
                        TEMPLATES + "refused.html",
                        {"reason": refused.reason},
                        status=refused.status,
                    )
                else:
                    response = view(request, staff, *args, **kwargs)
            frames.allow_dashboard(response)
            response["Cache-Control"] = "no-store"
            return response

        return wrapper

    return decorate


def agreements_of(installation: Any) -> QuerySet[Contract]:
    """This Saleor's agreements, and those no Saleor App claims (plugin-made)."""
    return Contract.objects.filter(
        Q(saleor_app_customer__installation=installation)
        | Q(saleor_app_customer__isnull=True)
    )


@page(auth.VIEW_PERMISSIONS)
def agreements_view(request: HttpRequest, staff: auth.Staff) -> HttpResponse:
    mine = agreements_of(staff.installation)
    status = request.GET.get("status", "")
    currency = request.GET.get("currency", "").upper()
    term = request.GET.get("q", "")
    listed = reporting.search(mine, term)
    if status in ContractStatus.values:
        listed = listed.filter(status=status)
    if currency:
        listed = listed.filter(currency=currency)
    listed = listed.order_by("-created_at", "-pk")
    total = listed.count()
    context = {
        "staff": staff,
        "counts": reporting.status_counts(mine),
        "chart": charts.render_svg(charts.daily_activity(contracts=mine)),
        "agreements": listed[:PAGE_SIZE],
        "total": total,
        "shown": min(total, PAGE_SIZE),
        "q": term,
        "status": status,
        "currency": currency,
        "statuses": ContractStatus.choices,
        "currencies": sorted(set(mine.values_list("currency", flat=True))),
    }
    return render(request, TEMPLATES + "agreements.html", context)


def _agreement(staff: auth.Staff, pk: int) -> Contract | None:
    return agreements_of(staff.installation).filter(pk=pk).first()


def _not_found() -> HttpResponse:
    return HttpResponse("<p>No such agreement.</p>", status=404)


def _detail(
    request: HttpRequest,
    staff: auth.Staff,
    contract: Contract,
    *,
    message: str = "",
    level: str = "info",
    status: int = 200,
) -> HttpResponse:
    subscriptions = list(contract.subscriptions.order_by("-pk"))
    for subscription in subscriptions:
        subscription.recent_decisions = list(
            RenewalDecision.objects.filter(subscription=subscription)
            .select_related("run")
            .order_by("-decided_at")[:10]
        )
    context = {
        "staff": staff,
        "contract": contract,
        **reporting.history_context(contract),
        "subscriptions": subscriptions,
        "may_act": staff.may(auth.ACT_PERMISSIONS),
        "charge_csrf": csrf.issue(staff, "charge", contract.pk),
        "message": message,
        "level": level,
    }
    return render(request, TEMPLATES + "agreement.html", context, status=status)


@page(auth.VIEW_PERMISSIONS)
def agreement_view(request: HttpRequest, staff: auth.Staff, pk: int) -> HttpResponse:
    contract = _agreement(staff, pk)
    return _not_found() if contract is None else _detail(request, staff, contract)


def _audit_comment(staff: auth.Staff, comment: str) -> str:
    who = staff.email or staff.user_id or "staff"
    text = f"{comment.strip()} (by {who}, Saleor Dashboard)".strip()
    return text[:200]


def _refuse_post(staff: auth.Staff, request: HttpRequest, action: str, pk: int):
    if not staff.may(auth.ACT_PERMISSIONS):
        missing = ", ".join(sorted(auth.ACT_PERMISSIONS - staff.permissions))
        return render(
            request,
            TEMPLATES + "refused.html",
            {"reason": f"your Saleor account lacks the permission {missing}"},
            status=403,
        )
    if not csrf.valid(staff, action, pk, request.POST.get("csrf", "")):
        return render(
            request,
            TEMPLATES + "refused.html",
            {"reason": "this form has expired or was not made here: reload"},
            status=403,
        )
    return None


@page(auth.VIEW_PERMISSIONS, methods=("GET", "POST"))
def cancel_view(request: HttpRequest, staff: auth.Staff, pk: int) -> HttpResponse:
    contract = _agreement(staff, pk)
    if contract is None:
        return _not_found()
    if request.method == "GET":
        return render(
            request,
            TEMPLATES + "cancel.html",
            {
                "contract": contract,
                "csrf": csrf.issue(staff, "cancel", contract.pk),
                "may_act": staff.may(auth.ACT_PERMISSIONS),
            },
        )
    refusal = _refuse_post(staff, request, "cancel", contract.pk)
    if refusal is not None:
        return refusal
    if contract.status in CLOSED_CONTRACT_STATUSES:
        return _detail(request, staff, contract, message="Already closed.")
    try:
        payments.cancel_contract(
            contract,
            okpay_settings=payments.settings_for_channel(contract.channel),
            comment=_audit_comment(staff, request.POST.get("comment", "")[:150]),
        )
    except OkPayError as exc:
        contract.refresh_from_db()
        return _detail(
            request,
            staff,
            contract,
            message=f"The agreement could not be canceled: {exc.user_message}",
            level="error",
            status=502,
        )
    contract.refresh_from_db()
    logger.info("Agreement %s canceled from the Saleor Dashboard", contract.pk)
    return _detail(request, staff, contract, message="Agreement canceled for good.")


def _amount(raw: str) -> Decimal | None:
    try:
        amount = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        return None
    if not amount.is_finite() or amount < Decimal("0.01") or amount.as_tuple()[2] < -2:
        return None
    return amount


@page(auth.VIEW_PERMISSIONS, methods=("POST",))
def charge_view(request: HttpRequest, staff: auth.Staff, pk: int) -> HttpResponse:
    contract = _agreement(staff, pk)
    if contract is None:
        return _not_found()
    refusal = _refuse_post(staff, request, "charge", contract.pk)
    if refusal is not None:
        return refusal
    amount = _amount(request.POST.get("amount", ""))
    if amount is None:
        return _detail(
            request,
            staff,
            contract,
            message="Enter an amount of at least 0.01 with at most two decimals.",
            level="error",
            status=400,
        )
    try:
        payment = payments.charge_contract(
            contract,
            amount=amount,
            invoice=payments.manual_invoice(contract),
            description=_audit_comment(staff, request.POST.get("comment", "")[:150]),
            okpay_settings=payments.settings_for_channel(contract.channel),
        )
    except OkPayError as exc:
        return _detail(
            request,
            staff,
            contract,
            message=f"The charge was not made: {exc.user_message}",
            level="error",
            status=502,
        )
    captured = payment.status in payments.CAPTURED_STATUSES
    detail = (
        f" ({payments.decline_message(payment.decline_code)})"
        if payment.decline_code
        else ""
    )
    return _detail(
        request,
        staff,
        contract,
        message=f"Charge {payment.invoice}: {payment.get_status_display()}{detail}",
        level="success" if captured else "error",
    )


def _panel(
    request: HttpRequest, staff: auth.Staff, title: str, contracts: QuerySet[Contract]
) -> HttpResponse:
    listed = contracts.order_by("-created_at", "-pk")
    context = {
        "staff": staff,
        "title": title,
        "agreements": listed[:PAGE_SIZE],
        "chart": charts.render_svg(charts.daily_activity(contracts=listed)),
        "list_url": reverse("okpay_saleor_app:dashboard-agreements"),
    }
    return render(request, TEMPLATES + "panel.html", context)


@page(auth.VIEW_PERMISSIONS)
def customer_view(request: HttpRequest, staff: auth.Staff) -> HttpResponse:
    """CUSTOMER_DETAILS_MORE_ACTIONS: the Dashboard adds ``customerId``."""
    customer_id = request.GET.get("customerId", "")
    contracts = agreements_of(staff.installation).filter(
        pk__in=CustomerAgreement.objects.filter(
            installation=staff.installation, saleor_user_id=customer_id
        ).values("contract")
    )
    return _panel(request, staff, "OKPAY agreements of this customer", contracts)


@page(auth.VIEW_PERMISSIONS)
def order_view(request: HttpRequest, staff: auth.Staff) -> HttpResponse:
    """ORDER_DETAILS_MORE_ACTIONS: the Dashboard adds ``orderId``."""
    order_id = request.GET.get("orderId", "")
    installation = staff.installation
    linked = (
        Q(
            pk__in=TransactionLink.objects.filter(
                installation=installation, source_object_id=order_id
            ).values("payment__contract")
        )
        | Q(
            pk__in=AppSubscription.objects.filter(
                installation=installation, origin_order_id=order_id
            ).values("subscription__contract")
        )
        | Q(
            pk__in=RenewalOrder.objects.filter(
                app_subscription__installation=installation, order_id=order_id
            ).values("payment__contract")
        )
    )
    contracts = agreements_of(installation).filter(linked) if order_id else None
    return _panel(
        request,
        staff,
        "OKPAY agreements of this order",
        contracts if contracts is not None else Contract.objects.none(),
    )
