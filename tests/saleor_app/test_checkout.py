"""The Transactions API handlers over HTTP, against the emulator and the stand-in."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from django.core.management import call_command

from okpay_gateway.contrib.saleor_app.agreements import AGREEMENT_METADATA_KEY
from okpay_gateway.contrib.saleor_app.models import (
    CustomerAgreement,
    EventReport,
    Installation,
    OutboxStatus,
)
from okpay_gateway.emulator import ipn_sender
from okpay_gateway.emulator.models import Contract as EmuContract
from okpay_gateway.emulator.models import IpnMessage, Wallet
from okpay_gateway.emulator.models import Transaction as EmuTransaction
from okpay_gateway.models import Contract, ContractStatus, Payment, PaymentStatus
from tests.payments.support import CUSTOMER_WALLET, MERCHANT_WALLET, local_contract
from tests.saleor_app.support import (
    CHANNEL,
    USER_ID,
    action_event,
    approve_at_okpay,
    checkout,
    initialize_event,
    transaction,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

INIT = ("webhooks/transaction-initialize-session/", "TRANSACTION_INITIALIZE_SESSION")
PROCESS = ("webhooks/transaction-process-session/", "TRANSACTION_PROCESS_SESSION")
CHARGE = ("webhooks/transaction-charge-requested/", "TRANSACTION_CHARGE_REQUESTED")
REFUND = ("webhooks/transaction-refund-requested/", "TRANSACTION_REFUND_REQUESTED")
CANCEL = (
    "webhooks/transaction-cancelation-requested/",
    "TRANSACTION_CANCELATION_REQUESTED",
)
GATEWAY = (
    "webhooks/payment-gateway-initialize-session/",
    "PAYMENT_GATEWAY_INITIALIZE_SESSION",
)


def hook(standin, app, which, payload):
    path, event = which
    response = standin.send_webhook(app + path, event, payload)
    assert response.status_code == 200, response.text
    return response.json()


def first_purchase(standin, app, txn=None):
    txn = txn or transaction()
    answer = hook(standin, app, INIT, initialize_event(txn=txn))
    return txn, answer


def agreement_for_customer() -> Contract:
    """An active agreement this App already links to the Saleor customer."""
    okpay_id = EmuContract.objects.get(invoice="agr-seed-1").id
    contract = local_contract(okpay_id, channel=CHANNEL)
    CustomerAgreement.objects.create(
        installation=Installation.objects.get(),
        saleor_user_id=USER_ID,
        contract=contract,
        stored_on_customer=True,
    )
    return contract


def test_gateway_initialize_lists_currencies_and_agreements(app, installed, standin):
    answer = hook(
        standin,
        app,
        GATEWAY,
        {"data": None, "amount": "20.00", "sourceObject": checkout()},
    )
    assert answer["data"]["currencies"] == ["USD"]
    assert answer["data"]["agreements"] == []
    agreement_for_customer()
    answer = hook(
        standin,
        app,
        GATEWAY,
        {"data": None, "amount": "20.00", "sourceObject": checkout()},
    )
    assert answer["data"]["agreements"] == [{"currency": "USD", "title": "Hosting"}]


def test_first_purchase_answers_action_required_with_approval_link(
    app, installed, standin
):
    """No agreement: CHARGE_ACTION_REQUIRED, the OKPAY link in data, nothing charged."""
    txn, answer = first_purchase(standin, app)
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"
    assert answer["amount"] == "20.00"
    assert answer["pspReference"] == f"saleor-app-{txn['token']}"
    fields = answer["data"]["fields"]
    assert answer["data"]["redirectUrl"].startswith("http://okpay.emulator/")
    assert fields["ok_receiver"] == MERCHANT_WALLET
    assert fields["ok_kind"] == "preapproved"
    assert fields["ok_currency"] == "USD"
    assert fields["ok_ipn"] == f"{app}ipn/{CHANNEL}/"
    assert fields["ok_return_success"].startswith(
        app + "return/?invoice=saleor-app-agr-"
    )
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.ACTION_REQUIRED
    assert payment.contract.status == ContractStatus.PENDING
    assert CustomerAgreement.objects.get().saleor_user_id == USER_ID
    assert not EmuTransaction.objects.filter(invoice=payment.invoice).exists()


def test_ipn_then_return_reports_charge_once(app, installed, standin):
    """Approval → IPN charges and reports; the return and process add no report."""
    txn, answer = first_purchase(standin, app)
    granted = approve_at_okpay(answer["data"]["fields"])
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.COMPLETED
    assert len(standin.reports) == 1
    report = standin.reports[0]
    assert report == {
        "id": txn["id"],
        "type": "CHARGE_SUCCESS",
        "amount": "20.00",
        "pspReference": str(payment.okpay_txn_id),
        "message": None,
    }
    assert standin.metadata[USER_ID] == {AGREEMENT_METADATA_KEY: str(granted.id)}

    back = requests.get(
        answer["data"]["fields"]["ok_return_success"], allow_redirects=False, timeout=30
    )
    assert back.status_code == 302
    assert back.headers["Location"] == "https://shop.example.com/checkout/done"
    processed = hook(standin, app, PROCESS, {"transaction": txn, "data": None})
    assert processed["result"] == "CHARGE_SUCCESS"
    assert processed["pspReference"] == str(payment.okpay_txn_id)
    assert len(standin.reports) == 1
    assert EmuTransaction.objects.filter(invoice=payment.invoice).count() == 1


def test_return_before_ipn_reports_once_and_late_ipn_adds_nothing(
    app, installed, standin, settings
):
    """The customer is back first (IPN delayed): one report; the late IPN, none."""
    settings.OKPAY_EMULATOR = {**settings.OKPAY_EMULATOR, "IPN_DELIVERY": "manual"}
    txn, answer = first_purchase(standin, app)
    approve_at_okpay(answer["data"]["fields"])
    assert standin.reports == []
    back = requests.get(
        answer["data"]["fields"]["ok_return_success"], allow_redirects=False, timeout=30
    )
    assert back.status_code == 302
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.COMPLETED
    assert [(r["id"], r["type"]) for r in standin.reports] == [
        (txn["id"], "CHARGE_SUCCESS")
    ]

    assert IpnMessage.objects.exists()
    for message in IpnMessage.objects.all():
        ipn_sender.resend(message)
    assert len(standin.reports) == 1
    assert EmuTransaction.objects.filter(invoice=payment.invoice).count() == 1
    assert EventReport.objects.get().status == OutboxStatus.DELIVERED


def test_report_retried_after_saleor_was_down_without_charging_again(
    app, installed, standin
):
    """Saleor down at IPN time: the report waits, the retry delivers it, one charge."""
    txn, answer = first_purchase(standin, app)
    standin.down = True
    approve_at_okpay(answer["data"]["fields"])
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.COMPLETED
    pending = EventReport.objects.get()
    assert pending.status == OutboxStatus.PENDING
    assert pending.attempts == 1
    assert standin.reports == []

    with pytest.raises(SystemExit):
        call_command("okpay_saleor_app_retry")  # still down: non-zero exit
    standin.down = False
    from okpay_gateway.contrib.saleor_app import tasks

    assert tasks.deliver().startswith("reports delivered 1, pending 0")
    call_command("okpay_saleor_app_retry")
    assert [(r["id"], r["type"]) for r in standin.reports] == [
        (txn["id"], "CHARGE_SUCCESS")
    ]
    assert EventReport.objects.get().status == OutboxStatus.DELIVERED
    assert EmuTransaction.objects.filter(invoice=payment.invoice).count() == 1
    # The agreement reached the customer's metadata on the retry too.
    assert AGREEMENT_METADATA_KEY in standin.metadata[USER_ID]


def test_repeat_purchase_is_charged_at_once(app, installed, standin):
    """Active agreement: CHARGE_SUCCESS with OKPAY's transaction id, no report call."""
    agreement_for_customer()
    txn = transaction()
    answer = hook(standin, app, INIT, initialize_event(txn=txn, amount="12.50"))
    payment = Payment.objects.get()
    assert answer == {
        "amount": "12.50",
        "pspReference": str(payment.okpay_txn_id),
        "result": "CHARGE_SUCCESS",
    }
    assert payment.status == PaymentStatus.COMPLETED
    emu = EmuTransaction.objects.get(invoice=payment.invoice)
    assert emu.id == payment.okpay_txn_id
    # Saleor sends the webhook again: the same answer, no second charge.
    again = hook(standin, app, INIT, initialize_event(txn=txn, amount="12.50"))
    assert again == answer
    assert EmuTransaction.objects.filter(invoice=payment.invoice).count() == 1
    assert standin.reports == []


