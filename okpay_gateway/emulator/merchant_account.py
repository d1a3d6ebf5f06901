"""The merchant's wallet pages: what OKPAY showed a signed-in merchant.

``GET /merchant/`` (after the merchant sign-in of :mod:`.merchant_sign_in`):
the wallet's balances, the billing agreements customers granted it (with
limits, what is still available now and what was charged) and its
transactions, newest first, on emulator time.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from okpay_gateway.emulator import clock, operations
from okpay_gateway.emulator.merchant_sign_in import merchant_required
from okpay_gateway.emulator.models import Contract, Transaction

TEMPLATE = "okpay_gateway/emulator/merchant_account.html"
# A page, not an export: the control API's ledger has everything.
PAGE_ROWS = 200


@require_GET
@merchant_required(api=False)
def account_page(request: HttpRequest) -> HttpResponse:
    merchant = request.merchant  # type: ignore[attr-defined]
    now = clock.now()
    contracts = list(
        Contract.objects.filter(receiver=merchant)
        .select_related("client")
        .order_by("-created_at", "-id")[:PAGE_ROWS]
    )
    for contract in contracts:
        contract.available_now = operations.contract_available_amount(contract, now)
    transactions = list(
        Transaction.objects.filter(Q(sender=merchant) | Q(receiver=merchant))
        .select_related("sender", "receiver")
        .order_by("-created_at", "-id")[:PAGE_ROWS]
    )
    for txn in transactions:
        txn.incoming = txn.receiver_id == merchant.pk
    context = {
        "merchant": merchant,
        "balances": operations.wallet_balances(merchant),
        "contracts": contracts,
        "transactions": transactions,
        "now": now,
    }
    return render(request, TEMPLATE, context)
