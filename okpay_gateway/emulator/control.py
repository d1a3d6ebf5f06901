"""Control pages and a JSON control API: clock, fault rules, IPN history, ledger.

Pages (HTML forms, CSRF-protected): ``/control/`` (clock and faults),
``/control/ipn/`` (IPN History with re-send), ``/control/ledger/`` (wallets,
agreements, transactions).

JSON API (``csrf_exempt``, for scripts and other processes; every answer is
JSON, errors are ``{"error": ...}`` with HTTP 400/404):

* ``GET  control/api/clock`` -> ``{"now", "frozen"}``;
  ``POST control/api/clock`` with ``{"action": "advance", "days", "hours",
  "minutes", "seconds"}``, ``{"action": "freeze", "at": ISO-8601 or omitted}``,
  ``{"action": "unfreeze"}`` or ``{"action": "reset"}``. Moving the clock
  expires agreements whose end date has passed (their IPNs are queued).
* ``GET  control/api/faults``; ``POST control/api/faults`` with ``{"kind",
  "operation", "wallet_id", "contract_id", "fault_code", "delay_seconds",
  "uses"}`` (``uses`` left out or empty: the rule fires every time);
  ``POST control/api/faults/<id>/delete``; ``POST
  control/api/faults/clear``.
* ``GET  control/api/ipn?status=Sent``; ``POST control/api/ipn/<ipn_id>/resend``;
  ``POST control/api/ipn/deliver`` (send everything due now).
* ``GET  control/api/ledger``: wallets with balances, agreements, transactions.
* ``POST control/api/contracts/<id>/revoke``: the customer revokes an agreement
  (``access_denied``/``canceled`` IPN).
* ``POST control/api/seed``: load a seed (see :mod:`.seed`).

The views answer 404 unless the emulator app is installed, so including the
URLs by mistake in a project without it exposes nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from okpay_gateway.emulator import clock, faults, ipn_sender, operations, seed
from okpay_gateway.emulator.models import (
    Contract,
    FaultKind,
    FaultRule,
    IpnMessage,
    IpnStatus,
    Transaction,
    Wallet,
)

TEMPLATE_DIR = "okpay_gateway/emulator/"
LEDGER_LIMIT = 200


class ControlError(ValueError):
    """Bad input to a control action; the message is shown to the caller."""


def _emulator_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not apps.is_installed("okpay_gateway.emulator"):
            raise Http404("the OKPAY emulator is not installed")
        return view(request, *args, **kwargs)

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    """A JSON object body, or the form fields."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except json.JSONDecodeError as exc:
            raise ControlError(f"the body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ControlError("the body must be a JSON object")
        return data
    return request.POST.dict()


# --- actions shared by pages and API ---------------------------------------------


def _number(data: dict[str, Any], name: str) -> Decimal:
    value = data.get(name)
    if value in (None, ""):
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ControlError(f"{name} must be a number") from exc
    if not number.is_finite():
        raise ControlError(f"{name} must be a number")
    return number


def clock_state() -> dict[str, object]:
    return {"now": clock.now().isoformat(), "frozen": clock.is_frozen()}


def apply_clock_action(data: dict[str, Any]) -> dict[str, object]:
    """Advance, freeze, unfreeze or reset the emulator clock."""
    action = str(data.get("action") or "")
    if action == "advance":
        delta = timedelta(
            days=float(_number(data, "days")),
            hours=float(_number(data, "hours")),
            minutes=float(_number(data, "minutes")),
            seconds=float(_number(data, "seconds")),
        )
        clock.advance(delta)
    elif action == "freeze":
        at = data.get("at")
        target = None
        if at:
            try:
                target = datetime.fromisoformat(str(at))
            except ValueError as exc:
                raise ControlError("at must be an ISO-8601 date-time") from exc
            if target.tzinfo is None:
                raise ControlError(
                    "at needs a time zone, e.g. 2026-01-01T00:00:00+00:00"
                )
        clock.freeze(target)
    elif action == "unfreeze":
        clock.unfreeze()
    elif action == "reset":
        clock.reset()
    else:
        raise ControlError("action must be advance, freeze, unfreeze or reset")
    return clock_state()


def rule_json(rule: FaultRule) -> dict[str, object]:
    return {
        "id": rule.pk,
        "kind": rule.kind,
        "operation": rule.operation or "",
        "wallet_id": rule.wallet_id or "",
        "contract_id": rule.contract_id,
        "fault_code": rule.fault_code,
        "delay_seconds": str(rule.delay_seconds),
        "remaining_uses": rule.remaining_uses,
        "note": rule.note,
    }


def add_fault_rule(data: dict[str, Any]) -> FaultRule:
    """A new fault rule from user input (``uses`` left out, empty or null: unlimited)."""
    uses_value = data.get("uses")
    if uses_value in (None, "", "unlimited"):
        uses = None
    else:
        try:
            uses = int(uses_value)
        except (TypeError, ValueError) as exc:
            raise ControlError("uses must be a whole number or empty") from exc
    contract_value = data.get("contract_id")
    contract_id = None
    if contract_value not in (None, ""):
        try:
            contract_id = int(contract_value)
        except (TypeError, ValueError) as exc:
            raise ControlError("contract_id must be a whole number") from exc
    try:
        return faults.add_rule(
            str(data.get("kind") or ""),
            wallet_id=str(data.get("wallet_id") or "") or None,
            contract_id=contract_id,
            operation=str(data.get("operation") or "") or None,
            fault_code=str(data.get("fault_code") or ""),
            delay_seconds=_number(data, "delay_seconds"),
            uses=uses,
            note=str(data.get("note") or "")[:200],
        )
    except ValueError as exc:
        raise ControlError(str(exc)) from exc


def message_json(message: IpnMessage) -> dict[str, object]:
    return {
        "ipn_id": message.ipn_id,
        "url": message.url,
        "event": message.event,
        "is_test": message.is_test,
        "status": message.status,
        "attempts": message.attempts,
        "last_status_code": message.last_status_code,
        "last_error": message.last_error,
        "next_attempt_at": message.next_attempt_at.isoformat()
        if message.next_attempt_at
        else None,
        "created_at": message.created_at.isoformat(),
        "contract_id": message.contract_id,
        "transaction_id": message.transaction_id,
        "fields": [[name, value] for name, value in message.fields],
        "delivery_attempts": [
            {
                "attempted_at": attempt.attempted_at.isoformat(),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in message.delivery_attempts.all()
        ],
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def ledger_json() -> dict[str, object]:
    wallets = Wallet.objects.prefetch_related("balances").order_by("wallet_id")
    contracts = Contract.objects.select_related("receiver", "client").order_by("-id")
    transactions = Transaction.objects.select_related("sender", "receiver").order_by(
        "-created_at", "-id"
    )
    return {
        "now": clock.now().isoformat(),
        "wallets": [
            {
                "wallet_id": wallet.wallet_id,
                "account_id": wallet.account_id,
                "email": wallet.email,
                "name": wallet.name,
                "api_enabled": wallet.api_enabled,
                "ipn_url": wallet.ipn_url,
                "balances": {
                    b.currency: _money(b.amount) for b in wallet.balances.all()
                },
            }
            for wallet in wallets
        ],
        "contracts": [
            {
                "id": contract.id,
                "receiver": contract.receiver.wallet_id,
                "client": contract.client.wallet_id,
                "title": contract.title,
                "currency": contract.currency,
                "daily_amount": _money(contract.daily_limit),
                "weekly_amount": _money(contract.weekly_limit),
                "monthly_amount": _money(contract.monthly_limit),
                "end_date": contract.end_date.isoformat()
                if contract.end_date
                else None,
                "status": contract.status,
                "invoice": contract.invoice,
                "payments_done": contract.payments_done,
                "payments_amount": _money(contract.payments_amount),
            }
            for contract in contracts[:LEDGER_LIMIT]
        ],
        "transactions": [
            {
                "id": txn.id,
                "sender": txn.sender.wallet_id,
                "receiver": txn.receiver.wallet_id,
                "amount": _money(txn.amount),
                "fee": _money(txn.fee),
                "net": _money(txn.net),
                "currency": txn.currency,
                "status": txn.status,
                "invoice": txn.invoice,
                "contract_id": txn.contract_id,
                "created_at": txn.created_at.isoformat(),
            }
            for txn in transactions[:LEDGER_LIMIT]
        ],
    }


def revoke_contract(contract_id: int) -> Contract:
    """The customer revokes an agreement in their account (row 5 of the state table)."""
    contract = Contract.objects.select_related("client").filter(pk=contract_id).first()
    if contract is None:
        raise Http404("no such agreement")
    try:
        return operations.cancel_contract(
            wallet=contract.client, contract_id=contract_id
        )
    except operations.Refused as refused:
        raise ControlError(f"OKPAY refuses: {refused.code}") from refused


def _message_by_ipn_id(ipn_id: int) -> IpnMessage:
    message = IpnMessage.objects.filter(ipn_id=ipn_id).first()
    if message is None:
        raise Http404("no such IPN message")
    return message


# --- HTML pages ----------------------------------------------------------------------


@_emulator_only
@require_http_methods(["GET", "HEAD"])
def control_page(request: HttpRequest) -> HttpResponse:
    context = {
        "clock": clock_state(),
        "rules": FaultRule.objects.order_by("id"),
        "kinds": FaultKind.choices,
        "error": request.GET.get("error", ""),
    }
    return render(request, TEMPLATE_DIR + "control.html", context)


def _back(name: str, error: str = "") -> HttpResponse:
    url = reverse(f"okpay_emulator:{name}")
    if error:
        from urllib.parse import urlencode

        url += "?" + urlencode({"error": error})
    return redirect(url)


@_emulator_only
@require_POST
def clock_form(request: HttpRequest) -> HttpResponse:
    try:
        apply_clock_action(request.POST.dict())
    except ControlError as exc:
        return _back("control", str(exc))
    return _back("control")


@_emulator_only
@require_POST
def fault_add_form(request: HttpRequest) -> HttpResponse:
    try:
        add_fault_rule(request.POST.dict())
    except ControlError as exc:
        return _back("control", str(exc))
    return _back("control")


@_emulator_only
@require_POST
def fault_delete_form(request: HttpRequest, pk: int) -> HttpResponse:
    FaultRule.objects.filter(pk=pk).delete()
    return _back("control")


@_emulator_only
@require_http_methods(["GET", "HEAD"])
def ipn_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    context = {
        "messages_list": ipn_sender.ipn_history([status] if status else None),
        "statuses": IpnStatus.values,
        "status": status,
        "error": request.GET.get("error", ""),
    }
    return render(request, TEMPLATE_DIR + "control_ipn.html", context)


@_emulator_only
@require_POST
def ipn_resend_form(request: HttpRequest, ipn_id: int) -> HttpResponse:
    ipn_sender.resend(_message_by_ipn_id(ipn_id))
    return _back("control-ipn")


@_emulator_only
@require_POST
def ipn_deliver_form(request: HttpRequest) -> HttpResponse:
    ipn_sender.deliver_due()
    return _back("control-ipn")


@_emulator_only
@require_http_methods(["GET", "HEAD"])
def ledger_page(request: HttpRequest) -> HttpResponse:
    context = {
        "ledger": ledger_json(),
        "error": request.GET.get("error", ""),
    }
    return render(request, TEMPLATE_DIR + "control_ledger.html", context)


@_emulator_only
@require_POST
def contract_revoke_form(request: HttpRequest, contract_id: int) -> HttpResponse:
    try:
        revoke_contract(contract_id)
    except ControlError as exc:
        return _back("control-ledger", str(exc))
    return _back("control-ledger")


# --- JSON API --------------------------------------------------------------------------


def _api(view: Callable[..., JsonResponse]) -> Callable[..., HttpResponse]:
    """JSON error handling for the API views."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ControlError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        except seed.SeedError as exc:
            return JsonResponse(
                {"error": "invalid seed", "problems": exc.problems}, status=400
            )
        except Http404 as exc:
            return JsonResponse({"error": str(exc)}, status=404)

    return csrf_exempt(_emulator_only(wrapper))


@_api
@require_http_methods(["GET", "POST"])
def api_clock(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return JsonResponse(apply_clock_action(_body(request)))
    return JsonResponse(clock_state())


@_api
@require_http_methods(["GET", "POST"])
def api_faults(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return JsonResponse(rule_json(add_fault_rule(_body(request))), status=201)
    return JsonResponse(
        {"rules": [rule_json(r) for r in FaultRule.objects.order_by("id")]}
    )


@_api
@require_POST
def api_fault_delete(request: HttpRequest, pk: int) -> JsonResponse:
    deleted, _ = FaultRule.objects.filter(pk=pk).delete()
    if not deleted:
        raise Http404("no such fault rule")
    return JsonResponse({"deleted": pk})


@_api
@require_POST
def api_faults_clear(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"deleted": faults.clear()})


@_api
@require_http_methods(["GET"])
def api_ipn(request: HttpRequest) -> JsonResponse:
    statuses = request.GET.getlist("status")
    messages = ipn_sender.ipn_history(statuses)
    return JsonResponse({"messages": [message_json(m) for m in messages]})


@_api
@require_POST
def api_ipn_resend(request: HttpRequest, ipn_id: int) -> JsonResponse:
    message = _message_by_ipn_id(ipn_id)
    ipn_sender.resend(message)
    message.refresh_from_db()
    return JsonResponse(message_json(message))


@_api
@require_POST
def api_ipn_deliver(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"delivered": ipn_sender.deliver_due()})


@_api
@require_http_methods(["GET"])
def api_ledger(request: HttpRequest) -> JsonResponse:
    return JsonResponse(ledger_json())


@_api
@require_POST
def api_contract_revoke(request: HttpRequest, contract_id: int) -> JsonResponse:
    contract = revoke_contract(contract_id)
    return JsonResponse({"id": contract.id, "status": contract.status})


@_api
@require_POST
def api_seed(request: HttpRequest) -> JsonResponse:
    summary = seed.load_seed(_body(request))
    return JsonResponse(
        {
            "wallets": [
                {"wallet_id": w.wallet_id, "email": w.email} for w in summary.wallets
            ],
            "contract_ids": list(summary.contract_ids),
        },
        status=201,
    )
