"""The merchant admin: agreements, payments and the IPN log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from okpay_gateway import payments
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.emulator.models import IpnMessage, Wallet
from okpay_gateway.emulator.models import Transaction as EmuTransaction
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    PaymentStatus,
    VerificationResult,
)
from okpay_gateway.provider.ipn import encode_ipn
from tests.payments.support import (
    CUSTOMER_WALLET,
    MERCHANT_API_PASSWORD,
    MERCHANT_WALLET,
    local_contract,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:okpay_gateway_contract_changelist"


def _contracts(*statuses: str) -> list[Contract]:
    return [
        local_contract(
            None,
            status=status,
            invoice=f"agr-{index}",
            title=f"Plan {index}",
            client_email=f"c{index}@example.com",
        )
        for index, status in enumerate(statuses)
    ]


def test_contract_changelist_counts_per_status_visible(admin_client, okpay_settings):
    """The list page shows how many agreements are active, failed, expired, canceled."""
    _contracts(
        ContractStatus.ACTIVE,
        ContractStatus.ACTIVE,
        ContractStatus.FAILED,
        ContractStatus.CANCELED,
        ContractStatus.PENDING,
    )
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert '<strong data-status="active">2</strong>' in html
    assert '<strong data-status="failed">1</strong>' in html
    assert '<strong data-status="expired">0</strong>' in html
    assert '<strong data-status="canceled">1</strong>' in html


def test_contract_changelist_search_and_filter_narrow_rows(admin_client, world):
    """Search by OKPAY id, e-mail or payment invoice and filter by status find the right rows."""
    seeded = local_contract(world, title="Seeded plan")
    others = _contracts(ContractStatus.FAILED, ContractStatus.ACTIVE)
    Payment.objects.create(
        invoice="pay-find-me",
        contract=others[1],
        amount=Decimal("1.00"),
        currency="USD",
    )
    url = reverse(CHANGELIST)

    def rows(params):
        return list(admin_client.get(url, params).context["cl"].result_list)

    assert rows({"q": str(world)}) == [seeded]
    assert rows({"q": "c0@example.com"}) == [others[0]]
    assert rows({"q": "pay-find-me"}) == [others[1]]
    assert set(rows({"status__exact": "active"})) == {seeded, others[1]}
    assert rows({"currency__exact": "EUR"}) == []


def test_contract_change_page_shows_ledger_and_live_operations(
    admin_client, world, okpay_settings
):
    """The detail page lists ledger rows and OKPAY's operations for the agreement."""
    contract = local_contract(world)
    payment = payments.charge_contract(
        contract,
        amount=Decimal("7.00"),
        invoice="inv-admin-1",
        okpay_settings=okpay_settings,
    )
    html = admin_client.get(
        reverse("admin:okpay_gateway_contract_change", args=[contract.pk])
    ).content.decode()
    assert "Payment history (ledger)" in html
    assert "Charge completed" in html
    assert "inv-admin-1" in html
    assert f"<td>{payment.okpay_txn_id}</td>" in html
    assert "Operations at OKPAY" in html
    assert "could not be fetched" not in html


def test_contract_change_page_operations_unavailable_shown_politely(
    admin_client, world
):
    """When OKPAY cannot list operations the page still renders with a short notice."""
    contract = local_contract(999999, invoice="agr-ghost")
    response = admin_client.get(
        reverse("admin:okpay_gateway_contract_change", args=[contract.pk])
    )
    assert response.status_code == 200
    assert "could not be fetched right now" in response.content.decode()


def test_contract_cancel_view_confirms_then_cancels_for_good(admin_client, world):
    """GET asks for confirmation; POST cancels the agreement at OKPAY and here."""
    contract = local_contract(world)
    url = reverse("admin:okpay_gateway_contract_cancel", args=[contract.pk])
    page = admin_client.get(url)
    assert "Canceling is final" in page.content.decode()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE

    response = admin_client.post(url, {"comment": "customer asked"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELED
    assert EmuContract.objects.get(id=world).status == "Canceled"


def test_contract_cancel_action_needs_confirmation(admin_client, world):
    """The list action shows a confirmation page first and cancels only when confirmed."""
    contract = local_contract(world)
    url = reverse(CHANGELIST)
    data = {"action": "cancel_contracts", ACTION_CHECKBOX_NAME: [contract.pk]}
    page = admin_client.post(url, data)
    assert "Yes, cancel for good" in page.content.decode()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    admin_client.post(url, {**data, "confirmed": "yes"})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELED


def test_contract_charge_form_charges_with_manual_invoice(admin_client, world):
    """The charge form moves the amount under a fresh manual-<pk>-... invoice."""
    contract = local_contract(world)
    url = reverse("admin:okpay_gateway_contract_charge", args=[contract.pk])
    assert "Charge now" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"amount": "12.50", "comment": "extra support"})
    assert response.status_code == 302
    payment = Payment.objects.get(contract=contract)
    assert payment.invoice.startswith(f"manual-{contract.pk}-")
    assert payment.status == PaymentStatus.COMPLETED
    assert payment.description == "extra support"
    assert EmuTransaction.objects.get(invoice=payment.invoice).amount == Decimal(
        "12.50"
    )


