"""The plugin in a real Saleor: configuration, checkout, agreement, staff operations, IPNs.

Live: needs the ``OKPAY_SALEOR_*`` variables (see ``conftest.py``); skipped without them.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from tests.saleor import documents
from tests.saleor.conftest import (
    API_PASSWORD,
    CUSTOMER_PASSWORD,
    METADATA_KEY,
    PLUGIN_ID,
    RETURN_URL,
    TIMEOUT,
)

pytestmark = pytest.mark.live


def _contract_invoice(confirmation: dict) -> str:
    return confirmation["fields"]["ok_invoice"]


def test_plugins_query_hides_the_api_password_completely(shop):
    """Saleor's plugin query shows the API password as "" (set), not its last characters."""
    plugin = shop.gql(documents.PLUGIN, {"id": PLUGIN_ID}, token=shop.staff_token)[
        "plugin"
    ]
    (mine,) = [
        c
        for c in plugin["channelConfigurations"]
        if c["channel"]["slug"] == shop.target.channel
    ]
    items = {item["name"]: item for item in mine["configuration"]}
    assert mine["active"] is True
    assert items["api_password"]["type"] == "PASSWORD"
    assert items["api_password"]["value"] == ""
    assert API_PASSWORD not in json.dumps(plugin)
    tail = API_PASSWORD[-4:]
    assert [n for n, i in items.items() if (i["value"] or "").endswith(tail)] == []
    assert items["wallet_id"]["value"] == shop.merchant_wallet
    assert items["ipn_url"]["value"] == shop.target.plugin_url("ipn/")


def test_plugin_update_with_wrong_password_is_refused_by_check_credentials(shop):
    """check_credentials asks OKPAY: a wrong API password is a pluginUpdate error."""
    payload = shop.update_plugin(allow_errors=True, api_password="not-the-password")
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("apiPassword", "PLUGIN_MISCONFIGURED")
    ]
    assert "refused the wallet ID or API password" in payload["errors"][0]["message"]
    # The stored password is unchanged: a purchase still works (next tests).
    plugin = shop.gql(documents.PLUGIN, {"id": PLUGIN_ID}, token=shop.staff_token)
    assert plugin["plugin"]["channelConfigurations"]


def test_first_purchase_gives_paid_order_agreement_and_stored_source(shop):
    """Checkout → confirmationData → approval at OKPAY → IPNs → paid order, agreement kept."""
    customer = shop.new_customer()
    checkout_id, total = shop.start_checkout(customer)
    first = shop.complete(checkout_id, customer)
    assert first["order"] is None
    assert first["confirmationNeeded"] is True
    assert isinstance(first["confirmationData"], str)
    confirmation = json.loads(first["confirmationData"])
    assert sorted(confirmation) == ["action", "fields", "method", "redirect_url"]
    assert confirmation["method"] == "GET"
    assert confirmation["redirect_url"].startswith(shop.target.emulator_url)
    fields = confirmation["fields"]
    assert fields["ok_kind"] == "preapproved"
    assert fields["ok_receiver"] == shop.merchant_wallet
    assert fields["ok_ipn"] == shop.target.plugin_url("ipn/")
    contract_invoice = _contract_invoice(confirmation)

    action, posted = shop.emulator.decide(
        confirmation, customer.email, CUSTOMER_PASSWORD, approve=True
    )
    # OKPAY's IPNs (agreement granted, then the first charge) arrive first here.
    shop.wait_for_ipns(contract_invoice, 2)
    returned = requests.post(
        action, data=posted, allow_redirects=False, timeout=TIMEOUT
    )
    assert returned.status_code == 302
    assert returned.headers["Location"] == RETURN_URL

    second = shop.complete(checkout_id, customer)
    assert second["errors"] == []
    order = shop.order(second["order"]["id"])
    assert order["chargeStatus"] == "FULL"
    assert order["isPaid"] is True
    assert Decimal(str(order["totalCharged"]["amount"])) == total
    (payment,) = order["payments"]
    assert payment["gateway"] == PLUGIN_ID

    contract = shop.emulator.contract(contract_invoice)
    assert contract["status"] == "Active"
    charges = shop.emulator.transactions(contract_id=contract["id"])
    assert [Decimal(t["amount"]) for t in charges] == [total]
    assert payment["pspReference"] == str(charges[0]["id"])

    metadata = shop.customer_private_metadata(customer.email)
    assert metadata[METADATA_KEY] == str(contract["id"])
    sources = shop.payment_sources(customer)
    assert [(s["gateway"], s["paymentMethodId"]) for s in sources] == [
        (PLUGIN_ID, str(contract["id"]))
    ]
    assert sources[0]["creditCardInfo"]["brand"] == "okpay"


