"""The App's Dashboard pages in Chromium, framed the way the Saleor Dashboard frames them.

A stand-in Dashboard page (its own loopback origin, allowed in
``DASHBOARD_ORIGINS``) embeds the App in an iframe and answers the page's
``notifyReady`` with an AppBridge ``handshake`` carrying the staff token,
signed by the stand-in Saleor's RSA key. Screenshots go to
test-artifacts/browser/, or to docs/images/ (the README's) with
``OKPAY_UPDATE_DOCS_IMAGES=1``.
"""

from __future__ import annotations

import json
import os
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.models import (
    ContractStatus,
    Payment,
    PaymentEvent,
    PaymentEventKind,
    PaymentStatus,
)
from tests.browser.conftest import ARTIFACTS
from tests.payments.support import local_contract
from tests.saleor_app import conftest as app_fixtures
from tests.saleor_app.dashboard_support import staff_token
from tests.saleor_app.standin import SigningKey

# The App's fixtures (stand-in Saleor, live App, installation), shared here.
schema = app_fixtures.schema
standin = app_fixtures.standin
app = app_fixtures.app
installed = app_fixtures.installed

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

PARENT = """<!doctype html><html><head><meta charset="utf-8"><title>Saleor Dashboard</title>
<style>body{margin:0;font:14px sans-serif}header{padding:8px 16px;background:#f3f3f3}</style>
</head><body><header>Saleor Dashboard (stand-in) · Apps: OKPAY</header>
<script>
var token = %(token)s;
window.addEventListener("message", function (event) {
  if (event.data && event.data.type === "notifyReady") {
    document.getElementById("app").contentWindow.postMessage(
      {type: "handshake", payload: {token: token, version: 1}}, "*");
  }
});
</script>
<iframe id="app" src="%(src)s" style="border:0;width:100%%;height:1200px"></iframe>
</body></html>"""


