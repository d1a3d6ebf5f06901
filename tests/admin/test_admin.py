"""The merchant admin: agreements, payments and the IPN log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from okpay_gateway import payments
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.emulator.models import IpnMessage, Wallet
from okpay_gateway.models import (
    ConfigurationAlert,
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    PaymentStatus,
    RenewalRun,
    VerificationState,
)
from okpay_gateway.provider.ipn import encode_ipn
from tests.okpay_ledger import charges
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
    # The charge's row carries OKPAY's time of it, the clock of the operations.
    txn = charges("inv-admin-1").get()
    assert (
        f'<td class="okpay-ledger__okpay-date">{txn.created_at:%Y-%m-%d %H:%M:%S}</td>'
        in html
    )


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
    assert charges(payment.invoice).get().amount == Decimal("12.50")


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
        verification=VerificationState.UNVERIFIABLE,
    )


def test_notification_reverify_action_verifies_stored_ipn(admin_client, world):
    """The re-verify action posts the stored IPN back to OKPAY and records VERIFIED."""
    notification = _stored_ipn()
    admin_client.post(
        reverse("admin:okpay_gateway_notification_changelist"),
        {"action": "reverify_notifications", ACTION_CHECKBOX_NAME: [notification.pk]},
    )
    notification.refresh_from_db()
    assert notification.verification == VerificationState.VERIFIED
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


@pytest.mark.parametrize("action", ["cancel", "charge"])
@pytest.mark.parametrize("object_id", ["abc", "1%00", "4242.0", "99999"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_contract_action_pages_unknown_or_malformed_id_is_not_found(
    admin_client, okpay_settings, action, object_id, method
):
    """Cancel and charge pages answer 404, not 500, for ids that are not agreements."""
    local_contract(None, status=ContractStatus.ACTIVE, invoice="agr-present")
    url = f"/admin/okpay_gateway/contract/{object_id}/{action}/"
    response = getattr(admin_client, method)(url)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "status",
    [ContractStatus.CANCELED, ContractStatus.EXPIRED, ContractStatus.FAILED],
)
def test_contract_cancel_and_charge_not_offered_for_closed_agreement(
    admin_client, okpay_settings, status
):
    """A closed agreement gets no cancel confirmation or charge form, only a notice."""
    contract = local_contract(None, status=status, invoice="agr-closed")
    change_url = reverse("admin:okpay_gateway_contract_change", args=[contract.pk])
    for name in ("cancel", "charge"):
        url = reverse(f"admin:okpay_gateway_contract_{name}", args=[contract.pk])
        response = admin_client.get(url, follow=True)
        html = response.content.decode()
        assert response.redirect_chain == [(change_url, 302)], name
        assert "Yes, cancel for good" not in html
        assert "Charge now" not in html
        assert "is closed" in html
    change_page = admin_client.get(change_url).content.decode()
    assert "Cancel agreement" not in change_page
    assert not Payment.objects.exists()


def test_contract_cancel_action_only_closed_selected_offers_nothing(
    admin_client, okpay_settings
):
    """Selecting only closed agreements says so instead of asking to confirm."""
    contract = local_contract(None, status=ContractStatus.CANCELED, invoice="agr-x")
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "cancel_contracts", ACTION_CHECKBOX_NAME: [contract.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Yes, cancel for good" not in html
    assert "None of the selected agreements is open" in html


def test_read_only_change_pages_have_no_save_buttons(
    admin_client, world, okpay_settings
):
    """Agreement, payment, IPN and renewal-run pages only show: no SAVE buttons."""
    contract = local_contract(world)
    payment = payments.charge_contract(
        contract,
        amount=Decimal("2.00"),
        invoice="inv-ro",
        okpay_settings=okpay_settings,
    )
    notification = _stored_ipn()
    urls = [
        reverse("admin:okpay_gateway_contract_change", args=[contract.pk]),
        reverse("admin:okpay_gateway_payment_change", args=[payment.pk]),
        reverse("admin:okpay_gateway_notification_change", args=[notification.pk]),
    ]
    run = RenewalRun.objects.create(started_at=timezone.now(), as_of=timezone.now())
    urls.append(reverse("admin:okpay_gateway_renewalrun_change", args=[run.pk]))
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'name="_save"' not in html, url
        assert 'name="_continue"' not in html, url
        assert 'name="_addanother"' not in html, url


def test_configuration_alert_flagged_on_agreements_page_until_resolved(
    admin_client, world, okpay_settings
):
    """A refused API password shows as a flag on the agreements list until resolved."""
    from okpay_gateway import alerts
    from okpay_gateway.exceptions import AuthenticationFailed

    for _ in range(3):
        alerts.configuration_failed(
            channel="shop-eu",
            exc=AuthenticationFailed(fault_code="Authentication_Failed"),
        )
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'data-alert="authentication_failed"' in html
    assert "channel shop-eu" in html
    assert "Seen 3 times" in html

    alert_list = reverse("admin:okpay_gateway_configurationalert_changelist")
    admin_client.post(
        alert_list,
        {
            "action": "resolve_alerts",
            ACTION_CHECKBOX_NAME: list(
                ConfigurationAlert.objects.values_list("pk", flat=True)
            ),
        },
    )
    assert (
        "okpay-configuration-alert"
        not in admin_client.get(reverse(CHANGELIST)).content.decode()
    )


def test_notification_binary_body_shown_escaped_with_hex_not_mojibake(
    admin_client, okpay_settings
):
    """A body that is not UTF-8 text is shown escaped and as hex, never mangled."""
    body = b"ok_txn_id=1&junk=\xff\xfe\x00\x9c\xe2\x82"
    notification = Notification.objects.create(
        body=body,
        content_type="application/octet-stream",
        headers={},
        received_at=timezone.now(),
        state=NotificationState.MALFORMED,
    )
    html = admin_client.get(
        reverse("admin:okpay_gateway_notification_change", args=[notification.pk])
    ).content.decode()
    assert "\ufffd" not in html
    assert f"Not text: {len(body)} bytes, shown escaped." in html
    assert "junk=\\xff\\xfe\\x00\\x9c\\xe2\\x82" in html
    assert "ff fe 00 9c e2 82" in html


def test_contract_change_page_available_amount_current_after_charges(
    admin_client, world, okpay_settings
):
    """After charges the page shows what OKPAY says is left, not the last sync's copy."""
    contract = local_contract(world, available_amount=Decimal("300.00"))
    url = reverse("admin:okpay_gateway_contract_change", args=[contract.pk])
    admin_client.post(
        reverse("admin:okpay_gateway_contract_charge", args=[contract.pk]),
        {"amount": "12.50"},
    )
    payments.charge_contract(
        contract,
        amount=Decimal("7.50"),
        invoice="inv-avail",
        okpay_settings=okpay_settings,
    )
    response = admin_client.get(url)
    field = response.context["adminform"].form.instance.available_amount
    assert field == Decimal("280.00")
    assert "280.00" in response.content.decode()