def test_repeat_purchase_is_charged_without_redirect(shop):
    """A customer with an agreement: checkoutComplete gives a paid order at once."""
    customer = shop.new_customer()
    first = shop.buy_first_time(customer)
    contract = shop.emulator.contract(_contract_invoice(first["confirmation"]))

    checkout_id, total = shop.start_checkout(customer, quantity=2)
    again = shop.complete(checkout_id, customer)
    assert again["confirmationNeeded"] is False
    assert again["errors"] == []
    order = shop.order(again["order"]["id"])
    assert (order["chargeStatus"], order["isPaid"]) == ("FULL", True)
    charges = shop.emulator.transactions(contract_id=contract["id"])
    assert len(charges) == 2
    assert Decimal(charges[0]["amount"]) == total  # newest first


def test_auth_then_order_capture_and_order_void(shop):
    """automatic_capture off: orders are authorised; orderCapture charges, orderVoid does not."""
    customer = shop.new_customer()
    first = shop.buy_first_time(customer)
    contract = shop.emulator.contract(_contract_invoice(first["confirmation"]))
    shop.update_plugin(automatic_capture="false")
    try:
        checkout_id, total = shop.start_checkout(customer)
        authorised = shop.complete(checkout_id, customer)
        assert authorised["errors"] == []
        order_id = authorised["order"]["id"]
        assert shop.order(order_id)["chargeStatus"] == "NONE"
        assert len(shop.emulator.transactions(contract_id=contract["id"])) == 1

        captured = shop.gql.mutate(
            documents.ORDER_CAPTURE,
            {"id": order_id, "amount": str(total)},
            token=shop.staff_token,
        )
        assert captured["order"]["chargeStatus"] == "FULL"
        charges = shop.emulator.transactions(contract_id=contract["id"])
        assert len(charges) == 2
        assert Decimal(charges[0]["amount"]) == total

        checkout_id, _ = shop.start_checkout(customer)
        to_void = shop.complete(checkout_id, customer)["order"]["id"]
        shop.gql.mutate(documents.ORDER_VOID, {"id": to_void}, token=shop.staff_token)
        (voided,) = shop.order(to_void)["payments"]
        assert (voided["isActive"], voided["chargeStatus"]) == (False, "NOT_CHARGED")
        assert len(shop.emulator.transactions(contract_id=contract["id"])) == 2
    finally:
        shop.update_plugin(automatic_capture="true")


def test_order_refund_sends_money_back(shop):
    """orderRefund sends the amount back to the customer's OKPAY wallet."""
    customer = shop.new_customer()
    bought = shop.buy_first_time(customer)
    order_id = bought["order"]["id"]
    refunded = shop.gql.mutate(
        documents.ORDER_REFUND,
        {"id": order_id, "amount": "1.00"},
        token=shop.staff_token,
    )
    assert Decimal(str(refunded["order"]["totalRefunded"]["amount"])) == Decimal("1.00")
    assert refunded["order"]["paymentStatus"] == "PARTIALLY_REFUNDED"
    back = shop.emulator.transactions(
        sender=shop.merchant_wallet, receiver=customer.wallet_id
    )
    assert [Decimal(t["amount"]) for t in back] == [Decimal("1.00")]


