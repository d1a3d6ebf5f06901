"""OkPayGatewayPlugin on the standalone host, against the in-process emulator."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
from okpay_gateway.emulator import operations
from okpay_gateway.emulator.models import Wallet
from okpay_gateway.host.customer import fetch_customer_id
from okpay_gateway.host.payment import TransactionKind
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    Payment,
    PaymentStatus,
)
from tests.contrib.support import (
    CHANNEL,
    SHOP_URL,
    WEBHOOK,
    configure_plugin,
    manager,
    payment_data,
    plugin_configuration,
)
from tests.okpay_ledger import charges, transactions
from tests.payments.support import CUSTOMER_WALLET, MERCHANT_WALLET

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.contrib.urls")]


def _approve_at_okpay(fields: dict[str, str], *, notify: bool = True):
    """The customer approves the agreement on OKPAY's page (emulator operation)."""
    return operations.grant_contract(
        receiver=Wallet.objects.get(wallet_id=MERCHANT_WALLET),
        client=Wallet.objects.get(wallet_id=CUSTOMER_WALLET),
        title=fields["ok_p_title"],
        currency=fields["ok_currency"],
        monthly_limit=Decimal(fields["ok_p_monthly_amount"]),
        invoice=fields["ok_invoice"],
        ipn_url=fields["ok_ipn"],
        notify=notify,
    )


def test_process_payment_without_contract_returns_action_to_confirm_link(
    world, customer
):
    """No agreement yet: ACTION_TO_CONFIRM with an OKPAY approval link for this payment."""
    configure_plugin()
    response = manager().process_payment(
        PLUGIN_ID, payment_data(user=customer), CHANNEL
    )
    assert response.is_success is True
    assert response.action_required is True
    assert response.kind == TransactionKind.ACTION_TO_CONFIRM
    assert response.transaction_id == "pay-42"
    data = response.action_required_data
    fields = data["fields"]
    assert data["method"] == "GET"
    assert fields["ok_receiver"] == MERCHANT_WALLET
    assert fields["ok_kind"] == "preapproved"
    assert fields["ok_p_title"] == "Example Shop subscription"
    assert fields["ok_currency"] == "USD"
    assert fields["ok_p_monthly_amount"] == "300.00"
    assert fields["ok_invoice"] == "agr-42"
    assert fields["ok_ipn"] == f"{SHOP_URL}{WEBHOOK}ipn/"
    assert fields["ok_return_success"] == f"{SHOP_URL}{WEBHOOK}return/?invoice=agr-42"
    assert fields["ok_return_fail"] == f"{SHOP_URL}{WEBHOOK}cancel/?invoice=agr-42"
    assert fields["ok_payer_email"] == "alice@example.com"
    query = parse_qs(urlsplit(data["redirect_url"]).query)
    assert query["ok_invoice"] == ["agr-42"]
    payment = Payment.objects.get(invoice="pay-42")
    assert payment.status == PaymentStatus.ACTION_REQUIRED
    assert payment.contract.status == ContractStatus.PENDING
    assert payment.contract.customer == customer


def test_confirm_payment_after_ipn_returns_recorded_capture(
    world, customer, django_capture_on_commit_callbacks
):
    """Approval → IPN grants and charges → confirm_payment reuses the capture."""
    configure_plugin()
    first = manager().process_payment(PLUGIN_ID, payment_data(user=customer), CHANNEL)
    # IPNs are delivered (and grants charged) after commit, as in production.
    with django_capture_on_commit_callbacks(execute=True):
        granted = _approve_at_okpay(first.action_required_data["fields"])

    payment = Payment.objects.get(invoice="pay-42")
    assert payment.status == PaymentStatus.COMPLETED
    assert charges("pay-42").count() == 1
    assert Notification.objects.filter(channel=CHANNEL).count() == 2
    assert fetch_customer_id(customer, PLUGIN_ID) == str(granted.id)

    confirmed = manager().confirm_payment(
        PLUGIN_ID, payment_data(user=customer, token=first.transaction_id), CHANNEL
    )
    assert confirmed.is_success is True
    assert confirmed.kind == TransactionKind.CAPTURE
    assert confirmed.transaction_already_processed is True
    assert confirmed.customer_id == str(granted.id)
    assert confirmed.psp_reference == str(payment.okpay_txn_id)
    assert confirmed.payment_method_info.brand == "okpay"


def test_confirm_payment_ipn_lost_asks_okpay_and_captures_once(world, customer):
    """Without any IPN the confirm call asks OKPAY, grants, charges and captures once."""
    configure_plugin()
    first = manager().process_payment(PLUGIN_ID, payment_data(user=customer), CHANNEL)
    _approve_at_okpay(first.action_required_data["fields"], notify=False)
    data = payment_data(user=customer, token=first.transaction_id)
    confirmed = manager().confirm_payment(PLUGIN_ID, data, CHANNEL)
    again = manager().confirm_payment(PLUGIN_ID, data, CHANNEL)
    assert confirmed.kind == TransactionKind.CAPTURE
    assert confirmed.is_success is True
    assert again.transaction_already_processed is True
    assert charges("pay-42").count() == 1


