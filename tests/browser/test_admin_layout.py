"""The merchant admin's agreement list fits a 1,400 px wide window."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.utils import timezone

from okpay_gateway.models import Contract, ContractStatus
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_browser

WIDTH = 1400

pytestmark = pytest.mark.django_db(transaction=True)


def _agreements(count: int) -> None:
    for index in range(count):
        Contract.objects.create(
            okpay_id=100_000 + index,
            invoice=f"agr-{index:05d}",
            channel="default-channel",
            receiver_wallet="OK100000001",
            client_wallet=f"OK2000000{index:02d}",
            client_email=f"customer.with.a.long.name.{index}@example-shop.test",
            client_name="Alexandra Konstantinopoulou",
            title="Premium hosting subscription with priority support",
            currency="EUR",
            daily_amount=Decimal("100.00"),
            weekly_amount=Decimal("500.00"),
            monthly_amount=Decimal("1000.00"),
            available_amount=Decimal("1000.00"),
            status=ContractStatus.ACTIVE,
            granted_at=timezone.now(),
        )


def _measure_contract_list(base_url: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = chromium.new_page(
                base_url=base_url, viewport={"width": WIDTH, "height": 900}
            )
            page.goto("/admin/login/?next=/admin/okpay_gateway/contract/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "password")
            page.click("input[type=submit]")
            page.wait_for_selector("#result_list")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(ARTIFACTS / "admin-contract-list-1400.png"), full_page=True
            )
            return page.evaluate(
                """() => {
                    const table = document.querySelector('#result_list');
                    const box = table.closest('.results') || table.parentElement;
                    const heads = table.querySelectorAll('thead th');
                    const last = heads[heads.length - 1].getBoundingClientRect();
                    return {
                        page: document.documentElement.scrollWidth,
                        table: table.scrollWidth,
                        box: box.clientWidth,
                        lastRight: last.right,
                        columns: heads.length,
                    };
                }"""
            )
        finally:
            chromium.close()


def _in_own_thread(function, *args):
    # Playwright's sync API runs an event loop in the calling thread; Django
    # refuses database work in a thread with a running loop. The browser gets
    # a thread of its own so the test's database work stays in this one.
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=300)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_contract_list_every_column_visible_at_1400_px(live_server, admin_user):
    """No column of the agreement list is cut off or needs sideways scrolling."""
    require_browser()
    _agreements(5)
    sizes = _in_own_thread(_measure_contract_list, live_server.url)
    assert sizes["columns"] >= 6
    assert sizes["page"] <= WIDTH
    assert sizes["table"] <= sizes["box"]
    assert sizes["lastRight"] <= WIDTH
