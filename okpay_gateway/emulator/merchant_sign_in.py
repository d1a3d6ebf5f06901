"""The merchant's sign-in to the emulator, required by the IPN simulator.

OKPAY's simulator lived inside the merchant's signed-in account and sent
messages as that account; so does ours. ``GET|POST /merchant/sign-in``
(form fields, or a JSON body, ``email`` and ``password`` of a wallet)
signs in for the browser session; ``POST /merchant/sign-out`` signs out.
The simulator page redirects to the sign-in form and the simulator's JSON
API answers 401 until then; scripts sign in with the JSON body and keep the
session cookie. Separate from the checkout's customer sign-in (another
session key), so a shopper's session is never a merchant's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from okpay_gateway.emulator.models import Wallet

SESSION_MERCHANT = "okpay_emulator_merchant"
TEMPLATE = "okpay_gateway/emulator/merchant_sign_in.html"


def signed_in_merchant(request: HttpRequest) -> Wallet | None:
    """The wallet signed in as merchant in this session, if any."""
    pk = request.session.get(SESSION_MERCHANT)
    if pk is None:
        return None
    return Wallet.objects.filter(pk=pk).first()


def _credentials(request: HttpRequest) -> tuple[str, str]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        return str(data.get("email") or "").strip(), str(data.get("password") or "")
    return request.POST.get("email", "").strip(), request.POST.get("password", "")


def _authenticate(email: str, password: str) -> Wallet | None:
    wallet = Wallet.objects.filter(email__iexact=email).first() if email else None
    if wallet is None or not wallet.check_password(password):
        return None
    return wallet


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return reverse("okpay_emulator:simulator")


@csrf_exempt  # JSON sign-in for scripts; the form posts a token anyway
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in form; POST signs in (JSON in, JSON out for scripts)."""
    wants_json = request.content_type == "application/json"
    context: dict[str, Any] = {"next": _safe_next(request), "email": "", "error": ""}
    if request.method != "POST":
        return render(request, TEMPLATE, context)
    email, password = _credentials(request)
    wallet = _authenticate(email, password)
    if wallet is None:
        if wants_json:
            return JsonResponse({"error": "wrong e-mail or password"}, status=401)
        context.update(email=email, error="Wrong e-mail or password.")
        return render(request, TEMPLATE, context, status=401)
    request.session.cycle_key()
    request.session[SESSION_MERCHANT] = wallet.pk
    if wants_json:
        return JsonResponse({"wallet_id": wallet.wallet_id, "email": wallet.email})
    return redirect(context["next"])


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_MERCHANT, None)
    return redirect(reverse("okpay_emulator:merchant-sign-in"))


def merchant_required(
    *, api: bool
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Let only a signed-in merchant through; ``request.merchant`` is the wallet.

    Pages redirect to the sign-in form; the API answers 401 JSON.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            merchant = signed_in_merchant(request)
            if merchant is None:
                if api:
                    return JsonResponse(
                        {"error": "sign in first: POST /merchant/sign-in"}, status=401
                    )
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('okpay_emulator:merchant-sign-in')}?{query}")
            request.merchant = merchant  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
