"""``manage.py okpay_reverify``: re-verify IPNs whose postback could not be made.

Run it from cron every minute or so; the renewals scheduler also calls
:func:`okpay_gateway.notifications.reverify_due` on every tick, so shops that
run the scheduler need no extra job. Safe to run in parallel (rows are claimed
with SKIP LOCKED where the database supports it).
"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandParser

from okpay_gateway.notifications import reverify_due


class Command(BaseCommand):
    help = "Re-verify stored OKPAY IPNs waiting in state RETRY and apply the verified ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=100,
            help="Most rows handled in this run (default 100).",
        )

    def handle(self, *args: object, **options: object) -> None:
        limit = int(options["limit"])  # type: ignore[call-overload]
        handled = reverify_due(limit=limit)
        states = Counter(row.state for row in handled)
        summary = ", ".join(
            f"{state}: {count}" for state, count in sorted(states.items())
        )
        self.stdout.write(
            f"{len(handled)} IPNs re-verified" + (f" ({summary})" if summary else "")
        )
