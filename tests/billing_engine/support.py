"""Shared helpers of the renewal-engine tests: emulator wiring, seeding, clock.

``OKPAY_GATEWAY["SESSION_FACTORY"]`` points at :func:`.wiring.session_factory`, so the
engine's SOAP calls go to the in-process emulator. The emulator's clock and the
engine's injected ``now`` are moved together with :func:`set_time`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from okpay_gateway import clients, conf
from okpay_gateway.billing.schedule import BillingInterval, period_index_at
from okpay_gateway.billing.subscriptions import create_subscription_from_purchase
from okpay_gateway.emulator import clock as emulator_clock
from okpay_gateway.emulator.models import Transaction, Wallet
from okpay_gateway.emulator.seed import load_seed
from okpay_gateway.models import Contract, ContractStatus, Subscription
from tests.billing_engine.wiring import API_PASSWORD, MERCHANT_EMAIL, MERCHANT_WALLET
from tests.okpay_ledger import charges_by_invoice


def set_time(at: datetime) -> datetime:
    """Freeze the emulator at ``at`` and let the client's tokens follow it."""
    emulator_clock.freeze(at)
    clients.client_for(conf.get_settings()).tokens.resync(at)
    return at


def seed_customers(
    count: int,
    *,
    balance: str = "1000.00",
    currency: str = "EUR",
    daily: str | None = None,
    weekly: str | None = None,
    monthly: str | None = "100000.00",
    end_date: date | None = None,
    start: int = 0,
) -> list[Contract]:
    """``count`` customers, each with a wallet and an active agreement; our Contract rows.

    The merchant wallet is created on the first call.
    """
    wallets: list[dict[str, Any]] = []
    if not Wallet.objects.filter(wallet_id=MERCHANT_WALLET).exists():
        wallets.append(
            {
                "wallet_id": MERCHANT_WALLET,
                "email": MERCHANT_EMAIL,
                "api_password": API_PASSWORD,
                "api_enabled": True,
                "balances": {currency: "0.00"},
            }
        )
    emails = [f"customer{start + n}@example.com" for n in range(count)]
    wallets += [{"email": email, "balances": {currency: balance}} for email in emails]
    contracts = [
        {
            "receiver": MERCHANT_WALLET,
            "client": email,
            "title": "Plan",
            "currency": currency,
            "daily_amount": daily,
            "weekly_amount": weekly,
            "monthly_amount": monthly,
            "end_date": end_date.isoformat() if end_date else None,
            "invoice": f"agr-{start + n}",
        }
        for n, email in enumerate(emails)
    ]
    summary = load_seed({"wallets": wallets, "contracts": contracts})
    ours = []
    for n, (email, okpay_id) in enumerate(
        zip(emails, summary.contract_ids, strict=True)
    ):
        ours.append(
            Contract(
                okpay_id=okpay_id,
                receiver_wallet=MERCHANT_WALLET,
                client_email=email,
                title="Plan",
                currency=currency,
                daily_amount=Decimal(daily) if daily else None,
                weekly_amount=Decimal(weekly) if weekly else None,
                monthly_amount=Decimal(monthly) if monthly else None,
                end_date=end_date,
                status=ContractStatus.ACTIVE,
                invoice=f"agr-{start + n}",
            )
        )
    return Contract.objects.bulk_create(ours)


def subscribe(
    contract: Contract,
    *,
    paid_at: datetime,
    amount: str = "10.00",
    unit: str = "month",
    count: int = 1,
    **extra: Any,
) -> Subscription:
    """A subscription whose first period the purchase at ``paid_at`` paid."""
    return create_subscription_from_purchase(
        contract=contract,
        title="Plan",
        amount=Decimal(amount),
        interval=BillingInterval(unit, count),
        paid_at=paid_at,
        **extra,
    )


def bulk_subscribe(
    contracts: list[Contract], *, due_at: datetime, amount: str = "10.00"
) -> list[Subscription]:
    """One monthly subscription per contract, each due (period 1) at ``due_at``."""
    anchor = (
        due_at.replace(month=due_at.month - 1)
        if due_at.month > 1
        else due_at.replace(year=due_at.year - 1, month=12)
    )
    rows = [
        Subscription(
            contract=contract,
            email=contract.client_email,
            title="Plan",
            amount=Decimal(amount),
            currency=contract.currency,
            interval_unit="month",
            interval_count=1,
            anchor=anchor,
            period_index=1,
            next_charge_at=due_at,
        )
        for contract in contracts
    ]
    return Subscription.objects.bulk_create(rows, batch_size=500)


def emulator_invoices() -> Counter[str]:
    """How many agreement charges OKPAY's ledger holds per invoice (comment's first word)."""
    return charges_by_invoice()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def charges_per_agreement_period() -> Counter[tuple[int, int]]:
    """OKPAY's ledger of agreement charges, counted per agreement per billing period.

    Judged without invoices (a faithful OKPAY files none on a charge): each
    charge is placed, by its OKPAY time, in the billing period of the
    agreement's subscription that contains it. A period charged twice counts
    2, whatever the invoices said; a period never charged is missing.
    """
    schedules = {
        okpay_id: (anchor, BillingInterval(unit, count))
        for okpay_id, anchor, unit, count in Subscription.objects.values_list(
            "contract__okpay_id", "anchor", "interval_unit", "interval_count"
        )
    }
    counts: Counter[tuple[int, int]] = Counter()
    for contract_id, at in Transaction.objects.filter(
        contract__isnull=False
    ).values_list("contract_id", "created_at"):
        anchor, interval = schedules[contract_id]
        counts[(contract_id, period_index_at(anchor, interval, at))] += 1
    return counts


def ledger_figures(expected: dict[tuple[int, int], int]) -> dict[str, int]:
    """``double`` and ``missed`` periods of :func:`charges_per_agreement_period`.

    ``expected`` maps each (agreement, period) that was due to 1.
    """
    counts = charges_per_agreement_period()
    return {
        "due": len(expected),
        "charged": sum(1 for key in expected if counts.get(key)),
        "double": sum(1 for n in counts.values() if n > 1),
        "missed": sum(1 for key in expected if not counts.get(key)),
        "unexpected": sum(1 for key in counts if key not in expected),
    }


def due_periods(
    subs: list[Subscription], period: int = 1
) -> dict[tuple[int, int], int]:
    """(agreement, period) → 1 for each subscription's due ``period``."""
    okpay_ids = dict(
        Subscription.objects.filter(pk__in=[s.pk for s in subs]).values_list(
            "pk", "contract__okpay_id"
        )
    )
    return {(okpay_ids[sub.pk], period): 1 for sub in subs}
