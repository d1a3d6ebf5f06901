"""The checkout pages: where a shopper approves a payment or billing agreement.

``GET|POST /`` takes the link variables (query string or form, okpay-ipn-links.md
section 1), validates them and parks them in the session under a random
token, then sends the browser to ``/checkout/<token>/``. There the customer
signs in with a test wallet, may lower (never raise) the agreement's limits,
and approves or declines. The result is recorded through
:mod:`.operations`, the IPN is queued through :mod:`.ipn_sender`, and the
browser is auto-POSTed the IPN fields to ``ok_return_success`` or
``ok_return_fail`` (A9).

Bad variables give a readable error page listing each problem (HTTP 400).
"""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from okpay_gateway.emulator import clock, operations
from okpay_gateway.emulator.checkout_link import (
    CheckoutRequest,
    LinkProblem,
    parse_checkout_link,
    parse_money,
)
from okpay_gateway.emulator.ipn_sender import notify_contract_event, notify_payment
from okpay_gateway.emulator.models import ContractStatus, Wallet
from okpay_gateway.emulator.rules import FaultCode
from okpay_gateway.emulator.settings import get_settings

logger = logging.getLogger(__name__)

SESSION_CHECKOUTS = "okpay_emulator_checkouts"
SESSION_WALLET = "okpay_emulator_wallet"
MAX_OPEN_CHECKOUTS = 20
TEMPLATE_DIR = "okpay_gateway/emulator/"

LIMITS = (
    ("ok_p_daily_amount", "daily_amount", "Daily limit"),
    ("ok_p_weekly_amount", "weekly_amount", "Weekly limit"),
    ("ok_p_monthly_amount", "monthly_amount", "Monthly limit"),
)

REFUSAL_MESSAGES = {
    FaultCode.NOT_ENOUGH_MONEY: "Your balance is not enough for this payment.",
    FaultCode.DUPLICATE_PAYMENT: "This invoice has already been paid.",
    FaultCode.MONEY_TRANSFER_TO_YOURSELF: "You cannot pay your own wallet.",
    FaultCode.SOURCE_ACCOUNT_BLOCKED: "Your wallet is blocked.",
    FaultCode.TARGET_ACCOUNT_BLOCKED: "The merchant's wallet is blocked.",
    FaultCode.CURRENCY_NOT_SUPPORTED: "This currency is not supported.",
}


def _parse(data: dict[str, str]) -> tuple[CheckoutRequest | None, list[LinkProblem]]:
    def find_receiver(value: str) -> str | None:
        wallet = operations.find_wallet(value)
        return wallet.wallet_id if wallet is not None else None

    return parse_checkout_link(
        data,
        today=clock.now().date(),
        find_receiver=find_receiver,
        currencies=get_settings().currencies,
    )


def _error_page(request: HttpRequest, problems: list[LinkProblem]) -> HttpResponse:
    return render(
        request,
        TEMPLATE_DIR + "checkout_error.html",
        {"problems": problems},
        status=400,
    )


@csrf_exempt  # shops post here from their own origin, as they did to OKPAY
@require_http_methods(["GET", "POST", "HEAD"])
def checkout_entry(request: HttpRequest) -> HttpResponse:
    """Validate the link variables and open a checkout for them."""
    data = {**request.GET.dict(), **request.POST.dict()}
    if not any(name.startswith("ok_") for name in data):
        return render(request, TEMPLATE_DIR + "index.html")
    link, problems = _parse(data)
    if link is None:
        logger.info(
            "checkout request rejected: %s", "; ".join(p.field for p in problems)
        )
        return _error_page(request, problems)
    checkouts = dict(request.session.get(SESSION_CHECKOUTS, {}))
    while len(checkouts) >= MAX_OPEN_CHECKOUTS:
        checkouts.pop(next(iter(checkouts)))
    token = secrets.token_urlsafe(12)
    checkouts[token] = link.to_session()
    request.session[SESSION_CHECKOUTS] = checkouts
    return redirect(
        reverse("okpay_emulator:checkout-page", args=[token]), permanent=False
    )