def test_confirm_payment_after_declined_approval_says_not_approved(
    world, customer, django_capture_on_commit_callbacks
):
    """The customer declined at OKPAY: told the agreement was not approved, nothing charged."""
    configure_plugin()
    first = manager().process_payment(PLUGIN_ID, payment_data(user=customer), CHANNEL)
    fields = first.action_required_data["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        operations.grant_contract(
            receiver=Wallet.objects.get(wallet_id=MERCHANT_WALLET),
            client=Wallet.objects.get(wallet_id=CUSTOMER_WALLET),
            title=fields["ok_p_title"],
            currency=fields["ok_currency"],
            monthly_limit=Decimal(fields["ok_p_monthly_amount"]),
            invoice=fields["ok_invoice"],
            ipn_url=fields["ok_ipn"],
            status="Failed",
        )
    assert Contract.objects.get(invoice="agr-42").status == ContractStatus.FAILED

    confirmed = manager().confirm_payment(
        PLUGIN_ID, payment_data(user=customer, token=first.transaction_id), CHANNEL
    )
    assert confirmed.is_success is False
    assert confirmed.error == (
        "You did not approve the OKPAY agreement, so nothing was charged."
    )
    assert Payment.objects.get(invoice="pay-42").status == PaymentStatus.DECLINED
    assert not transactions("pay-42").exists()


def test_api_password_is_hidden_completely_when_shown(world):
    """The API password is a PASSWORD field: shown as "" (set) with no character of it."""
    from okpay_gateway.host.masking import masked_configuration

    configure_plugin(api_password="MyApiPass")
    plugin = manager().get_plugin(PLUGIN_ID, CHANNEL)
    shown = {item["name"]: item["value"] for item in masked_configuration(plugin)}
    assert shown["api_password"] == ""
    assert shown["wallet_id"] == MERCHANT_WALLET
    assert plugin.CONFIG_STRUCTURE["api_password"]["type"] == "Password"


def test_process_payment_with_active_contract_captures_at_once(world, customer):
    """A returning customer with an active agreement is charged without a redirect."""
    configure_plugin()
    contract = Contract.objects.create(
        okpay_id=world,
        customer=customer,
        channel=CHANNEL,
        receiver_wallet=MERCHANT_WALLET,
        client_wallet=CUSTOMER_WALLET,
        title="Hosting",
        currency="USD",
        monthly_amount=Decimal("300.00"),
        status=ContractStatus.ACTIVE,
        invoice="agr-seed-1",
    )
    response = manager().process_payment(
        PLUGIN_ID, payment_data(user=customer, payment_id=43, amount="15.00"), CHANNEL
    )
    assert response.is_success is True
    assert response.action_required is False
    assert response.kind == TransactionKind.CAPTURE
    assert response.transaction_id == "pay-43"
    assert response.customer_id == str(contract.okpay_id)
    txn = charges("pay-43").get()
    assert response.psp_reference == str(txn.id)
    assert txn.amount == Decimal("15.00")


def test_process_payment_declined_charge_reports_user_message(world, customer):
    """A charge over an agreement that paid before fails with a shopper's message.

    The agreement has paid before (it may carry subscriptions), so no new
    agreement is offered in its place.
    """
    configure_plugin()
    contract = Contract.objects.create(
        okpay_id=world,
        customer=customer,
        channel=CHANNEL,
        receiver_wallet=MERCHANT_WALLET,
        title="Hosting",
        currency="USD",
        status=ContractStatus.ACTIVE,
        invoice="agr-seed-1",
    )
    Payment.objects.create(
        invoice="pay-earlier",
        contract=contract,
        amount=Decimal("5.00"),
        currency="USD",
        status=PaymentStatus.COMPLETED,
    )
    response = manager().process_payment(
        PLUGIN_ID, payment_data(user=customer, amount="400.00"), CHANNEL
    )
    assert response.is_success is False
    assert response.error == (
        "OKPAY refused the payment because it is more than a limit set on your "
        "OKPAY agreement. Nothing was charged."
    )
    assert response.raw_response == {
        "okpay_error": "limit_exceeded",
        "okpay_new_agreement": "false",
        "okpay_retry": "false",
    }


