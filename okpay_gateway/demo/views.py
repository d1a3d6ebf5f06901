"""Storefront pages of the demo shop: plans, checkout, return, account, sign-up."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from okpay_gateway.demo import checkout
from okpay_gateway.demo.models import CheckoutChannel, Order, OrderStatus, Plan
from okpay_gateway.demo.tokens import follow_emulator_clock

logger = logging.getLogger(__name__)

STOREFRONT = "okpay_gateway/storefront"


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def plans(request: HttpRequest) -> HttpResponse:
    """Every plan, grouped by currency."""
    by_currency: OrderedDict[str, list[Plan]] = OrderedDict()
    for plan in Plan.objects.filter(is_active=True).order_by("currency", "position"):
        by_currency.setdefault(plan.currency, []).append(plan)
    return render(
        request, f"{STOREFRONT}/plans.html", {"plans_by_currency": by_currency}
    )


def _agreement_terms(plan: Plan) -> dict[str, Any]:
    """The terms the plugin will ask OKPAY for, for the pre-approval summary."""
    from datetime import timedelta

    from django.utils import timezone

    from okpay_gateway.contrib.saleor import consts, mapping
    from okpay_gateway.host.manager import get_plugins_manager

    manager = get_plugins_manager(allow_replica=True)
    plugin = manager.get_plugin(checkout.gateway_id(), settings.CHANNEL_SLUG)
    values = mapping.config_values(plugin.configuration if plugin else None)
    days = mapping.validity_days(values)
    # The plugin raises any limit below the first payment to cover it.
    limits = {
        key: (max(value, plan.amount) if value is not None else None)
        for key, value in mapping.limits(values).items()
    }
    return {
        "title": values.get(consts.AGREEMENT_TITLE) or consts.PLUGIN_NAME,
        "currency": plan.currency,
        **limits,
        "end_date": timezone.now().date() + timedelta(days=days) if days else None,
        "fee_payer": "client"
        if values.get(consts.FEE_PAYER) == "client"
        else "merchant",
    }


@login_required
def plan_checkout(request: HttpRequest, slug: str) -> HttpResponse:
    """The checkout page: what is bought, the agreement, the OKPAY button."""
    plan = get_object_or_404(Plan, slug=slug, is_active=True)
    order = (
        Order.objects.filter(
            customer=request.user,
            plan=plan,
            status__in=[OrderStatus.CREATED, OrderStatus.FAILED],
        )
        .order_by("-pk")
        .first()
    )
    if order is None or order.status == OrderStatus.FAILED:
        order = Order.objects.create(
            customer=request.user, plan=plan, amount=plan.amount, currency=plan.currency
        )
    context = {
        "plan": plan,
        "order": order,
        "graphql_url": _graphql_url(),
        "return_url": _return_url(request, order),
        "agreement": _agreement_terms(plan),
        "has_agreement": _active_agreement(request.user, plan.currency) is not None,
    }
    return render(request, f"{STOREFRONT}/checkout.html", context)


def _graphql_url() -> str:
    """The GraphQL endpoint when graphene is installed (extra ``graphql``)."""
    try:
        return reverse("graphql")
    except NoReverseMatch:
        return ""


def _active_agreement(user: Any, currency: str) -> Any:
    from okpay_gateway import contracts

    return contracts.active_contract_for(user, currency, settings.CHANNEL_SLUG)


def _return_url(request: HttpRequest, order: Order) -> str:
    return request.build_absolute_uri(
        reverse("okpay_demo:order", kwargs={"token": order.token})
    )


@login_required
@require_POST
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The OKPAY button without JavaScript: ``checkoutComplete`` server-side."""
    order = get_object_or_404(Order, token=token, customer=request.user)
    if order.status in (OrderStatus.PAID, OrderStatus.PROCESSING):
        return redirect("okpay_demo:order", token=order.token)
    Order.objects.filter(pk=order.pk).update(checkout_channel=CheckoutChannel.FORM)
    order.checkout_channel = CheckoutChannel.FORM
    step = checkout.start_payment(
        order,
        return_url=_return_url(request, order),
        ip=_client_ip(request),
        new_agreement=request.POST.get("new_agreement") == "1",
    )
    return _follow(request, step)


