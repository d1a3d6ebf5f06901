"""The merchant admin's agreement list fits a 1,400 px wide window."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from okpay_gateway.models import Contract, ContractStatus

WIDTH = 1400


@pytest.fixture(scope="module")
def _orm_beside_playwright():
    # Playwright's sync API keeps an event loop running in this thread, which
    # Django's async-safety check takes for async code; the ORM calls here
    # (and the database flush after each test) are plain synchronous ones.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def admin_page(
    _orm_beside_playwright, transactional_db, browser, live_server, admin_user
):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTH, "height": 900}
    )
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    yield page
    context.close()


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


def test_contract_list_every_column_visible_at_1400_px(admin_page, shot):
    """No column of the agreement list is cut off or needs sideways scrolling."""
    _agreements(5)
    admin_page.goto("/admin/okpay_gateway/contract/")
    shot(admin_page, "contract-list-1400")
    page_width = admin_page.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= WIDTH
    overflow = admin_page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const box = table.closest('.results') || table.parentElement;
            return [table.scrollWidth, box.clientWidth];
        }"""
    )
    assert overflow[0] <= overflow[1]
    headers = admin_page.locator("#result_list thead th")
    last = headers.nth(headers.count() - 1).bounding_box()
    assert last["x"] + last["width"] <= WIDTH
