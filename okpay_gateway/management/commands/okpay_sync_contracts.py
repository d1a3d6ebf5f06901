"""``manage.py okpay_sync_contracts``: align Contract rows with OKPAY's agreements.

Uses the shop-wide ``OKPAY_GATEWAY`` settings, or those a Saleor channel
registered (``--channel``). Safe to run from cron: unknown agreements are
added, closed ones are closed here, nothing moves money.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from okpay_gateway import payments
from okpay_gateway.exceptions import OkPayError


class Command(BaseCommand):
    help = "Fetch every OKPAY pre-approved payment agreement and update Contract rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--channel",
            default="",
            help="Host channel whose OKPAY settings to use (default: OKPAY_GATEWAY).",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            okpay_settings = payments.settings_for_channel(str(options["channel"]))
            report = payments.sync_contracts(okpay_settings=okpay_settings)
        except OkPayError as exc:
            raise CommandError(f"OKPAY contract sync failed: {exc}") from exc
        self.stdout.write(str(report))
        for error in report.errors:
            self.stderr.write(error)