def _follow(request: HttpRequest, step: checkout.CheckoutStep) -> HttpResponse:
    if step.kind == "redirect":
        if step.method == "POST" or not step.url:
            return render(
                request, f"{STOREFRONT}/autopost.html", {"step": step}, status=200
            )
        return redirect(step.url)
    if step.kind == "failed":
        messages.error(request, step.error or "The payment failed.")
    return redirect("okpay_demo:order", token=step.order.token)


@login_required
def order_detail(request: HttpRequest, token: str) -> HttpResponse:
    """The return page: the second ``checkoutComplete`` and the order's state."""
    order = get_object_or_404(Order, token=token, customer=request.user)
    step = None
    if order.status in (OrderStatus.AWAITING_APPROVAL, OrderStatus.PROCESSING):
        try:
            step = checkout.confirm_payment(order)
        except Exception:
            logger.exception("confirming order %s failed", order.pk)
        order.refresh_from_db()
    context = {
        "order": order,
        "waiting": order.status
        in (OrderStatus.AWAITING_APPROVAL, OrderStatus.PROCESSING),
        "step": step,
        "subscription": _subscription_of(order),
        "refusal": checkout.refusal(order)
        if order.status == OrderStatus.FAILED
        else None,
    }
    return render(request, f"{STOREFRONT}/order.html", context)


def _subscription_of(order: Order) -> Any:
    from okpay_gateway.models import Subscription

    if not order.subscription_id:
        return None
    return Subscription.objects.filter(pk=order.subscription_id).first()


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """Orders, subscriptions and "your OKPAY agreement"."""
    from okpay_gateway.models import Contract, ContractStatus, Subscription

    checkout.sync_paid_orders()
    agreements = []
    contracts = Contract.objects.filter(customer=request.user).exclude(
        status=ContractStatus.PENDING, okpay_id__isnull=True
    )
    for contract in contracts.order_by("-created_at"):
        subs = list(contract.subscriptions.order_by("pk"))
        live = [s for s in subs if s.next_charge_at and s.status != "canceled"]
        agreements.append(
            {
                "contract": contract,
                "subscriptions": subs,
                "next_renewal": min((s.next_charge_at for s in live), default=None),
            }
        )
    context = {
        "agreements": agreements,
        "subscriptions": Subscription.objects.filter(customer=request.user).order_by(
            "-pk"
        ),
        "orders": Order.objects.filter(customer=request.user).select_related("plan")[
            :20
        ],
    }
    return render(request, "okpay_gateway/account/account.html", context)


@login_required
@require_POST
def cancel_agreement(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer ends their agreement; OKPAY confirms with an IPN."""
    from okpay_gateway import payments
    from okpay_gateway.exceptions import OkPayError
    from okpay_gateway.models import Contract

    contract = get_object_or_404(Contract, pk=pk, customer=request.user)
    follow_emulator_clock()
    try:
        payments.cancel_contract(
            contract,
            okpay_settings=payments.settings_for_channel(contract.channel),
            comment="canceled by the customer in the shop",
        )
    except OkPayError as exc:
        messages.error(
            request, f"OKPAY did not cancel the agreement: {exc.user_message}"
        )
    else:
        messages.success(
            request,
            "Your OKPAY agreement is canceled; no further payments will be taken.",
        )
    return redirect("okpay_demo:account")


def signup(request: HttpRequest) -> HttpResponse:
    """A shop account (the OKPAY wallet is separate, signed in at OKPAY)."""
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
        login(request, user)
        messages.success(request, f"Welcome, {user.username}.")
        return redirect("okpay_demo:plans")
    return render(request, f"{STOREFRONT}/signup.html", {"form": form})