def test_list_payment_sources_active_contract_has_card_info(world, customer):
    """Active agreements are listed with non-empty card-shaped details."""
    configure_plugin()
    Contract.objects.create(
        okpay_id=world,
        customer=customer,
        channel=CHANNEL,
        receiver_wallet=MERCHANT_WALLET,
        title="Hosting",
        currency="USD",
        status=ContractStatus.ACTIVE,
        invoice="agr-seed-1",
    )
    sources = manager().list_payment_sources(PLUGIN_ID, str(world), CHANNEL)
    assert len(sources) == 1
    source = sources[0]
    assert source.id == str(world)
    assert source.gateway == PLUGIN_ID
    assert source.credit_card_info.brand == "okpay"
    assert source.credit_card_info.type == "okpay"
    assert source.credit_card_info.name == "Hosting"
    assert source.credit_card_info.last_4 == str(world)[-4:]


def test_list_payment_gateways_active_plugin_listed_for_supported_currency(world):
    """The plugin is a gateway for USD and absent for a currency it does not take."""
    configure_plugin()
    gateways = manager().list_payment_gateways(currency="USD", channel_slug=CHANNEL)
    assert [(g.id, g.name, g.currencies) for g in gateways] == [
        (PLUGIN_ID, "OKPAY", ["USD"])
    ]
    assert manager().list_payment_gateways(currency="EUR", channel_slug=CHANNEL) == []
    assert manager().token_is_required_as_payment_input(PLUGIN_ID, CHANNEL) is False


def test_list_payment_gateways_inactive_plugin_not_listed(world):
    """An inactive configuration offers no gateway."""
    configure_plugin(active=False)
    assert manager().list_payment_gateways(currency="USD", channel_slug=CHANNEL) == []


def test_validate_plugin_configuration_broken_settings_named_per_field(world):
    """Saving an unusable configuration fails with one clear message per field."""
    with pytest.raises(ValidationError) as info:
        manager().save_plugin_configuration(
            PLUGIN_ID,
            CHANNEL,
            {
                "active": True,
                "configuration": [
                    {"name": "wallet_id", "value": "12345"},
                    {"name": "api_password", "value": ""},
                    {"name": "supported_currencies", "value": "USD,XYZ"},
                    {"name": "environment", "value": "live"},
                    {"name": "accept_test_ipn", "value": True},
                    {"name": "monthly_limit", "value": "-5"},
                ],
            },
        )
    errors = {
        name: [e.message for e in errs] for name, errs in info.value.error_dict.items()
    }
    assert errors["wallet_id"] == [
        "The wallet ID must be OK followed by 9 digits, e.g. OK123456789."
    ]
    assert errors["api_password"] == [
        "The API password is required to activate the plugin."
    ]
    assert errors["supported_currencies"][0].startswith("OKPAY does not support XYZ")
    assert errors["accept_test_ipn"] == [
        "Test IPNs cannot be accepted in the live environment."
    ]
    assert errors["monthly_limit"] == [
        "The limit must be a positive amount with at most 2 decimals."
    ]


def test_validate_plugin_configuration_check_credentials_wrong_password(world):
    """check_credentials calls OKPAY and reports a refused API password."""
    with pytest.raises(ValidationError) as info:
        manager().save_plugin_configuration(
            PLUGIN_ID,
            CHANNEL,
            {
                "active": True,
                "configuration": [
                    {"name": item["name"], "value": item["value"]}
                    for item in plugin_configuration(
                        api_password="wrong-password", check_credentials=True
                    )
                ],
            },
        )
    messages = [e.message for e in info.value.error_dict["api_password"]]
    assert messages == [
        "OKPAY refused the wallet ID or API password (authentication_failed)."
    ]


def test_ipn_url_output_field_shows_webhook(world):
    """The read-only ipn_url field shows the channel's IPN address."""
    configure_plugin()
    plugin = manager().get_plugin(PLUGIN_ID, CHANNEL)
    values = {item["name"]: item["value"] for item in plugin.configuration}
    assert values["ipn_url"] == f"{SHOP_URL}{WEBHOOK}ipn/"


def test_webhook_ipn_path_routes_to_pipeline(world, client):
    """A POST to .../ipn/ is stored as a Notification of this channel."""
    configure_plugin()
    body = b"ok_txn_id=1&ok_txn_status=completed&ok_ipn_test=1"
    response = client.post(
        WEBHOOK + "ipn/", data=body, content_type="application/x-www-form-urlencoded"
    )
    # Acknowledged (OKPAY must not redeliver) but rejected: the emulator's
    # verify endpoint does not know this message.
    assert response.status_code == 200
    stored = Notification.objects.get()
    assert bytes(stored.body) == body
    assert stored.channel == CHANNEL
    assert stored.verification == "invalid"


def test_webhook_unknown_path_is_not_found(world, client):
    """Paths the plugin does not serve answer 404."""
    configure_plugin()
    assert client.get(WEBHOOK + "somewhere/").status_code == 404