def test_customer_back_before_the_ipn_gets_the_order_once(shop):
    """IPNs held back: the return page asks OKPAY; the late IPNs change nothing."""
    customer = shop.new_customer()
    checkout_id, total = shop.start_checkout(customer)
    first = shop.complete(checkout_id, customer)
    confirmation = json.loads(first["confirmationData"])
    contract_invoice = _contract_invoice(confirmation)
    shop.emulator.add_fault(
        kind="ipn_endpoint_down", wallet_id=shop.merchant_wallet, uses=None
    )
    try:
        action, posted = shop.emulator.decide(
            confirmation, customer.email, CUSTOMER_PASSWORD, approve=True
        )
        returned = requests.post(
            action, data=posted, allow_redirects=False, timeout=TIMEOUT
        )
        assert returned.status_code == 302
        assert returned.headers["Location"] == RETURN_URL
        second = shop.complete(checkout_id, customer)
        assert second["errors"] == []
        assert shop.order(second["order"]["id"])["chargeStatus"] == "FULL"
    finally:
        shop.emulator.clear_faults()
    shop.emulator.deliver_ipns()
    shop.wait_for_ipns(contract_invoice, 1)
    contract = shop.emulator.contract(contract_invoice)
    charges = shop.emulator.transactions(contract_id=contract["id"])
    assert [Decimal(t["amount"]) for t in charges] == [total]


def test_declined_approval_gives_no_order_and_says_why(shop):
    """The customer declines at OKPAY: no order, no agreement, a message that says so."""
    customer = shop.new_customer()
    checkout_id, _total = shop.start_checkout(customer)
    first = shop.complete(checkout_id, customer)
    confirmation = json.loads(first["confirmationData"])
    action, posted = shop.emulator.decide(
        confirmation, customer.email, CUSTOMER_PASSWORD, approve=False
    )
    assert action == shop.target.plugin_url(
        f"cancel/?invoice={_contract_invoice(confirmation)}"
    )
    returned = requests.post(
        action, data=posted, allow_redirects=False, timeout=TIMEOUT
    )
    assert returned.status_code == 302
    assert returned.headers["Location"] == RETURN_URL

    second = shop.complete(checkout_id, customer)
    assert second["order"] is None
    assert [e["code"] for e in second["errors"]] == ["PAYMENT_ERROR"]
    assert second["errors"][0]["message"] == (
        "You did not approve the OKPAY agreement, so nothing was charged."
    )
    assert shop.payment_sources(customer) == []
    assert METADATA_KEY not in shop.customer_private_metadata(customer.email)


def test_forged_and_tampered_ipns_are_not_applied(shop):
    """An IPN OKPAY never sent, or one altered on the way, changes nothing (answered 200)."""
    customer = shop.new_customer()
    checkout_id, _total = shop.start_checkout(customer)
    first = shop.complete(checkout_id, customer)
    confirmation = json.loads(first["confirmationData"])
    contract_invoice = _contract_invoice(confirmation)
    ipn_url = shop.target.plugin_url("ipn/")

    # A forger copies a genuine grant for someone else onto this agreement.
    genuine = shop.buy_first_time(shop.new_customer())["confirmation"]
    (grant,) = [
        m
        for m in shop.wait_for_ipns(_contract_invoice(genuine), 2)
        if dict(m["fields"])["ok_p_event"] == "access_granted"
    ]
    forged = dict(grant["fields"])
    forged.update(
        {
            "ok_invoice": contract_invoice,
            "ok_payer_email": customer.email,
            "ok_payer_wallet": customer.wallet_id,
        }
    )
    answer = requests.post(ipn_url, data=forged, timeout=TIMEOUT)
    assert answer.status_code == 200

    # A real denial from OKPAY, altered into a grant on the way.
    shop.emulator.decide(confirmation, customer.email, CUSTOMER_PASSWORD, approve=False)
    (denial,) = shop.wait_for_ipns(contract_invoice, 1)
    tampered = dict(denial["fields"])
    tampered.update({"ok_p_event": "access_granted", "ok_p_status": "active"})
    answer = requests.post(ipn_url, data=tampered, timeout=TIMEOUT)
    assert answer.status_code == 200

    assert shop.payment_sources(customer) == []
    assert METADATA_KEY not in shop.customer_private_metadata(customer.email)
    second = shop.complete(checkout_id, customer)
    assert second["order"] is None
    assert shop.emulator.transactions(sender=customer.wallet_id) == []
