"""The merchant pages in the Saleor Dashboard, over real HTTP (live server).

The Dashboard's token is a JWT signed by the stand-in Saleor's RSA key and
checked against its JWKS over HTTP; OKPAY is the in-process emulator.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from okpay_gateway.contrib.saleor_app.dashboard.extensions import extension_page_url
from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.models import (
    ContractStatus,
    Payment,
    PaymentEvent,
    PaymentEventKind,
    PaymentStatus,
)
from tests.payments.support import local_contract
from tests.saleor_app.dashboard_support import headers, staff_token
from tests.saleor_app.standin import SigningKey

TIMEOUT = (5, 60)


@pytest.fixture
def agreement(installed):
    okpay_id = EmuContract.objects.get(invoice="agr-seed-1").pk
    return local_contract(okpay_id, client_name="Alice Example")


def _get(app, standin, path, token=None, **params):
    token = token or staff_token(standin)
    return requests.get(
        app + path, params=params, headers=headers(standin, token), timeout=TIMEOUT
    )


def _post(app, standin, path, data, token=None):
    token = token or staff_token(standin)
    return requests.post(
        app + path, data=data, headers=headers(standin, token), timeout=TIMEOUT
    )


def _form_token(html: str, action: str) -> str:
    form = re.search(
        rf'action="[^"]*/{action}/"[\s\S]*?name="csrf" value="([^"]+)"', html
    )
    assert form, f"no {action} form on the page"
    return form.group(1)


def test_list_shows_counts_chart_and_agreements(app, standin, agreement):
    """A staff token sees counts by status, the 90-day chart and the agreements."""
    local_contract(None, invoice="agr-2", status=ContractStatus.CANCELED)
    Payment.objects.create(
        invoice="p-1",
        contract=agreement,
        amount=Decimal("12.50"),
        currency="USD",
        status=PaymentStatus.COMPLETED,
        completed_at=timezone.now() - timedelta(days=2),
    )
    response = _get(app, standin, "dashboard/")
    assert response.status_code == 200, response.text
    html = response.text
    assert '<strong data-status="active">1</strong>' in html
    assert '<strong data-status="canceled">1</strong>' in html
    assert "<svg" in html and 'class="completed"' in html
    assert 'data-currency="USD"' in html
    assert "USD 12.50" in html
    assert "Alice Example" in html
    policy = response.headers["Content-Security-Policy"]
    assert policy == f"frame-ancestors {standin.base_url}"
    assert "X-Frame-Options" not in response.headers


def test_search_and_filters_narrow_the_list(app, standin, agreement):
    """Search by e-mail or OKPAY id and the status filter find the right rows."""
    other = local_contract(
        None, invoice="agr-2", client_email="bob@example.com", client_name="Bob"
    )
    found = _get(app, standin, "dashboard/", q="bob@")
    assert f'data-agreement="{other.pk}"' in found.text
    assert f'data-agreement="{agreement.pk}"' not in found.text
    by_id = _get(app, standin, "dashboard/", q=str(agreement.okpay_id))
    assert f'data-agreement="{agreement.pk}"' in by_id.text
    canceled = _get(app, standin, "dashboard/", status="canceled")
    assert "data-agreement=" not in canceled.text
    assert "0 found" in canceled.text


def test_detail_shows_ledger_operations_and_forms(app, standin, agreement):
    """The detail page shows the ledger, OKPAY's operations, charge and cancel."""
    response = _get(app, standin, f"dashboard/agreements/{agreement.pk}/")
    assert response.status_code == 200
    html = response.text
    assert "Ledger" in html and "Operations at OKPAY" in html
    assert "operations-error" not in html
    assert 'class="charge-form' in html and "Cancel this agreement" in html


def test_charge_moves_money_once_and_is_audited(app, standin, agreement):
    """A manual charge is made through the core and lands in the ledger."""
    token = staff_token(standin)
    page = _get(app, standin, f"dashboard/agreements/{agreement.pk}/", token=token)
    csrf = _form_token(page.text, "charge")
    response = _post(
        app,
        standin,
        f"dashboard/agreements/{agreement.pk}/charge/",
        {"amount": "7.25", "comment": "extra seat", "csrf": csrf},
        token=token,
    )
    assert response.status_code == 200, response.text
    assert "Completed" in response.text
    payment = Payment.objects.get(contract=agreement)
    assert payment.amount == Decimal("7.25")
    assert payment.status == PaymentStatus.COMPLETED
    assert "staff@example.com" in payment.description
    kinds = set(
        PaymentEvent.objects.filter(payment=payment).values_list("kind", flat=True)
    )
    assert PaymentEventKind.CHARGE_COMPLETED in kinds
    requested = PaymentEvent.objects.get(
        payment=payment, kind=PaymentEventKind.CHARGE_REQUESTED
    )
    assert "extra seat" in requested.comment
    assert "staff@example.com" in requested.comment


