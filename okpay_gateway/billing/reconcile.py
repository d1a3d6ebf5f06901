"""Read-only comparison of our payments ledger with OKPAY's history.

:func:`reconcile` reads OKPAY's ``Transaction_History`` for a window (every
page) and our ``Payment`` rows and reports:

* ``missing_here``: OKPAY has a completed incoming transaction with an invoice
  that we have not recorded as completed (or not at all). OKPAY files no
  invoice on a pre-approved charge; our client sends it as the first word of
  the charge's comment, so a transaction without an invoice is known by that
  word;
* ``missing_at_okpay``: we recorded a payment completed in the window but
  OKPAY has no transaction with its invoice (looked up the way the resolver
  does, :func:`okpay_gateway.payments.find_charge`, before it is reported, so
  a transaction just outside the window is not drift);
* ``duplicated``: one invoice under two or more OKPAY transactions, or one
  OKPAY transaction recorded on two of our payments;
* ``amount_mismatch`` / ``currency_mismatch``: same invoice, different money;
* ``stuck_unknown``: payments still ``sending``/``unknown`` and renewal
  attempts still ``sending``/``unknown`` older than ``stuck_after``.

Nothing is written, here or at OKPAY.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from okpay_gateway import clients, exceptions, payments
from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.models import (
    ChargeAttempt,
    ChargeAttemptStatus,
    Payment,
    PaymentStatus,
)
from okpay_gateway.provider.messages import split_charge_comment
from okpay_gateway.provider.settings import OkPaySettings

logger = logging.getLogger(__name__)

__all__ = ["Finding", "ReconcileReport", "reconcile"]

CAPTURED = (
    PaymentStatus.COMPLETED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)
KINDS = (
    "missing_here",
    "missing_at_okpay",
    "duplicated",
    "amount_mismatch",
    "currency_mismatch",
    "stuck_unknown",
)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    invoice: str
    detail: str


@dataclass(slots=True)
class ReconcileReport:
    start: datetime
    end: datetime
    okpay_transactions: int = 0
    our_payments: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.findings)

    def by_kind(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {kind: [] for kind in KINDS}
        for finding in self.findings:
            grouped.setdefault(finding.kind, []).append(finding)
        return grouped


def _history(
    client: Any, start: datetime, end: datetime, page_size: int
) -> Iterator[Any]:
    page_number = 1
    while True:
        page = client.transaction_history(
            start=start, end=end, page_size=page_size, page_number=page_number
        )
        yield from page.transactions
        if page_number >= (page.page_count or 1):
            return
        page_number += 1


def _status(value: Any) -> str:
    return str(getattr(value, "value", value))


def reconcile(
    *,
    start: datetime,
    end: datetime,
    okpay_settings: OkPaySettings,
    stuck_after: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    page_size: int = 50,
) -> ReconcileReport:
    """Compare the window ``[start, end]`` (see the module docstring)."""
    start, end = to_utc(start, "start"), to_utc(end, "end")
    now = to_utc(now, "now") if now is not None else end
    client = clients.client_for(okpay_settings)
    report = ReconcileReport(start=start, end=end)
    by_invoice: dict[str, list[Any]] = defaultdict(list)
    for txn in _history(client, start, end, page_size):
        receiver = getattr(txn.receiver, "wallet_id", None)
        invoice = txn.invoice or split_charge_comment(txn.comment)[0]
        if receiver != okpay_settings.wallet_id or not invoice:
            continue
        if _status(txn.status) != "Completed":
            continue
        report.okpay_transactions += 1
        by_invoice[invoice].append(txn)

    ours = {
        p.invoice: p
        for p in Payment.objects.filter(invoice__in=list(by_invoice)).only(
            "invoice", "status", "amount", "currency", "okpay_txn_id"
        )
    }
    for invoice, txns in sorted(by_invoice.items()):
        if len(txns) > 1:
            ids = ", ".join(str(t.id) for t in txns)
            report.findings.append(
                Finding("duplicated", invoice, f"OKPAY transactions {ids}")
            )
        txn = txns[0]
        payment = ours.get(invoice)
        if payment is None or payment.status not in CAPTURED:
            state = (
                "not recorded" if payment is None else f"recorded as {payment.status}"
            )
            report.findings.append(
                Finding(
                    "missing_here", invoice, f"OKPAY txn {txn.id} completed, {state}"
                )
            )
            continue
        if txn.amount != payment.amount:
            report.findings.append(
                Finding(
                    "amount_mismatch",
                    invoice,
                    f"OKPAY {txn.amount}, ours {payment.amount}",
                )
            )
        if (txn.currency or "").upper() != payment.currency.upper():
            report.findings.append(
                Finding(
                    "currency_mismatch",
                    invoice,
                    f"OKPAY {txn.currency}, ours {payment.currency}",
                )
            )

    window_payments = Payment.objects.filter(
        status__in=CAPTURED, completed_at__gte=start, completed_at__lte=end
    )
    report.our_payments = window_payments.count()
    for payment in window_payments.exclude(invoice__in=list(by_invoice)).iterator(
        chunk_size=500
    ):
        try:
            found = payments.find_charge(payment, okpay_settings)
        except exceptions.ProviderError as exc:
            logger.warning("reconcile: %s not checked: %s", payment.invoice, exc.code)
            continue
        if found is None:
            report.findings.append(
                Finding(
                    "missing_at_okpay",
                    payment.invoice,
                    f"ours {payment.status}, OKPAY none",
                )
            )

    shared = defaultdict(list)
    for invoice, txn_id in Payment.objects.filter(
        okpay_txn_id__isnull=False, status__in=CAPTURED, invoice__in=list(by_invoice)
    ).values_list("invoice", "okpay_txn_id"):
        shared[txn_id].append(invoice)
    for txn_id, invoices in shared.items():
        if len(invoices) > 1:
            report.findings.append(
                Finding(
                    "duplicated",
                    invoices[0],
                    f"OKPAY txn {txn_id} on {', '.join(invoices)}",
                )
            )

    # Stuck: payments by their own (wall-clock) age, attempts by the engine's clock.
    for payment in Payment.objects.filter(
        status__in=[PaymentStatus.SENDING, PaymentStatus.UNKNOWN],
        updated_at__lte=now - stuck_after,
    ).only("invoice", "status"):
        report.findings.append(
            Finding("stuck_unknown", payment.invoice, f"payment {payment.status}")
        )
    seen = {f.invoice for f in report.findings if f.kind == "stuck_unknown"}
    for attempt in ChargeAttempt.objects.filter(
        status__in=[ChargeAttemptStatus.SENDING, ChargeAttemptStatus.UNKNOWN],
        last_tried_at__lte=now - stuck_after,
    ).only("invoice", "status"):
        if attempt.invoice not in seen:
            report.findings.append(
                Finding(
                    "stuck_unknown",
                    attempt.invoice,
                    f"renewal attempt {attempt.status}",
                )
            )
    return report
