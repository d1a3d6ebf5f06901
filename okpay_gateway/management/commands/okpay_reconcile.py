"""``manage.py okpay_reconcile``: compare our ledger with OKPAY's history (read-only).

Prints every finding grouped by kind (missing here, missing at OKPAY,
duplicated, amount or currency mismatch, stuck unknown) and exits 1 on any
drift. The window defaults to the last 24 hours; ``--since``/``--until`` take
ISO 8601 times, ``--days`` a length. ``--channel`` picks the settings a Saleor
channel registered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from okpay_gateway import payments
from okpay_gateway.billing.reconcile import reconcile
from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.types import SystemClock


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return to_utc(datetime.fromisoformat(value), name)
    except ValueError as exc:
        raise CommandError(f"{name}: {exc}") from exc


class Command(BaseCommand):
    help = "Compare the payments ledger with OKPAY's transaction history (read-only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default=None, help="Window start, ISO 8601.")
        parser.add_argument(
            "--until", default=None, help="Window end, ISO 8601 (default now)."
        )
        parser.add_argument(
            "--days", type=float, default=1.0, help="Window length (default 1)."
        )
        parser.add_argument(
            "--stuck-after-minutes",
            type=float,
            default=60.0,
            help="Unknown outcomes older than this are reported (default 60).",
        )
        parser.add_argument("--channel", default="", help="Saleor channel slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        end = _when(options["until"], "--until") or SystemClock().now()
        start = _when(options["since"], "--since") or end - timedelta(
            days=options["days"]
        )
        if start >= end:
            raise CommandError("the window is empty (--since must be before --until)")
        report = reconcile(
            start=start,
            end=end,
            okpay_settings=payments.settings_for_channel(options["channel"]),
            stuck_after=timedelta(minutes=options["stuck_after_minutes"]),
            now=end,
        )
        self.stdout.write(
            f"Window {start.isoformat()} .. {end.isoformat()}: "
            f"{report.okpay_transactions} OKPAY transactions, {report.our_payments} ours"
        )
        for kind, findings in report.by_kind().items():
            self.stdout.write(f"{kind}: {len(findings)}")
            for finding in findings:
                self.stdout.write(f"  {finding.invoice}  {finding.detail}")
        if report.drift:
            raise CommandError(
                f"{len(report.findings)} differences found", returncode=1
            )
        self.stdout.write("No drift.")