def test_cancel_needs_confirmation_then_closes_for_good(app, standin, agreement):
    """GET shows a confirmation; the POST cancels at OKPAY and writes the ledger."""
    token = staff_token(standin)
    confirm = _get(
        app, standin, f"dashboard/agreements/{agreement.pk}/cancel/", token=token
    )
    assert "Yes, cancel the agreement" in confirm.text
    agreement.refresh_from_db()
    assert agreement.status == ContractStatus.ACTIVE
    response = _post(
        app,
        standin,
        f"dashboard/agreements/{agreement.pk}/cancel/",
        {"csrf": _form_token(confirm.text, "cancel"), "comment": "customer asked"},
        token=token,
    )
    assert response.status_code == 200, response.text
    agreement.refresh_from_db()
    assert agreement.status == ContractStatus.CANCELED
    assert EmuContract.objects.get(pk=agreement.okpay_id).status == "Canceled"
    event = PaymentEvent.objects.get(
        contract=agreement, kind=PaymentEventKind.CONTRACT_CANCEL
    )
    assert "customer asked" in event.comment
    assert "staff@example.com" in event.comment


@pytest.mark.parametrize(
    ("make_token", "status"),
    [
        (lambda s: staff_token(s, key=SigningKey("key-1")), 401),  # forged: same kid
        (lambda s: staff_token(s, key=SigningKey("key-x")), 401),  # unknown kid
        (lambda s: staff_token(s, expires_in=-60), 401),
        (lambda s: staff_token(s, app="QXBwOjk5"), 401),  # another App's token
        (lambda s: staff_token(s, type="access"), 401),  # the user's own token
        (lambda s: staff_token(s, user_permissions=["MANAGE_ORDERS"]), 403),
        # The user may, the App's permissions in the token do not include it.
        (lambda s: staff_token(s, permissions=["MANAGE_USERS"]), 403),
        (lambda s: "not-a-jwt", 401),
    ],
    ids=[
        "forged",
        "unknown-kid",
        "expired",
        "other-app",
        "not-thirdparty",
        "no-permission",
        "app-lacks-permission",
        "garbage",
    ],
)
def test_bad_tokens_see_nothing(app, standin, agreement, make_token, status):
    """Forged, expired, foreign and under-privileged tokens are refused."""
    response = _get(app, standin, "dashboard/", token=make_token(standin))
    assert response.status_code == status
    assert "Alice Example" not in response.text
    assert "okpay-refused" in response.text


@pytest.mark.parametrize(
    ("make_token", "status"),
    [
        (lambda s: staff_token(s, key=SigningKey("key-1")), 401),
        (lambda s: staff_token(s, expires_in=-60), 401),
        (lambda s: staff_token(s, user_permissions=["HANDLE_PAYMENTS"]), 403),
    ],
    ids=["forged", "expired", "view-only"],
)
def test_bad_tokens_cannot_charge_or_cancel(
    app, standin, agreement, make_token, status
):
    """Cancel and charge are refused for forged, expired, view-only tokens."""
    good = staff_token(standin)
    page = _get(app, standin, f"dashboard/agreements/{agreement.pk}/", token=good)
    confirm = _get(
        app, standin, f"dashboard/agreements/{agreement.pk}/cancel/", token=good
    )
    bad = make_token(standin)
    charge = _post(
        app,
        standin,
        f"dashboard/agreements/{agreement.pk}/charge/",
        {"amount": "5.00", "csrf": _form_token(page.text, "charge")},
        token=bad,
    )
    cancel = _post(
        app,
        standin,
        f"dashboard/agreements/{agreement.pk}/cancel/",
        {"csrf": _form_token(confirm.text, "cancel")},
        token=bad,
    )
    assert (charge.status_code, cancel.status_code) == (status, status)
    assert not Payment.objects.filter(contract=agreement).exists()
    agreement.refresh_from_db()
    assert agreement.status == ContractStatus.ACTIVE


def test_post_without_a_valid_form_token_is_refused(app, standin, agreement):
    """A valid Dashboard token is not enough: the form token must match it."""
    token = staff_token(standin)
    other_page = _get(
        app,
        standin,
        f"dashboard/agreements/{agreement.pk}/",
        token=staff_token(standin, email="other@example.com", iat=1),
    )
    for csrf in ("", "forged:value", _form_token(other_page.text, "charge")):
        response = _post(
            app,
            standin,
            f"dashboard/agreements/{agreement.pk}/charge/",
            {"amount": "5.00", "csrf": csrf},
            token=token,
        )
        assert response.status_code == 403
    assert not Payment.objects.filter(contract=agreement).exists()


