"""The IPN simulator: send a made-up IPN of any kind to any URL.

Messages look like the captured simulator payloads (okpay-ipn-links.md 3.5):
the merchant's real receiver fields, a real increasing ``ok_ipn_id``, the
current emulator time, the picked ``ok_txn_kind`` and statuses, the fixed
placeholder payer/transaction/item values (whose numbers deliberately do not
add up), no ``ok_receiver``, ``ok_txn_payment_method``, ``ok_txn_amount`` or
``ok_item_N_price``, and always ``ok_ipn_test=1``. ``/ipn-verify`` answers
``TEST`` for them.

Page: ``GET|POST /simulator/``. JSON: ``POST /simulator/api`` with
``{"url", "event", "txn_kind", "txn_status", "p_status", "currency",
"contract_id"}`` (only ``url`` is required). Both need the merchant's
sign-in (:mod:`okpay_gateway.emulator.merchant_sign_in`), as OKPAY's
simulator did: messages go out as the signed-in wallet, and a ``receiver``
naming any other wallet is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from okpay_gateway.emulator import clock, operations
from okpay_gateway.emulator.ipn_sender import Fields, queue_ipn
from okpay_gateway.emulator.merchant_sign_in import merchant_required
from okpay_gateway.emulator.models import IpnMessage, Wallet
from okpay_gateway.emulator.rules import format_datetime
from okpay_gateway.emulator.settings import get_settings

EVENTS = ("payment_link", "access_granted", "payment", "access_denied")
TXN_KINDS = ("payment_link", "subscription", "marketplace", "preapproved")
TXN_STATUSES = ("completed", "pending", "hold", "reversed", "canceled", "error")
P_STATUSES = ("active", "failed", "canceled", "expired")
# The statuses each pre-approved event normally carries (A10), used as defaults.
DEFAULT_P_STATUS = {
    "access_granted": "active",
    "payment": "active",
    "access_denied": "failed",
}

_PAYER_PLACEHOLDERS: Fields = [
    ("ok_payer_status", "verified"),
    ("ok_payer_id", "123456789"),
    ("ok_payer_reputation", "100"),
    ("ok_payer_first_name", "Payer First Name"),
    ("ok_payer_last_name", "Payer Last Name"),
    ("ok_payer_business_name", "Payer Business Name"),
    ("ok_payer_email", "payer@okpay.com"),
    ("ok_payer_phone", "777-777777"),
    ("ok_payer_country", "Afghanistan"),
    ("ok_payer_country_code", "AF"),
    ("ok_payer_state", "Payer State"),
    ("ok_payer_city", "Payer City"),
    ("ok_payer_street", "Payer Address"),
    ("ok_payer_zip", "123456"),
    ("ok_payer_address_name", "Legal"),
    ("ok_payer_address_status", "confirmed"),
]

_ITEM_PLACEHOLDERS: Fields = [
    ("ok_items_count", "1"),
    ("ok_item_1_name", "Item Name"),
    ("ok_item_1_article", "4"),
    ("ok_item_1_type", "Tangible Good (Request Delivery Address)"),
    ("ok_item_1_quantity", "2"),
    ("ok_item_1_gross", "16.00"),
    ("ok_item_1_amount", "9.00"),
    ("ok_item_1_fee", "1.00"),
    ("ok_item_1_handling", "1.00"),
    ("ok_item_1_shipping", "4.00"),
    ("ok_item_1_tax", "1.00"),
    ("ok_item_1_custom_1_title", "Item Custom 1 Title"),
    ("ok_item_1_custom_1_value", "Item Custom 1 Value"),
    ("ok_item_1_custom_2_title", "Item Custom 2 Title"),
    ("ok_item_1_custom_2_value", "Item Custom 2 Value"),
]


class SimulatorError(ValueError):
    """A simulator request that cannot be sent; the message says why."""


@dataclass(frozen=True, slots=True)
class SimulatorRequest:
    """What to simulate; :meth:`from_mapping` validates user input."""

    url: str
    receiver: Wallet
    event: str = "payment_link"
    txn_kind: str = "payment_link"
    txn_status: str = "completed"
    p_status: str = ""
    currency: str = "USD"
    contract_id: int = 1

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SimulatorRequest:
        url = str(data.get("url") or "").strip()
        if not url.startswith(("http://", "https://")):
            raise SimulatorError("url must be an absolute http:// or https:// URL")
        receiver = operations.find_wallet(str(data.get("receiver") or ""))
        if receiver is None:
            raise SimulatorError("receiver must be the wallet ID or e-mail of a wallet")
        event = str(data.get("event") or "payment_link")
        if event not in EVENTS:
            raise SimulatorError(f"event must be one of {', '.join(EVENTS)}")
        default_kind = "payment_link" if event == "payment_link" else "preapproved"
        txn_kind = str(data.get("txn_kind") or default_kind)
        if txn_kind not in TXN_KINDS:
            raise SimulatorError(f"txn_kind must be one of {', '.join(TXN_KINDS)}")
        txn_status = str(data.get("txn_status") or "completed").lower()
        if txn_status not in TXN_STATUSES:
            raise SimulatorError(f"txn_status must be one of {', '.join(TXN_STATUSES)}")
        p_status = str(data.get("p_status") or DEFAULT_P_STATUS.get(event, "")).lower()
        if event != "payment_link" and p_status not in P_STATUSES:
            raise SimulatorError(f"p_status must be one of {', '.join(P_STATUSES)}")
        currency = str(data.get("currency") or "USD").upper()
        if currency not in get_settings().currencies:
            raise SimulatorError(
                f"currency must be one of {', '.join(get_settings().currencies)}"
            )
        contract_text = str(data.get("contract_id") or "1")
        if not contract_text.isdigit():
            raise SimulatorError("contract_id must be a whole number")
        return cls(
            url=url,
            receiver=receiver,
            event=event,
            txn_kind=txn_kind,
            txn_status=txn_status,
            p_status=p_status,
            currency=currency,
            contract_id=int(contract_text),
        )


def build_simulator_fields(
    request: SimulatorRequest, *, at: datetime | None = None
) -> Fields:
    """The placeholder message of 3.5 for ``request``, without ``ok_ipn_id``."""
    receiver = request.receiver
    fields: Fields = [
        ("ok_charset", "utf-8"),
        ("ok_receiver_id", str(receiver.account_id)),
        ("ok_receiver_wallet", receiver.wallet_id),
        ("ok_receiver_email", receiver.email),
        ("ok_receiver_phone", ""),
    ]
    moves_money = request.event in {"payment_link", "payment"}
    if moves_money:
        fields += [
            ("ok_txn_id", "1"),
            ("ok_txn_parent_id", "10"),
            ("ok_txn_kind", request.txn_kind),
            ("ok_txn_payment_type", "instant"),
            ("ok_txn_gross", "100.00"),
            ("ok_txn_net", "90.00"),
            ("ok_txn_fee", "10.00"),
            ("ok_txn_currency", request.currency),
            ("ok_txn_exchange_rate", "1.1234"),
            ("ok_txn_datetime", format_datetime(at or clock.now())),
            ("ok_txn_status", request.txn_status),
            ("ok_txn_handling", "100.00"),
            ("ok_txn_shipping", "10.00"),
            ("ok_txn_tax", "1.00"),
            ("ok_txn_shipping_method", "Payment Shipping Method"),
            ("ok_txn_comment", "Payment Comment"),
        ]
    else:
        fields += [
            ("ok_txn_id", ""),
            ("ok_txn_kind", request.txn_kind),
            ("ok_txn_currency", request.currency),
            ("ok_txn_datetime", format_datetime(at or clock.now())),
        ]
    fields.append(("ok_invoice", "Payment Invoice"))
    fields += _PAYER_PLACEHOLDERS
    if moves_money:
        fields += _ITEM_PLACEHOLDERS
    if request.event != "payment_link":
        fields += [
            ("ok_p_id", str(request.contract_id)),
            ("ok_p_event", request.event),
            ("ok_p_status", request.p_status),
            ("ok_p_title", "Preapproved Payment Title"),
            ("ok_p_daily_amount", ""),
            ("ok_p_weekly_amount", ""),
            ("ok_p_monthly_amount", "100.00"),
            ("ok_p_end_date", ""),
        ]
    fields.append(("ok_ipn_test", "1"))
    return fields


def send_simulated_ipn(request: SimulatorRequest) -> IpnMessage:
    """Store and send one simulator message (``is_test``; verify answers TEST)."""
    message = queue_ipn(
        request.url,
        build_simulator_fields(request),
        is_test=True,
        event=request.event,
    )
    message.refresh_from_db()
    return message


def _as_merchant(data: Mapping[str, Any], merchant: Wallet) -> dict[str, Any]:
    """``data`` with the receiver set to the signed-in merchant's wallet."""
    named = str(data.get("receiver") or "").strip()
    if named:
        wallet = operations.find_wallet(named)
        if wallet is None or wallet.pk != merchant.pk:
            raise SimulatorError(
                f"receiver must be your own wallet ({merchant.wallet_id}); "
                f"sign in as the other merchant to send as it"
            )
    return {**data, "receiver": merchant.wallet_id}


