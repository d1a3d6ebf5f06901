"""``manage.py okpay_prune_ipns``: delete old junk from the stored IPN log.

Deletes rows that are malformed, INVALID (forged, tampered or TEST in live
mode), duplicates or over the size cap, last seen more than
``OKPAY_GATEWAY["IPN_RETENTION_DAYS"]`` days ago (default 30; ``--days``
overrides). Rows that were applied, flagged for a human or are still waiting
are never deleted. Run it daily from cron.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from okpay_gateway.ipn_log import prune, retention_days


class Command(BaseCommand):
    help = (
        "Delete stored OKPAY IPNs that are malformed, INVALID, duplicates or too "
        "large and older than the retention period; applied IPNs are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep rows last seen within this many days "
            '(default: OKPAY_GATEWAY["IPN_RETENTION_DAYS"], else 30).',
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count what would be deleted.",
        )

    def handle(self, *args: object, **options: object) -> None:
        days = options["days"]
        if days is None:
            days = retention_days()
        if not isinstance(days, int) or days < 0:
            raise CommandError("--days must be 0 or more")
        dry_run = bool(options["dry_run"])
        counts = prune(days=days, dry_run=dry_run)
        total = sum(counts.values())
        summary = ", ".join(f"{state}: {n}" for state, n in sorted(counts.items()))
        verb = "would be deleted" if dry_run else "deleted"
        self.stdout.write(
            f"{total} stored IPNs older than {days} days {verb}"
            + (f" ({summary})" if summary else "")
        )