def _open_checkout(
    request: HttpRequest, token: str
) -> tuple[CheckoutRequest | None, HttpResponse | None]:
    stored = request.session.get(SESSION_CHECKOUTS, {}).get(token)
    if stored is None:
        problem = LinkProblem(
            "checkout",
            "This checkout is unknown or already finished. Start again from the shop.",
        )
        return None, _error_page(request, [problem])
    link, problems = _parse(dict(stored))
    if link is None:
        return None, _error_page(request, problems)
    return link, None


def _close_checkout(request: HttpRequest, token: str) -> None:
    checkouts = dict(request.session.get(SESSION_CHECKOUTS, {}))
    checkouts.pop(token, None)
    request.session[SESSION_CHECKOUTS] = checkouts


def _customer(request: HttpRequest) -> Wallet | None:
    wallet_pk = request.session.get(SESSION_WALLET)
    if wallet_pk is None:
        return None
    return Wallet.objects.filter(pk=wallet_pk).first()


def _limit_rows(
    link: CheckoutRequest, posted: dict[str, str] | None = None
) -> list[dict]:
    rows = []
    for name, attribute, label in LIMITS:
        maximum = getattr(link, attribute)
        if maximum is None:
            continue
        value = (posted or {}).get(name, f"{maximum:f}")
        rows.append({"name": name, "label": label, "maximum": maximum, "value": value})
    return rows


def _page(
    request: HttpRequest,
    token: str,
    link: CheckoutRequest,
    *,
    problems: list[str] | None = None,
    posted: dict[str, str] | None = None,
    email: str = "",
    status: int = 200,
) -> HttpResponse:
    merchant = operations.find_wallet(link.receiver_wallet_id)
    customer = _customer(request)
    context = {
        "token": token,
        "link": link,
        "merchant": merchant,
        "customer": customer,
        "balance": customer.balance(link.currency) if customer else None,
        "limits": _limit_rows(link, posted),
        "problems": problems or [],
        "email": email,
    }
    return render(request, TEMPLATE_DIR + "checkout.html", context, status=status)


def _autopost(
    request: HttpRequest, url: str, fields: list[tuple[str, str]], heading: str
) -> HttpResponse:
    return render(
        request,
        TEMPLATE_DIR + "autopost.html",
        {"url": url, "fields": fields, "heading": heading},
    )


@require_http_methods(["GET", "HEAD"])
def checkout_page(request: HttpRequest, token: str) -> HttpResponse:
    """Sign-in form, or the approve/decline form once signed in."""
    link, error = _open_checkout(request, token)
    if link is None:
        return error
    return _page(request, token, link)


@require_POST
def sign_in(request: HttpRequest, token: str) -> HttpResponse:
    link, error = _open_checkout(request, token)
    if link is None:
        return error
    email = request.POST.get("email", "").strip()
    password = request.POST.get("password", "")
    wallet = Wallet.objects.filter(email__iexact=email).first() if email else None
    if wallet is None or not wallet.check_password(password):
        return _page(
            request, token, link, problems=["Wrong e-mail or password."], email=email
        )
    if wallet.wallet_id == link.receiver_wallet_id:
        return _page(
            request,
            token,
            link,
            problems=["This is the merchant's own wallet; sign in as a customer."],
            email=email,
        )
    request.session.cycle_key()
    request.session[SESSION_WALLET] = wallet.pk
    return redirect(reverse("okpay_emulator:checkout-page", args=[token]))


@require_POST
def sign_out(request: HttpRequest, token: str) -> HttpResponse:
    request.session.pop(SESSION_WALLET, None)
    return redirect(reverse("okpay_emulator:checkout-page", args=[token]))