def test_contract_charge_form_rejects_non_positive_amount(admin_client, world):
    """A zero amount is a form error and nothing is charged."""
    contract = local_contract(world)
    url = reverse("admin:okpay_gateway_contract_charge", args=[contract.pk])
    response = admin_client.post(url, {"amount": "0"})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert not Payment.objects.exists()


def _stored_ipn() -> Notification:
    """An access_granted IPN OKPAY really sent, stored while verification failed."""
    agreement = operations.grant_contract(
        receiver=Wallet.objects.get(wallet_id=MERCHANT_WALLET),
        client=Wallet.objects.get(wallet_id=CUSTOMER_WALLET),
        title="Hosting",
        currency="USD",
        monthly_limit=Decimal("50.00"),
        invoice="agr-ipn-admin",
    )
    message = IpnMessage.objects.get(contract=agreement)
    return Notification.objects.create(
        body=encode_ipn([tuple(pair) for pair in message.fields]),
        content_type="application/x-www-form-urlencoded",
        headers={"User-Agent": "OKPAY", "Authorization": "Basic c2VjcmV0"},
        received_at=timezone.now(),
        state=NotificationState.RETRY,
        verification=VerificationResult.UNVERIFIABLE,
    )


def test_notification_reverify_action_verifies_stored_ipn(admin_client, world):
    """The re-verify action posts the stored IPN back to OKPAY and records VERIFIED."""
    notification = _stored_ipn()
    admin_client.post(
        reverse("admin:okpay_gateway_notification_changelist"),
        {"action": "reverify_notifications", ACTION_CHECKBOX_NAME: [notification.pk]},
    )
    notification.refresh_from_db()
    assert notification.verification == VerificationResult.VERIFIED
    assert notification.verify_attempts >= 1
    assert notification.state != NotificationState.RETRY


def test_notification_change_page_body_as_text_headers_masked(admin_client, world):
    """The IPN detail shows the body as text and hides credential headers."""
    notification = _stored_ipn()
    html = admin_client.get(
        reverse("admin:okpay_gateway_notification_change", args=[notification.pk])
    ).content.decode()
    assert "ok_p_event=access_granted" in html
    assert "Authorization: (hidden)" in html
    assert "c2VjcmV0" not in html


def test_admin_pages_never_show_api_password(admin_client, world, okpay_settings):
    """No admin page renders the API password."""
    contract = local_contract(world)
    payment = payments.charge_contract(
        contract,
        amount=Decimal("3.00"),
        invoice="inv-secret",
        okpay_settings=okpay_settings,
    )
    notification = _stored_ipn()
    urls = [
        reverse(CHANGELIST),
        reverse("admin:okpay_gateway_contract_change", args=[contract.pk]),
        reverse("admin:okpay_gateway_contract_charge", args=[contract.pk]),
        reverse("admin:okpay_gateway_payment_changelist"),
        reverse("admin:okpay_gateway_payment_change", args=[payment.pk]),
        reverse("admin:okpay_gateway_notification_changelist"),
        reverse("admin:okpay_gateway_notification_change", args=[notification.pk]),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert MERCHANT_API_PASSWORD not in response.content.decode(), url


def test_contract_changelist_shows_the_90_day_chart(admin_client, world):
    """The agreements list page carries the same SVG chart as the Dashboard pages."""
    contract = local_contract(world)
    Payment.objects.create(
        invoice="chart-1",
        contract=contract,
        amount=Decimal("4.00"),
        currency="USD",
        status=PaymentStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'class="okpay-chart"' in html
    assert 'class="completed"' in html
    assert 'data-currency="USD"' in html