def test_without_a_token_only_the_shell_is_served(app, standin, agreement):
    """The first, token-less load is the data-free shell that waits for AppBridge."""
    response = requests.get(app + "dashboard/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert "okpay-root" in response.text
    assert "Alice Example" not in response.text
    assert response.headers["Content-Security-Policy"].startswith("frame-ancestors")


def test_customer_and_order_panels(app, standin, agreement, installed):
    """The customer and order extensions list that customer's/order's agreements."""
    from okpay_gateway.contrib.saleor_app.models import CustomerAgreement

    CustomerAgreement.objects.create(
        installation=installed, saleor_user_id="VXNlcjo3", contract=agreement
    )
    mine = _get(app, standin, "dashboard/customer/", customerId="VXNlcjo3")
    assert f'data-agreement="{agreement.pk}"' in mine.text
    other = _get(app, standin, "dashboard/customer/", customerId="VXNlcjo4")
    assert "data-agreement=" not in other.text
    order = _get(app, standin, "dashboard/order/", orderId="T3JkZXI6MQ==")
    assert order.status_code == 200 and "data-agreement=" not in order.text


def test_manifest_declares_the_extensions(app):
    """Navigation page plus customer and order popups, HANDLE_PAYMENTS each."""
    manifest = requests.get(app + "manifest/", timeout=TIMEOUT).json()
    mounts = {ext["mount"]: ext for ext in manifest["extensions"]}
    assert set(mounts) == {
        "NAVIGATION_ORDERS",
        "CUSTOMER_DETAILS_MORE_ACTIONS",
        "ORDER_DETAILS_MORE_ACTIONS",
    }
    # Saleor refuses an absolute URL for APP_PAGE; the Dashboard joins it to appUrl.
    assert mounts["NAVIGATION_ORDERS"]["target"] == "APP_PAGE"
    assert mounts["NAVIGATION_ORDERS"]["url"] == "/"
    assert manifest["appUrl"] == app + "dashboard/"
    assert mounts["CUSTOMER_DETAILS_MORE_ACTIONS"]["url"] == app + "dashboard/customer/"
    for extension in manifest["extensions"]:
        assert set(extension["permissions"]) <= set(manifest["permissions"])
        url = extension_page_url(manifest["appUrl"], extension["url"])
        assert requests.get(url, timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("name", ["APP_INSTALL", "APP_INSTALLATIONS", "APP_EXTENSIONS"])
def test_real_saleor_documents_are_valid(name):
    """The Dashboard suite's documents against a real Saleor are valid for its schema."""
    from graphql import parse, validate

    from tests.saleor.test_dashboard_saleor import DOCUMENTS
    from tests.saleor_app.support import saleor_schema

    schema = saleor_schema(required=True)
    assert validate(schema, parse(DOCUMENTS[name])) == []


def test_installation_found_by_the_tokens_issuer(app, standin, agreement):
    """Without Saleor-Api-Url the token's iss names the installation (3.24 sets it)."""
    from okpay_gateway.contrib.saleor_app.models import Installation

    Installation.objects.create(saleor_api_url="https://other.example.com/graphql/")
    response = requests.get(
        app + "dashboard/",
        headers={"Authorization": f"Bearer {staff_token(standin)}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert "Alice Example" in response.text
    stranger = staff_token(standin, iss="https://nobody.example.com/graphql/")
    refused = requests.get(
        app + "dashboard/",
        headers={"Authorization": f"Bearer {stranger}"},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("origins", "errors"),
    [
        (None, []),
        (["https://dashboard.example.com", "http://127.0.0.1:9000"], []),
        (["https://dashboard.example.com/dashboard/"], ["okpay_saleor_app.E105"]),
        ("https://dashboard.example.com", ["okpay_saleor_app.E105"]),
    ],
)
def test_dashboard_origins_checked_at_startup(settings, origins, errors):
    """A DASHBOARD_ORIGINS that is not a list of origins is a system-check error."""
    from okpay_gateway.contrib.saleor_app.checks import check_app_settings

    settings.OKPAY_SALEOR_APP = {
        "APP_URL": "https://app.example.com/okpay-app/",
        "ALLOWED_SALEOR_URLS": ["https://shop.example.com/graphql/"],
        "DASHBOARD_ORIGINS": origins,
    }
    assert [error.id for error in check_app_settings()] == errors


def test_detail_lists_subscriptions_with_their_renewal_decisions(
    app, standin, agreement
):
    """Each subscription under the agreement shows its latest renewal decisions."""
    from okpay_gateway.models import RenewalDecision, RenewalRun, Subscription

    now = timezone.now()
    subscription = Subscription.objects.create(
        contract=agreement,
        title="Pro plan",
        amount=Decimal("19.00"),
        currency="USD",
        interval_unit="month",
        anchor=now - timedelta(days=40),
    )
    run = RenewalRun.objects.create(started_at=now, as_of=now)
    RenewalDecision.objects.create(
        run=run,
        subscription=subscription,
        period_index=1,
        outcome="skipped",
        reason="over_limit",
        amount=Decimal("19.00"),
        currency="USD",
        decided_at=now,
    )
    html = _get(app, standin, f"dashboard/agreements/{agreement.pk}/").text
    assert f'data-subscription="{subscription.pk}"' in html
    assert "Pro plan" in html and "over_limit" in html
