"""HTTP face of the App: manifest, token registration, webhooks, IPN, return.

Webhooks answer 401 without a valid ``Saleor-Signature`` from an installed
Saleor, before the body is even parsed, so a forged or unsigned request
changes nothing. All views are CSRF-exempt (Saleor and OKPAY post from
outside) and non-atomic (the core manages its own transactions).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt

from okpay_gateway import notifications, payments
from okpay_gateway.exceptions import OkPayError
from okpay_gateway.models import Contract

from . import conf, documents, handlers, renewals, saleor_api, signatures
from .agreements import active_agreement
from .manifest import build_manifest
from .models import Installation

logger = logging.getLogger(__name__)

Handler = Callable[[Installation, dict[str, Any]], dict[str, Any] | None]


def manifest_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(build_manifest())


def _api_url(request: HttpRequest) -> str:
    return request.headers.get("Saleor-Api-Url") or ""


@csrf_exempt
@transaction.non_atomic_requests
def register_view(request: HttpRequest) -> HttpResponse:
    """Saleor's install flow posts the app token here (``tokenTargetUrl``)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    api_url = _api_url(request)
    if not conf.saleor_url_allowed(api_url):
        logger.warning("Saleor App registration refused for %r", api_url)
        return JsonResponse(
            {"success": False, "error": {"message": "Saleor URL not allowed"}},
            status=403,
        )
    try:
        token = json.loads(request.body or b"{}").get("auth_token") or ""
    except (ValueError, AttributeError):
        token = ""
    if not isinstance(token, str) or not token:
        return JsonResponse(
            {"success": False, "error": {"message": "auth_token missing"}}, status=400
        )
    try:
        installation = register(
            api_url, token, domain=request.headers.get("Saleor-Domain", "")
        )
    except saleor_api.SaleorError as exc:
        logger.warning("Saleor App registration for %s refused: %s", api_url, exc)
        return JsonResponse(
            {"success": False, "error": {"message": "token refused by Saleor"}},
            status=403,
        )
    except saleor_api.SaleorUnavailable as exc:
        logger.warning("Saleor App registration for %s failed: %s", api_url, exc)
        return JsonResponse(
            {"success": False, "error": {"message": "Saleor unreachable"}}, status=503
        )
    logger.info("Saleor App installed for %s (%s)", api_url, installation.app_id)
    return JsonResponse({"success": True})


def register(api_url: str, token: str, *, domain: str = "") -> Installation:
    """Check ``token`` against ``api_url`` (asking for the App's id) and store it.

    A token Saleor does not accept is never stored, so a forged registration
    cannot replace the real token.
    """
    data = saleor_api.execute(api_url, token, documents.APP_ID)
    app_id = str((data.get("app") or {}).get("id") or "")
    if not app_id:
        raise saleor_api.SaleorError("the token is not an app token")
    installation = Installation.objects.filter(saleor_api_url=api_url).first()
    if installation is None:
        installation = Installation(saleor_api_url=api_url)
    installation.domain = domain[:255]
    installation.app_id = app_id
    installation.set_token(token)
    installation.jwks = {}
    installation.jwks_fetched_at = None
    installation.save()
    return installation


def _unauthorized(reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=401)


def _webhook(
    event_name: str, handler: Handler
) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    @transaction.non_atomic_requests
    def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        installation = Installation.objects.filter(
            saleor_api_url=_api_url(request)
        ).first()
        if installation is None:
            return _unauthorized("unknown Saleor instance")
        body = request.body
        try:
            signatures.verify(
                installation, request.headers.get("Saleor-Signature") or "", body
            )
        except signatures.BadSignature as exc:
            logger.warning("Saleor webhook %s refused: %s", event_name, exc)
            return _unauthorized("bad signature")
        except saleor_api.SaleorUnavailable as exc:
            logger.warning("Saleor JWKS unavailable: %s", exc)
            return JsonResponse({"error": "keys unavailable"}, status=503)
        event_header = request.headers.get("Saleor-Event", "")
        if event_header and event_header.upper() != event_name:
            return JsonResponse({"error": "wrong event for this URL"}, status=400)
        try:
            payload = json.loads(body)
        except ValueError:
            return JsonResponse({"error": "body is not JSON"}, status=400)
        if not isinstance(payload, dict):
            return JsonResponse({"error": "body is not an object"}, status=400)
        try:
            answer = handler(installation, payload)
        except handlers.BadPayload as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse(answer or {})

    view.__name__ = f"{event_name.lower()}_view"
    return view


def _order_fully_paid(installation: Installation, event: dict[str, Any]) -> None:
    order = event.get("order") or {}
    if not order.get("id"):
        raise handlers.BadPayload("the payload has no order")
    currency = str(
        ((order.get("total") or {}).get("gross") or {}).get("currency") or ""
    )
    contract = active_agreement(
        installation,
        order.get("user"),
        currency,
        str((order.get("channel") or {}).get("slug") or ""),
    )
    renewals.subscriptions_from_order(installation, order, contract)
    return


WEBHOOK_VIEWS = {
    "payment-gateway-initialize-session": _webhook(
        "PAYMENT_GATEWAY_INITIALIZE_SESSION", handlers.payment_gateway_initialize
    ),
    "transaction-initialize-session": _webhook(
        "TRANSACTION_INITIALIZE_SESSION", handlers.transaction_initialize
    ),
    "transaction-process-session": _webhook(
        "TRANSACTION_PROCESS_SESSION", handlers.transaction_process
    ),
    "transaction-charge-requested": _webhook(
        "TRANSACTION_CHARGE_REQUESTED", handlers.transaction_charge
    ),
    "transaction-refund-requested": _webhook(
        "TRANSACTION_REFUND_REQUESTED", handlers.transaction_refund
    ),
    "transaction-cancelation-requested": _webhook(
        "TRANSACTION_CANCELATION_REQUESTED", handlers.transaction_cancel
    ),
    "order-fully-paid": _webhook("ORDER_FULLY_PAID", _order_fully_paid),
}


@csrf_exempt
@transaction.non_atomic_requests
def ipn_view(request: HttpRequest, channel: str = "") -> HttpResponse:
    """OKPAY's IPN for agreements the App asked for (one URL per channel)."""
    return notifications.handle_ipn_request(
        request, okpay_settings=None, channel=channel
    )


@csrf_exempt
@transaction.non_atomic_requests
def return_view(request: HttpRequest) -> HttpResponse:
    """The customer is back from OKPAY: ask OKPAY, then go back to the storefront.

    Only the invoice is read from the request; its meaning is asked of OKPAY.
    """
    invoice = request.GET.get("invoice") or request.POST.get("ok_invoice") or ""
    payment = None
    if invoice:
        channel = (
            Contract.objects.filter(invoice=invoice)
            .values_list("channel", flat=True)
            .first()
        )
        try:
            payment = payments.complete_from_return(
                invoice=invoice,
                okpay_settings=payments.settings_for_channel(channel or ""),
            )
        except OkPayError as exc:
            logger.warning("OKPAY return for %s failed: %s", invoice, exc.code)
    if payment is not None:
        from . import reports

        reports.report_outcome(payment)
        if payment.return_url:
            return HttpResponseRedirect(payment.return_url)
    message = (
        "Thank you: your OKPAY payment is complete."
        if payment is not None and payment.status in payments.CAPTURED_STATUSES
        else "Your OKPAY payment is being processed. You can close this page."
    )
    return HttpResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>OKPAY</title>"
        f"</head><body><p>{html.escape(message)}</p></body></html>"
    )