def test_webhook_inactive_plugin_is_not_found(world, client):
    """An inactive plugin serves nothing."""
    configure_plugin(active=False)
    assert (
        client.post(
            WEBHOOK + "ipn/", data=b"x=1", content_type="text/plain"
        ).status_code
        == 404
    )


def test_webhook_return_redirects_to_host_return_url(world, client, customer):
    """The customer's return completes the payment and goes back to the shop."""
    configure_plugin()
    first = manager().process_payment(PLUGIN_ID, payment_data(user=customer), CHANNEL)
    Payment.objects.filter(invoice="pay-42").update(
        return_url="https://shop.example.com/thanks"
    )
    _approve_at_okpay(first.action_required_data["fields"], notify=False)
    response = client.post(
        WEBHOOK + "return/?invoice=agr-42", data={"ok_invoice": "forged"}
    )
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/thanks"
    assert Payment.objects.get(invoice="pay-42").status == PaymentStatus.COMPLETED


def test_webhook_cancel_without_approval_shows_page(world, client, customer):
    """Coming back from a declined approval shows a small page and changes nothing."""
    configure_plugin()
    manager().process_payment(PLUGIN_ID, payment_data(user=customer), CHANNEL)
    response = client.get(WEBHOOK + "cancel/?invoice=agr-42")
    assert response.status_code == 200
    assert b"not completed" in response.content
    assert Payment.objects.get(invoice="pay-42").status == PaymentStatus.ACTION_REQUIRED


def test_order_fully_paid_subscription_line_starts_subscription(world, customer):
    """A paid order line marked okpay.interval=month becomes a subscription, once."""
    from types import SimpleNamespace

    from okpay_gateway.models import Subscription

    configure_plugin()
    contract = Contract.objects.create(
        okpay_id=world,
        customer=customer,
        channel=CHANNEL,
        receiver_wallet=MERCHANT_WALLET,
        client_wallet=CUSTOMER_WALLET,
        title="Hosting",
        currency="USD",
        monthly_amount=Decimal("300.00"),
        status=ContractStatus.ACTIVE,
        invoice="agr-seed-1",
    )
    product = SimpleNamespace(metadata={"okpay.interval": "month"})
    plan_line = SimpleNamespace(
        pk=7,
        product_name="Gold plan",
        total_price_gross_amount=Decimal("19.90"),
        variant=SimpleNamespace(metadata={}, product=product),
    )
    plain_line = SimpleNamespace(
        pk=8,
        product_name="Mug",
        total_price_gross_amount=Decimal("9.00"),
        variant=SimpleNamespace(metadata={}, product=SimpleNamespace(metadata={})),
    )
    order = SimpleNamespace(
        pk=99,
        lines=[plan_line, plain_line],
        currency="USD",
        channel=SimpleNamespace(slug=CHANNEL),
        user=customer,
        user_email=customer.email,
    )

    plugins = manager()
    for _ in range(2):
        plugins.order_fully_paid(order)

    (subscription,) = Subscription.objects.all()
    assert subscription.contract == contract
    assert subscription.amount == Decimal("19.90")
    assert subscription.currency == "USD"
    assert subscription.title == "Gold plan"


def test_settings_provider_reads_saved_plugin_configuration(
    world, settings, monkeypatch
):
    """A process that never built the plugin gets the channel's saved settings."""
    from okpay_gateway import conf

    monkeypatch.setattr(conf, "_channel_settings", {})
    settings.PLUGINS = ["okpay_gateway.contrib.saleor.plugin.OkPayGatewayPlugin"]
    settings.OKPAY_HOST_CHANNELS = [CHANNEL]
    settings.OKPAY_GATEWAY = {
        **settings.OKPAY_GATEWAY,
        "SETTINGS_PROVIDER": "okpay_gateway.contrib.saleor.channel_settings.for_channel",
    }
    configure_plugin(read_timeout="12")

    found = conf.settings_for_channel(CHANNEL)

    assert found.wallet_id == MERCHANT_WALLET
    assert found.read_timeout == 12
    assert found.api_url == "http://okpay.emulator/okpay-emulator/OkPayAPI"


def test_settings_provider_inactive_plugin_falls_back_to_shop_settings(
    world, settings, monkeypatch
):
    """An inactive plugin gives no channel settings; the shop-wide ones are used."""
    from okpay_gateway import conf, payments

    monkeypatch.setattr(conf, "_channel_settings", {})
    settings.PLUGINS = ["okpay_gateway.contrib.saleor.plugin.OkPayGatewayPlugin"]
    settings.OKPAY_HOST_CHANNELS = [CHANNEL]
    settings.OKPAY_GATEWAY = {
        **settings.OKPAY_GATEWAY,
        "SETTINGS_PROVIDER": "okpay_gateway.contrib.saleor.channel_settings.for_channel",
    }
    configure_plugin(active=False, read_timeout="12")

    assert payments.settings_for_channel(CHANNEL) == conf.get_settings()