def test_repeat_purchase_declined_answers_charge_failure(app, installed, standin):
    agreement_for_customer()
    Wallet.objects.get(wallet_id=CUSTOMER_WALLET).balances.update(
        amount=Decimal("1.00")
    )
    answer = hook(standin, app, INIT, initialize_event(amount="50.00"))
    assert answer["result"] == "CHARGE_FAILURE"
    assert answer["message"]
    assert Payment.objects.get().status == PaymentStatus.DECLINED


def test_plugin_agreement_is_adopted_from_customer_metadata(app, installed, standin):
    """Moving from the plugin: the same Contract row, found by the customer's metadata."""
    okpay_id = EmuContract.objects.get(invoice="agr-seed-1").id
    contract = local_contract(okpay_id, channel=CHANNEL)
    source = checkout(metadata={AGREEMENT_METADATA_KEY: str(okpay_id)})
    answer = hook(standin, app, INIT, initialize_event(source=source))
    assert answer["result"] == "CHARGE_SUCCESS"
    assert Payment.objects.get().contract == contract
    assert CustomerAgreement.objects.get(contract=contract).saleor_user_id == USER_ID


def test_metadata_key_is_the_plugins(app):
    """Both routes read and write the same customer metadata key."""
    from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
    from okpay_gateway.host.customer import prepare_key_for_gateway_customer_id

    assert prepare_key_for_gateway_customer_id(PLUGIN_ID) == AGREEMENT_METADATA_KEY