def _message_json(message: IpnMessage) -> dict[str, object]:
    return {
        "ipn_id": message.ipn_id,
        "url": message.url,
        "event": message.event,
        "is_test": message.is_test,
        "status": message.status,
        "attempts": message.attempts,
        "last_status_code": message.last_status_code,
        "fields": [[name, value] for name, value in message.fields],
    }


@require_http_methods(["GET", "HEAD", "POST"])
@merchant_required(api=False)
def simulator_page(request: HttpRequest) -> HttpResponse:
    """A form to send simulator IPNs, showing the last message sent."""
    merchant: Wallet = request.merchant  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "merchant": merchant,
        "events": EVENTS,
        "txn_kinds": TXN_KINDS,
        "txn_statuses": TXN_STATUSES,
        "p_statuses": P_STATUSES,
        "currencies": get_settings().currencies,
        "values": request.POST.dict() if request.method == "POST" else {},
        "error": "",
        "message": None,
    }
    status = 200
    if request.method == "POST":
        try:
            message = send_simulated_ipn(
                SimulatorRequest.from_mapping(
                    _as_merchant(request.POST.dict(), merchant)
                )
            )
        except SimulatorError as exc:
            context["error"] = str(exc)
            status = 400
        else:
            context["message"] = message
    return render(
        request, "okpay_gateway/emulator/simulator.html", context, status=status
    )


@csrf_exempt  # a JSON API for scripts; the session cookie is the sign-in
@require_POST
@merchant_required(api=True)
def simulator_api(request: HttpRequest) -> JsonResponse:
    """JSON: send one simulator message as the signed-in merchant."""
    merchant: Wallet = request.merchant  # type: ignore[attr-defined]
    try:
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise SimulatorError("the body must be a JSON object")
        message = send_simulated_ipn(
            SimulatorRequest.from_mapping(_as_merchant(data, merchant))
        )
    except (SimulatorError, json.JSONDecodeError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(_message_json(message), status=201)