def test_suspended_subscription_page_explains_and_offers_actions(
    admin_client, world, okpay_settings
):
    """A suspended subscription says why, what happens next and what the merchant can do."""
    from okpay_gateway.models import ChargeAttempt, Subscription

    contract = local_contract(world)
    now = timezone.now()
    subscription = Subscription.objects.create(
        contract=contract,
        email="alice@example.com",
        title="Hosting",
        amount=Decimal("9.00"),
        currency="USD",
        interval_unit="month",
        anchor=now,
        period_index=2,
        status="suspended",
        consecutive_failures=3,
        suspended_at=now,
        next_charge_at=now + timedelta(days=7),
    )
    ChargeAttempt.objects.create(
        subscription=subscription,
        period_index=2,
        invoice=f"{subscription.pk}-2",
        amount=Decimal("9.00"),
        currency="USD",
        status="declined",
        decline_code="insufficient_funds",
    )
    html = admin_client.get(
        reverse("admin:okpay_gateway_subscription_change", args=[subscription.pk])
    ).content.decode()
    assert "after 3 failed renewal charge(s)" in html
    assert "The OKPAY wallet does not hold enough money." in html
    assert f"canceled on {subscription.next_charge_at:%Y-%m-%d %H:%M} UTC" in html
    assert "mailto:alice@example.com" in html
    assert "Cancel selected subscriptions" in html

    admin_client.post(
        reverse("admin:okpay_gateway_subscription_changelist"),
        {"action": "cancel_subscriptions", ACTION_CHECKBOX_NAME: [subscription.pk]},
    )
    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert subscription.end_reason == "merchant"
