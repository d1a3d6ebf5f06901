"""``manage.py okpay_saleor_app_install --api-url URL --staff-email EMAIL``.

Creates the App in a Saleor with ``appCreate`` and its webhooks with
``webhookCreate`` (local set-ups). The staff password is read from the
``SALEOR_STAFF_PASSWORD`` environment variable or asked for; a staff token
may be given in ``SALEOR_STAFF_TOKEN`` instead. No token is ever printed.
"""

from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from okpay_gateway.contrib.saleor_app import conf, install, saleor_api


class Command(BaseCommand):
    help = "Install the OKPAY Saleor App with appCreate + webhookCreate."

    def add_arguments(self, parser):
        parser.add_argument("--api-url", required=True, help="Saleor's GraphQL URL")
        parser.add_argument("--staff-email", default="")

    def handle(self, *args, api_url: str, staff_email: str, **options):
        if not conf.saleor_url_allowed(api_url):
            # Checked before the staff password is sent anywhere.
            raise CommandError(f"{api_url} is not in ALLOWED_SALEOR_URLS")
        staff = os.environ.get("SALEOR_STAFF_TOKEN", "")
        try:
            if not staff:
                if not staff_email:
                    raise CommandError("give --staff-email or SALEOR_STAFF_TOKEN")
                password = os.environ.get("SALEOR_STAFF_PASSWORD") or getpass.getpass(
                    "Saleor staff password: "
                )
                staff = install.staff_token(api_url, staff_email, password)
            result = install.install(api_url, staff)
        except install.InstallRefused as exc:
            raise CommandError(str(exc)) from exc
        except (saleor_api.SaleorError, saleor_api.SaleorUnavailable) as exc:
            raise CommandError(f"Saleor: {exc}") from exc
        self.stdout.write(
            f"Installed the OKPAY App in {api_url}: app {result.app_id}, "
            f"{len(result.webhook_ids)} webhooks."
        )
