"""The first charge after an approval is refused: the shopper's way out, the merchant's alarm.

Through the plugin on the standalone host against the in-process emulator:
the customer lowers the limit below the first payment, the wallet is short,
or the shop's API password is wrong.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from okpay_gateway import signals
from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Balance, Wallet
from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.emulator.models import Transaction as EmuTransaction
from okpay_gateway.host.payment import TransactionKind
from okpay_gateway.models import (
    ConfigurationAlert,
    Contract,
    ContractStatus,
    Payment,
    PaymentStatus,
)
from tests.contrib.support import (
    CHANNEL,
    WEBHOOK,
    configure_plugin,
    manager,
    payment_data,
    plugin_configuration,
)
from tests.payments.support import CUSTOMER_WALLET, MERCHANT_WALLET

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.contrib.urls")]

LIMIT_MESSAGE = (
    "OKPAY refused the payment because it is more than a limit set on your OKPAY "
    "agreement. Nothing was charged. Approve a new agreement with a limit that "
    "covers this payment."
)
SHOP_SIDE_MESSAGE = (
    "The shop cannot take OKPAY payments at the moment because of a problem with "
    "its own OKPAY settings; the shop has been told. Nothing was charged. Please "
    "try again later."
)


def _approve(fields: dict[str, str], *, monthly_limit: str | None = None):
    """The customer approves on OKPAY's page, maybe lowering the monthly limit."""
    return operations.grant_contract(
        receiver=Wallet.objects.get(wallet_id=MERCHANT_WALLET),
        client=Wallet.objects.get(wallet_id=CUSTOMER_WALLET),
        title=fields["ok_p_title"],
        currency=fields["ok_currency"],
        monthly_limit=Decimal(monthly_limit or fields["ok_p_monthly_amount"]),
        invoice=fields["ok_invoice"],
        ipn_url=fields["ok_ipn"],
    )


def _start_and_approve(
    customer, capture, *, payment_id: int = 42, data=None, **approval
):
    first = manager().process_payment(
        PLUGIN_ID,
        _with_data(payment_data(user=customer, payment_id=payment_id), data),
        CHANNEL,
    )
    assert first.kind == TransactionKind.ACTION_TO_CONFIRM
    with capture(execute=True):
        agreement = _approve(first.action_required_data["fields"], **approval)
    return first, agreement


def _with_data(information, data):
    information.data = data or {}
    return information


def _confirm(customer, first, payment_id: int = 42):
    return manager().confirm_payment(
        PLUGIN_ID,
        payment_data(user=customer, payment_id=payment_id, token=first.transaction_id),
        CHANNEL,
    )


def test_lowered_limit_first_charge_tells_shopper_and_offers_new_agreement(
    world, customer, django_capture_on_commit_callbacks
):
    """Limit lowered below the first payment: the shopper is told why and can approve anew.

    Paying again with ``okpay_new_agreement`` cancels the agreement that cannot
    pay at OKPAY and hands out a link for a new one, whose approval pays.
    """
    configure_plugin()
    first, lowered = _start_and_approve(
        customer, django_capture_on_commit_callbacks, monthly_limit="5.00"
    )
    payment = Payment.objects.get(invoice="pay-42")
    assert payment.status == PaymentStatus.DECLINED
    assert payment.decline_code == "limit_exceeded"

    confirmed = _confirm(customer, first)
    assert confirmed.is_success is False
    assert confirmed.error == LIMIT_MESSAGE
    assert confirmed.raw_response["okpay_new_agreement"] == "true"

    # Without asking for a new agreement the same agreement refuses again.
    again = manager().process_payment(
        PLUGIN_ID, payment_data(user=customer, payment_id=43), CHANNEL
    )
    assert again.is_success is False
    assert again.error == LIMIT_MESSAGE

    renewed = manager().process_payment(
        PLUGIN_ID,
        _with_data(
            payment_data(user=customer, payment_id=44), {"okpay_new_agreement": True}
        ),
        CHANNEL,
    )
    assert renewed.is_success is True
    assert renewed.kind == TransactionKind.ACTION_TO_CONFIRM
    assert renewed.action_required_data["fields"]["ok_invoice"] == "agr-44"
    assert EmuContract.objects.get(id=lowered.id).status == "Canceled"
    assert Contract.objects.get(okpay_id=lowered.id).status == ContractStatus.CANCELED

    with django_capture_on_commit_callbacks(execute=True):
        _approve(renewed.action_required_data["fields"])
    assert Payment.objects.get(invoice="pay-44").status == PaymentStatus.COMPLETED
    assert EmuTransaction.objects.filter(invoice="pay-44").count() == 1
    assert not EmuTransaction.objects.filter(invoice__in=["pay-42", "pay-43"]).exists()