def _lowered_limits(
    link: CheckoutRequest, posted: dict[str, str]
) -> tuple[dict[str, Decimal | None], list[str]]:
    """The limits the customer chose: each one at most the shop's (never raised)."""
    chosen: dict[str, Decimal | None] = {}
    problems: list[str] = []
    for name, attribute, label in LIMITS:
        maximum = getattr(link, attribute)
        if maximum is None:
            chosen[attribute] = None
            continue
        text = posted.get(name, "").strip()
        if not text:
            chosen[attribute] = maximum
            continue
        value = parse_money(text)
        if value is None or value <= 0:
            problems.append(f"{label}: enter an amount like 10.00, more than zero.")
        elif value > maximum:
            problems.append(f"{label}: you can lower it, but not above {maximum}.")
        chosen[attribute] = value
    return chosen, problems


@require_POST
def approve(request: HttpRequest, token: str) -> HttpResponse:
    """Approve: create the agreement or make the payment, then return to the shop."""
    link, error = _open_checkout(request, token)
    if link is None:
        return error
    customer = _customer(request)
    if customer is None:
        return _page(request, token, link, problems=["Sign in first."])
    merchant = operations.find_wallet(link.receiver_wallet_id)
    posted = request.POST.dict()
    try:
        if link.is_preapproved:
            limits, problems = _lowered_limits(link, posted)
            if problems:
                return _page(request, token, link, problems=problems, posted=posted)
            with transaction.atomic():
                contract = operations.grant_contract(
                    receiver=merchant,
                    client=customer,
                    title=link.title,
                    currency=link.currency,
                    daily_limit=limits["daily_amount"],
                    weekly_limit=limits["weekly_amount"],
                    monthly_limit=limits["monthly_amount"],
                    end_date=link.end_date,
                    client_pays_fee=False,  # A17: pre-approved fees are the merchant's
                    invoice=link.invoice,
                    ipn_url=link.ipn_url,
                    return_success_url=link.return_success,
                    return_fail_url=link.return_fail,
                    notify=False,
                )
                message = notify_contract_event(
                    contract, "access_granted", receiver_echo=link.receiver
                )
            heading = "Agreement approved"
        else:
            with transaction.atomic():
                txn = operations.transfer(
                    sender=customer,
                    receiver=merchant,
                    amount=link.gross,
                    currency=link.currency,
                    sender_pays_fee=link.buyer_pays_fee,
                    merchant=merchant,
                    invoice=link.invoice or None,
                    comment=", ".join(item.name for item in link.items)[:255],
                    operation_name="Payment",
                )
                message = notify_payment(txn, link)
            heading = "Payment complete"
    except operations.Refused as refused:
        text = REFUSAL_MESSAGES.get(
            refused.code, f"OKPAY refused this: {refused.code}."
        )
        return _page(request, token, link, problems=[text], posted=posted)
    _close_checkout(request, token)
    fields = [(name, value) for name, value in message.fields]
    return _autopost(request, link.return_success, fields, heading)


@require_POST
def decline(request: HttpRequest, token: str) -> HttpResponse:
    """Decline: a failed agreement (with its IPN) or no payment; back to the shop."""
    link, error = _open_checkout(request, token)
    if link is None:
        return error
    customer = _customer(request)
    merchant = operations.find_wallet(link.receiver_wallet_id)
    fields = list(link.fields)
    if link.is_preapproved and customer is not None:
        with transaction.atomic():
            contract = operations.grant_contract(
                receiver=merchant,
                client=customer,
                title=link.title,
                currency=link.currency,
                daily_limit=link.daily_amount,
                weekly_limit=link.weekly_amount,
                monthly_limit=link.monthly_amount,
                end_date=link.end_date,
                invoice=link.invoice,
                ipn_url=link.ipn_url,
                return_success_url=link.return_success,
                return_fail_url=link.return_fail,
                status=ContractStatus.FAILED,
                notify=False,
            )
            message = notify_contract_event(
                contract, "access_denied", receiver_echo=link.receiver
            )
        fields = [(name, value) for name, value in message.fields]
    _close_checkout(request, token)
    heading = "Agreement declined" if link.is_preapproved else "Payment cancelled"
    return _autopost(request, link.return_fail, fields, heading)