class DashboardStandIn:
    """Serves one parent page per path: ``/<name>`` -> registered HTML."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def frame(self, name: str, src: str, token: str) -> str:
        self.pages[f"/{name}"] = PARENT % {"token": json.dumps(token), "src": src}
        return f"{self.origin}/{name}"


@pytest.fixture
def dashboard(settings, installed, standin):
    server = DashboardStandIn()
    settings.OKPAY_SALEOR_APP = {
        **settings.OKPAY_SALEOR_APP,
        "DASHBOARD_ORIGINS": [server.origin],
    }
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def agreement(installed):
    okpay_id = EmuContract.objects.get(invoice="agr-seed-1").pk
    contract = local_contract(okpay_id, client_name="Alice Example")
    local_contract(None, invoice="agr-old", client_name="Bob", status="canceled")
    now = timezone.now()
    for days, amount in ((1, "19.00"), (3, "19.00"), (9, "49.00"), (30, "19.00")):
        Payment.objects.create(
            invoice=f"seed-{days}",
            contract=contract,
            amount=Decimal(amount),
            currency="USD",
            status=PaymentStatus.COMPLETED,
            completed_at=now - timezone.timedelta(days=days),
        )
    declined = Payment.objects.create(
        invoice="seed-declined",
        contract=contract,
        amount=Decimal("19.00"),
        currency="USD",
        status=PaymentStatus.DECLINED,
    )
    PaymentEvent.objects.create(payment=declined, kind=PaymentEventKind.CHARGE_DECLINED)
    return contract


@pytest.fixture
def context(django_db_setup, browser):
    # The test database first: Django refuses to create it while
    # Playwright's event loop is marked running in this thread.
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)
    yield context
    context.close()


def _save(page, name: str) -> None:
    # The README's images change only when asked (OKPAY_UPDATE_DOCS_IMAGES=1):
    # a plain test run must not rewrite committed files.
    folder = DOCS_IMAGES if os.environ.get("OKPAY_UPDATE_DOCS_IMAGES") else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"dashboard-{name}.png"))


def test_staff_sees_counts_chart_detail_and_charges_and_cancels(
    context,
    dashboard,
    app,
    standin,
    agreement,
):
    """Counts, chart, search and detail in the iframe; charge and cancel audited."""
    page = context.new_page()
    src = f"{app}dashboard/?saleorApiUrl={standin.api_url}"
    page.goto(dashboard.frame("list", src, staff_token(standin)))
    frame = page.frame_locator("#app")
    frame.locator('strong[data-status="active"]').wait_for()
    assert frame.locator('strong[data-status="active"]').inner_text() == "1"
    assert frame.locator('strong[data-status="canceled"]').inner_text() == "1"
    assert frame.locator("svg.okpay-chart rect.completed").count() == 4
    assert frame.locator("svg.okpay-chart rect.declined").count() == 1
    _save(page, "agreements")

    frame.locator('input[name="q"]').fill("Bob")
    frame.locator("button", has_text="Search").click()
    frame.locator("p.found", has_text="1 found").wait_for()
    assert frame.locator("tr[data-agreement]").count() == 1
    frame.locator('input[name="q"]').fill("")
    frame.locator("button", has_text="Search").click()
    frame.locator(f'tr[data-agreement="{agreement.pk}"] a').click()

    frame.locator("h2", has_text="Ledger").wait_for()
    frame.locator('input[name="amount"]').fill("12.34")
    frame.locator('input[name="comment"]').fill("support hours")
    frame.locator("button", has_text="Charge").click()
    frame.locator(".msg.success").wait_for()
    assert "Completed" in frame.locator(".msg.success").inner_text()
    assert frame.locator('tr[data-kind="charge_completed"]').count() >= 1
    _save(page, "agreement")
    charged = Payment.objects.get(contract=agreement, amount=Decimal("12.34"))
    assert charged.status == PaymentStatus.COMPLETED
    assert "staff@example.com" in charged.description

    frame.locator("a.cancel-link").click()
    frame.locator("button", has_text="Yes, cancel the agreement").wait_for()
    agreement.refresh_from_db()
    assert agreement.status == ContractStatus.ACTIVE  # the link only asks
    frame.locator('input[name="comment"]').fill("customer left")
    frame.locator("button", has_text="Yes, cancel the agreement").click()
    frame.locator('[data-status="canceled"]').first.wait_for()
    agreement.refresh_from_db()
    assert agreement.status == ContractStatus.CANCELED
    assert PaymentEvent.objects.filter(
        contract=agreement,
        kind=PaymentEventKind.CONTRACT_CANCEL,
        comment__contains="customer left",
    ).exists()


@pytest.mark.parametrize(
    ("make_token", "expected"),
    [
        (
            lambda s: staff_token(s, key=SigningKey("key-1")),
            "not signed by this Saleor",
        ),
        (lambda s: staff_token(s, expires_in=-60), "expired"),
        (
            lambda s: staff_token(s, user_permissions=["MANAGE_ORDERS"]),
            "HANDLE_PAYMENTS",
        ),
    ],
    ids=["forged", "expired", "no-permission"],
)
def test_refused_tokens_see_no_agreement(
    context,
    dashboard,
    app,
    standin,
    agreement,
    make_token,
    expected,
):
    """A forged, expired or under-privileged token gets a refusal, no data."""
    page = context.new_page()
    src = f"{app}dashboard/?saleorApiUrl={standin.api_url}"
    page.goto(dashboard.frame("refused", src, make_token(standin)))
    refusal = page.frame_locator("#app").locator(".okpay-refused")
    refusal.wait_for()
    assert expected in refusal.inner_text()
    assert (
        "Alice Example" not in page.frame_locator("#app").locator("body").inner_text()
    )


def test_a_foreign_site_cannot_frame_the_pages(
    context,
    settings,
    installed,
    standin,
    app,
):
    """frame-ancestors names only the Saleor Dashboard: elsewhere the frame stays empty."""
    server = DashboardStandIn()  # not in DASHBOARD_ORIGINS
    try:
        page = context.new_page()
        page.goto(server.frame("evil", f"{app}dashboard/", staff_token(standin)))
        page.wait_for_timeout(1500)
        frame = page.frame_locator("#app")
        assert frame.locator("#okpay-root").count() == 0
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_admin_agreements_page_shows_the_same_chart(
    context, live_server, admin_user, agreement
):
    """The Django admin's agreements list draws the same 90-day chart."""
    page = context.new_page()
    page.goto(live_server.url + "/admin/login/?next=/admin/okpay_gateway/contract/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.locator("svg.okpay-chart").wait_for()
    assert page.locator("svg.okpay-chart rect.completed").count() == 4
    assert page.locator("svg.okpay-chart polyline.revenue").count() == 1
    _save(page, "admin-chart")