def test_new_agreement_request_never_cancels_an_agreement_that_paid(
    world, customer, django_capture_on_commit_callbacks
):
    """An agreement that paid before is kept; the request just charges it."""
    configure_plugin()
    _, agreement = _start_and_approve(customer, django_capture_on_commit_callbacks)
    assert Payment.objects.get(invoice="pay-42").status == PaymentStatus.COMPLETED
    response = manager().process_payment(
        PLUGIN_ID,
        _with_data(
            payment_data(user=customer, payment_id=43, amount="400.00"),
            {"okpay_new_agreement": True},
        ),
        CHANNEL,
    )
    assert response.is_success is False
    assert response.raw_response["okpay_new_agreement"] == "false"
    assert EmuContract.objects.get(id=agreement.id).status == "Active"


def test_short_wallet_first_charge_offers_top_up_or_new_agreement(
    world, customer, django_capture_on_commit_callbacks
):
    """A wallet too short for the first payment: top up and retry, or a new agreement."""
    configure_plugin()
    Balance.objects.filter(wallet__wallet_id=CUSTOMER_WALLET, currency="USD").update(
        amount=Decimal("3.00")
    )
    first, _ = _start_and_approve(customer, django_capture_on_commit_callbacks)
    assert Payment.objects.get(invoice="pay-42").decline_code == "insufficient_funds"
    confirmed = _confirm(customer, first)
    assert confirmed.is_success is False
    assert confirmed.error == (
        "Your OKPAY wallet does not hold enough money for this payment. Nothing was "
        "charged. Top up the wallet and try again, or approve a new agreement from "
        "another wallet."
    )
    assert confirmed.raw_response == {
        "okpay_error": "insufficient_funds",
        "okpay_new_agreement": "true",
        "okpay_retry": "true",
    }


@pytest.fixture
def configuration_signals():
    received = []

    def receiver(sender, alert, **kwargs):
        received.append(alert)

    signals.configuration_failed.connect(receiver)
    yield received
    signals.configuration_failed.disconnect(receiver)


def test_wrong_api_password_is_loud_for_merchant_once_and_plain_for_shopper(
    world, customer, django_capture_on_commit_callbacks, caplog, configuration_signals
):
    """Authentication_Failed on the first charge: one alert, one ERROR, one signal.

    The shopper hears that the shop has a problem and nothing was charged; no
    new agreement is offered (it would fail the same way). Every later
    failure only counts on the open alert. Saving the right password, with
    the credentials check on by default, resolves it.
    """
    configure_plugin(api_password="not-the-api-password")
    caplog.set_level(logging.ERROR, logger="okpay_gateway")
    first, _ = _start_and_approve(customer, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(invoice="pay-42")
    assert payment.status == PaymentStatus.PENDING
    assert payment.decline_code == "authentication_failed"

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = _confirm(customer, first)
        again = _confirm(customer, first)
    for response in (confirmed, again):
        assert response.is_success is False
        assert response.error == SHOP_SIDE_MESSAGE
        assert response.raw_response["okpay_new_agreement"] == "false"

    alert = ConfigurationAlert.objects.get()
    assert alert.channel == CHANNEL
    assert alert.code == "authentication_failed"
    assert alert.occurrences == 3
    assert alert.resolved_at is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "Authentication_Failed" in errors[0].getMessage()
    assert "not-the-api-password" not in caplog.text
    assert configuration_signals == [alert]
    assert not EmuTransaction.objects.filter(invoice="pay-42").exists()

    manager().save_plugin_configuration(
        PLUGIN_ID,
        CHANNEL,
        {"active": True, "configuration": plugin_configuration()},
    )
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_saving_configuration_checks_credentials_by_default(world):
    """Without a check_credentials value, saving a wrong API password is refused."""
    configuration = [
        item
        for item in plugin_configuration(api_password="wrong-password")
        if item["name"] != "check_credentials"
    ]
    with pytest.raises(ValidationError) as info:
        manager().save_plugin_configuration(
            PLUGIN_ID, CHANNEL, {"active": True, "configuration": configuration}
        )
    assert "api_password" in info.value.error_dict


def test_return_page_declined_first_charge_explains_in_template(
    world, client, customer, django_capture_on_commit_callbacks
):
    """Back from OKPAY without a shop return URL: a styled page with the reason."""
    configure_plugin()
    _start_and_approve(
        customer, django_capture_on_commit_callbacks, monthly_limit="5.00"
    )
    response = client.get(WEBHOOK + "return/?invoice=agr-42")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="declined"' in html
    assert "<style>" in html
    assert "more than a limit set on your OKPAY agreement" in html
    assert "replace the agreement with a new one" in html


def test_return_page_unknown_payment_is_a_styled_page(world, client):
    """An invoice the shop does not know gets the template, not bare HTML."""
    configure_plugin()
    response = client.get(WEBHOOK + "return/?invoice=agr-nobody")
    html = response.content.decode()
    assert 'data-state="unknown"' in html
    assert "<style>" in html
    assert "We could not find this payment" in html
    assert "<title>Payment not found · OKPAY</title>" in html