def test_refund_sends_money_back(app, installed, standin):
    agreement_for_customer()
    txn = transaction()
    charged = hook(standin, app, INIT, initialize_event(txn=txn))
    before = (
        Wallet.objects.get(wallet_id=CUSTOMER_WALLET)
        .balances.get(currency="USD")
        .amount
    )
    answer = hook(
        standin,
        app,
        REFUND,
        action_event({**txn, "pspReference": charged["pspReference"]}, "5.00"),
    )
    assert answer["result"] == "REFUND_SUCCESS"
    assert answer["amount"] == "5.00"
    refund = EmuTransaction.objects.get(id=int(answer["pspReference"]))
    assert refund.amount == Decimal("5.00")
    after = (
        Wallet.objects.get(wallet_id=CUSTOMER_WALLET)
        .balances.get(currency="USD")
        .amount
    )
    assert after - before == Decimal("5.00")
    assert Payment.objects.get().status == PaymentStatus.PARTIALLY_REFUNDED
    too_much = hook(standin, app, REFUND, action_event(txn, "50.00"))
    assert too_much["result"] == "REFUND_FAILURE"


def test_cancel_before_approval_and_after_charge(app, installed, standin):
    txn, _ = first_purchase(standin, app)
    answer = hook(standin, app, CANCEL, action_event(txn, "20.00"))
    assert answer["result"] == "CANCEL_SUCCESS"
    assert Payment.objects.get().status == PaymentStatus.CANCELED

    agreement_for_customer()
    charged_txn = transaction()
    hook(standin, app, INIT, initialize_event(txn=charged_txn))
    refused = hook(standin, app, CANCEL, action_event(charged_txn, "20.00"))
    assert refused["result"] == "CANCEL_FAILURE"


def test_authorize_then_charge(app, installed, standin):
    """AUTHORIZATION channels: recorded first, charged on TRANSACTION_CHARGE_REQUESTED."""
    agreement_for_customer()
    txn = transaction()
    answer = hook(
        standin, app, INIT, initialize_event(txn=txn, action_type="AUTHORIZATION")
    )
    assert answer["result"] == "AUTHORIZATION_SUCCESS"
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PENDING
    assert not EmuTransaction.objects.filter(invoice=payment.invoice).exists()
    charged = hook(standin, app, CHARGE, action_event(txn, "20.00"))
    payment.refresh_from_db()
    assert charged == {
        "amount": "20.00",
        "pspReference": str(payment.okpay_txn_id),
        "result": "CHARGE_SUCCESS",
    }
    assert EmuTransaction.objects.filter(invoice=payment.invoice).count() == 1


def test_actions_on_unknown_transaction_fail_cleanly(app, installed, standin):
    answer = hook(standin, app, REFUND, action_event(transaction(), "5.00"))
    assert answer["result"] == "REFUND_FAILURE"


def test_bad_payload_is_400_and_changes_nothing(app, installed, standin):
    path, event = INIT
    response = standin.send_webhook(app + path, event, {"action": {"amount": "x"}})
    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_declined_agreement_reports_charge_failure_once(app, installed, standin):
    """The customer refuses at OKPAY: the IPN alone makes Saleor hear CHARGE_FAILURE."""
    txn, answer = first_purchase(standin, app)
    approve_at_okpay(answer["data"]["fields"], status="Failed")
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.DECLINED
    assert [(r["id"], r["type"]) for r in standin.reports] == [
        (txn["id"], "CHARGE_FAILURE")
    ]
    processed = hook(standin, app, PROCESS, {"transaction": txn, "data": None})
    assert processed["result"] == "CHARGE_FAILURE"
    assert len(standin.reports) == 1
