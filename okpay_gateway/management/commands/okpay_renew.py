"""``manage.py okpay_renew`` (also ``okpay-gateway renew``): one renewal run.

Resolves unknown outcomes first, then decides every due subscription once,
with a progress bar on stderr and a summary table at the end: charged,
skipped by reason, declined by code, unknown, failed, and the amounts charged
per currency. Exits 1 when anything is unknown or failed (so cron or CI
notices), 0 otherwise.

``--dry-run`` previews (no claim, no write, no SOAP call). ``--limit`` caps how
many subscriptions this run takes. ``--concurrency N`` keeps up to N charges in
flight at once (a pool of N sender threads; the database work stays batched). ``--as-of`` sets the engine's clock
(ISO 8601; default now).
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from okpay_gateway.billing import engine
from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.types import SystemClock


class ProgressBar:
    """A one-line text progress bar (only drawn on a terminal unless forced)."""

    def __init__(
        self, total: int, stream: TextIO, *, enabled: bool, width: int = 30
    ) -> None:
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream
        self.enabled = enabled
        self.width = width
        self._lock = threading.Lock()

    def advance(self, _: Any = None) -> None:
        with self._lock:
            self.done += 1
            if self.enabled:
                self._draw()

    def _draw(self) -> None:
        total = max(self.total, self.done, 1)
        filled = int(self.width * self.done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{total}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def summary_lines(report: engine.RunReport) -> list[str]:
    """The summary table printed at the end of a run."""
    rows: list[tuple[str, str, str]] = []
    outcomes = report.outcomes
    rows.append(("charged", "", str(outcomes.get("charged", 0))))
    for reason, count in sorted(report.skipped.items()):
        rows.append(("skipped", reason, str(count)))
    if not report.skipped:
        rows.append(("skipped", "", "0"))
    for code, count in sorted(report.declined.items()):
        rows.append(("declined", code, str(count)))
    if not report.declined:
        rows.append(("declined", "", "0"))
    rows.append(("unknown", "", str(outcomes.get("unknown", 0))))
    rows.append(("failed", "", str(outcomes.get("failed", 0))))
    rows.append(("total", "", str(report.total)))
    for currency, amount in sorted(report.charged_amounts.items()):
        rows.append(("amount", currency, f"{amount:.2f}"))
    if report.resolved:
        for outcome, count in sorted(report.resolved.items()):
            rows.append(("resolved", outcome, str(count)))
    widths = [
        max(len(r[i]) for r in [("outcome", "reason", "count"), *rows])
        for i in range(3)
    ]
    head = ("outcome", "reason", "count")
    line = "+".join("-" * (w + 2) for w in widths)
    out = [
        line,
        " " + " | ".join(head[i].ljust(widths[i]) for i in range(3)),
        line,
    ]
    out += [
        " "
        + " | ".join(
            (row[i].rjust(widths[i]) if i == 2 else row[i].ljust(widths[i]))
            for i in range(3)
        )
        for row in rows
    ]
    out.append(line)
    return out


class Command(BaseCommand):
    help = "Renew due OKPAY subscriptions (exactly one charge per period)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Preview only.")
        parser.add_argument(
            "--limit", type=int, default=None, help="Most subscriptions taken."
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=1,
            help="Charges in flight at once (default 1).",
        )
        parser.add_argument(
            "--as-of", default=None, help="Engine clock, ISO 8601 (default now)."
        )
        parser.add_argument(
            "--progress",
            choices=("auto", "always", "never"),
            default="auto",
            help="Draw the progress bar (auto: only on a terminal).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            now = (
                to_utc(datetime.fromisoformat(options["as_of"]), "--as-of")
                if options["as_of"]
                else SystemClock().now()
            )
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be 1 or more")
        err = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        mode = options["progress"]
        enabled = mode == "always" or (mode == "auto" and err.isatty())
        total = engine.count_due(now)
        if options["limit"] is not None:
            total = min(total, options["limit"])
        bar = ProgressBar(total, err, enabled=enabled)
        report = engine.run_renewals(
            now=now,
            limit=options["limit"],
            concurrency=options["concurrency"],
            dry_run=options["dry_run"],
            progress=bar.advance,
        )
        bar.finish()
        title = "Dry run" if report.dry_run else f"Renewal run {report.run_id}"
        self.stdout.write(f"{title} as of {now.isoformat()}")
        for line in summary_lines(report):
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(
                "some renewals are unknown or failed; the resolver and the next run retry them",
                returncode=1,
            )
