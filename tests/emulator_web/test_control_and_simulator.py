"""Control pages and JSON API, and the IPN simulator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from okpay_gateway.emulator import clock, ipn_sender, operations, seed
from okpay_gateway.emulator.models import (
    Contract,
    ContractStatus,
    FaultRule,
    IpnMessage,
    IpnStatus,
)
from okpay_gateway.emulator.simulator import SimulatorRequest, build_simulator_fields

pytestmark = pytest.mark.usefixtures("manual_delivery")


def _sign_in_as_merchant(client, password: str = seed.DEFAULT_MERCHANT_PASSWORD):
    """The merchant's own sign-in, as a script would do it (JSON, session cookie)."""
    return client.post(
        reverse("okpay_emulator:merchant-sign-in"),
        json.dumps({"email": seed.DEFAULT_MERCHANT_EMAIL, "password": password}),
        content_type="application/json",
    )


def _api(client, name, data=None, *args):
    return client.post(
        reverse(f"okpay_emulator:{name}", args=args),
        json.dumps(data or {}),
        content_type="application/json",
    )


def test_api_clock_advance_expires_due_contract(client, seeded):
    """Advancing past an end date expires the agreement and queues its IPN."""
    merchant = operations.find_wallet("merchant@example.com")
    contract = operations.grant_contract(
        receiver=merchant,
        client=operations.find_wallet("bob@example.com"),
        title="Short",
        currency="EUR",
        daily_limit=Decimal("5.00"),
        end_date=date(2026, 1, 16),
        ipn_url="http://127.0.0.1:9/ipn",
        notify=False,
    )
    response = _api(client, "api-clock", {"action": "advance", "days": 2})
    assert response.status_code == 200
    assert response.json() == {"now": "2026-01-17T10:30:00+00:00", "frozen": True}
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED
    fields = IpnMessage.objects.get(contract=contract).field_dict()
    assert (fields["ok_p_event"], fields["ok_p_status"]) == ("access_denied", "expired")


def test_api_clock_freeze_and_reset(client, seeded):
    """Freeze sets an exact instant; reset returns to running real time."""
    response = _api(
        client, "api-clock", {"action": "freeze", "at": "2027-03-01T00:00:00+00:00"}
    )
    assert response.json()["now"] == "2027-03-01T00:00:00+00:00"
    assert clock.now() == datetime(2027, 3, 1, tzinfo=UTC)
    assert _api(client, "api-clock", {"action": "reset"}).json()["frozen"] is False
    assert client.get(reverse("okpay_emulator:api-clock")).json()["frozen"] is False


def test_api_clock_bad_action_is_400(client, seeded):
    """Unknown actions are refused with a JSON error."""
    response = _api(client, "api-clock", {"action": "rewind"})
    assert response.status_code == 400
    assert "action must be" in response.json()["error"]


def test_api_faults_add_list_delete(client, seeded):
    """Fault rules can be added, listed and removed through the API."""
    created = _api(client, "api-faults", {"kind": "invalid_verify", "uses": 2})
    assert created.status_code == 201
    rule_id = created.json()["id"]
    listed = client.get(reverse("okpay_emulator:api-faults")).json()["rules"]
    assert [(r["id"], r["kind"], r["remaining_uses"]) for r in listed] == [
        (rule_id, "invalid_verify", 2)
    ]
    assert _api(client, "api-fault-delete", None, rule_id).json() == {
        "deleted": rule_id
    }
    assert FaultRule.objects.count() == 0
    assert _api(client, "api-faults", {"kind": "nonsense"}).status_code == 400


def test_api_ipn_history_resend_and_deliver(client, seeded, listener):
    """The API lists messages with attempts and can deliver and re-send them."""
    message = ipn_sender.queue_ipn(
        listener.url, [("ok_charset", "utf-8")], event="payment"
    )
    assert _api(client, "api-ipn-deliver").json() == {"delivered": 1}
    history = client.get(reverse("okpay_emulator:api-ipn"), {"status": "Sent"}).json()
    assert [m["ipn_id"] for m in history["messages"]] == [message.ipn_id]
    assert history["messages"][0]["delivery_attempts"][0]["status_code"] == 200
    resent = _api(client, "api-ipn-resend", None, message.ipn_id).json()
    assert resent["attempts"] == 2
    assert resent["status"] == IpnStatus.SENT
    assert len(listener.bodies) == 2
    assert _api(client, "api-ipn-resend", None, 1).status_code == 404


def test_api_ledger_and_revoke(client, seeded):
    """The ledger lists wallets and agreements; revoking cancels as the customer."""
    contract = operations.grant_contract(
        receiver=operations.find_wallet("merchant@example.com"),
        client=operations.find_wallet("alice@example.com"),
        title="Plan",
        currency="USD",
        weekly_limit=Decimal("15.00"),
        notify=False,
    )
    ledger = client.get(reverse("okpay_emulator:api-ledger")).json()
    emails = [w["email"] for w in ledger["wallets"]]
    assert sorted(emails) == sorted(
        [
            "merchant@example.com",
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
        ]
    )
    alice = next(w for w in ledger["wallets"] if w["email"] == "alice@example.com")
    assert alice["balances"] == {"EUR": "1000.00", "GBP": "1000.00", "USD": "1000.00"}
    assert ledger["contracts"][0]["weekly_amount"] == "15.00"
    revoked = _api(client, "api-contract-revoke", None, contract.id).json()
    assert revoked == {"id": contract.id, "status": "Canceled"}
    assert (
        IpnMessage.objects.get(contract=contract).field_dict()["ok_p_status"]
        == "canceled"
    )
    again = _api(client, "api-contract-revoke", None, contract.id)
    assert again.status_code == 400


def test_api_seed_loads_wallets_and_reports_bad_entries(client, db):
    """The seed endpoint loads a seed or lists the problems."""
    good = {"wallets": [{"email": "x@example.com", "balances": {"USD": "1.00"}}]}
    created = _api(client, "api-seed", good)
    assert created.status_code == 201
    assert created.json()["wallets"][0]["email"] == "x@example.com"
    bad = _api(client, "api-seed", {"wallets": [{"email": "nope"}]})
    assert bad.status_code == 400
    assert bad.json()["problems"] == [
        "wallets[0] (nope): email is required and must be an e-mail address"
    ]


def test_control_pages_render(client, seeded):
    """The clock, IPN history and ledger pages render with their data."""
    ipn_sender.queue_ipn("", [("ok_charset", "utf-8")], event="payment")
    control = client.get(reverse("okpay_emulator:control")).content.decode()
    assert "2026-01-15T10:30:00+00:00" in control
    assert 'for="id_kind"' in control
    history = client.get(reverse("okpay_emulator:control-ipn")).content.decode()
    assert "(no URL: stored only)" in history
    ledger = client.get(reverse("okpay_emulator:control-ledger")).content.decode()
    assert "alice@example.com" in ledger
    _sign_in_as_merchant(client)
    simulator = client.get(reverse("okpay_emulator:simulator")).content.decode()
    assert 'for="id_url"' in simulator
    assert "merchant@example.com" in simulator


def test_control_forms_move_clock_and_add_rule(client, seeded):
    """The HTML forms advance the clock and add a fault rule, then redirect back."""
    response = client.post(
        reverse("okpay_emulator:control-clock"), {"action": "advance", "hours": "3"}
    )
    assert response.status_code == 302
    assert clock.now() == datetime(2026, 1, 15, 13, 30, tzinfo=UTC)
    client.post(
        reverse("okpay_emulator:control-faults"),
        {"kind": "fault", "fault_code": "Internal_Error", "operation": "Get_Date_Time"},
    )
    rule = FaultRule.objects.get()
    assert (rule.kind, rule.fault_code, rule.remaining_uses) == (
        "fault",
        "Internal_Error",
        1,
    )


def test_simulator_fields_follow_the_placeholder_set(seeded):
    """Simulator messages use the 3.5 placeholders, ok_ipn_test=1 and no ok_receiver."""
    request = SimulatorRequest.from_mapping(
        {
            "url": "http://127.0.0.1:9/",
            "receiver": "merchant@example.com",
            "txn_status": "pending",
        }
    )
    fields = dict(build_simulator_fields(request))
    merchant = operations.find_wallet("merchant@example.com")
    assert fields["ok_receiver_wallet"] == merchant.wallet_id
    assert fields["ok_receiver_id"] == str(merchant.account_id)
    assert fields["ok_txn_kind"] == "payment_link"
    assert fields["ok_txn_status"] == "pending"
    assert fields["ok_txn_gross"] == "100.00"
    assert fields["ok_payer_first_name"] == "Payer First Name"
    assert fields["ok_item_1_type"] == "Tangible Good (Request Delivery Address)"
    assert fields["ok_ipn_test"] == "1"
    for absent in (
        "ok_receiver",
        "ok_txn_payment_method",
        "ok_txn_amount",
        "ok_item_1_price",
    ):
        assert absent not in fields


def test_simulator_api_sends_preapproved_event_to_listener(client, seeded, listener):
    """The JSON endpoint sends a test access_granted IPN with the chosen status."""
    assert _sign_in_as_merchant(client).status_code == 200
    response = client.post(
        reverse("okpay_emulator:simulator-api"),
        json.dumps(
            {
                "url": listener.url,
                "receiver": "merchant@example.com",
                "event": "access_granted",
                "p_status": "active",
                "contract_id": "77",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["is_test"] is True
    ipn_sender.deliver_due()
    delivered = dict(listener.bodies[0])
    assert (
        delivered["ok_p_event"],
        delivered["ok_p_status"],
        delivered["ok_p_id"],
    ) == (
        "access_granted",
        "active",
        "77",
    )
    assert delivered["ok_txn_kind"] == "preapproved"
    assert delivered["ok_ipn_id"] == str(body["ipn_id"])


def test_simulator_page_rejects_bad_input(client, seeded):
    """The simulator form shows a readable error for an unknown event."""
    _sign_in_as_merchant(client)
    response = client.post(
        reverse("okpay_emulator:simulator"),
        {
            "url": "http://127.0.0.1:9/",
            "receiver": "merchant@example.com",
            "event": "refund",
        },
    )
    assert response.status_code == 400
    assert "event must be one of" in response.content.decode()
    assert Contract.objects.count() == 0


def _simulate(client, **data):
    return client.post(
        reverse("okpay_emulator:simulator-api"),
        json.dumps({"url": "http://127.0.0.1:9/", **data}),
        content_type="application/json",
    )


def test_simulator_api_needs_the_merchants_sign_in(client, seeded):
    """Without the emulator's sign-in the API sends nothing: 401."""
    response = _simulate(client, receiver="merchant@example.com")

    assert response.status_code == 401
    assert IpnMessage.objects.count() == 0


def test_simulator_api_wrong_password_signs_nobody_in(client, seeded):
    """A wrong password is 401 and the API stays closed."""
    assert _sign_in_as_merchant(client, password="guess").status_code == 401

    assert _simulate(client).status_code == 401
    assert IpnMessage.objects.count() == 0


def test_simulator_page_redirects_to_the_sign_in_form(client, seeded):
    """The page sends a visitor to the form, which signs in and comes back."""
    page = reverse("okpay_emulator:simulator")

    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("okpay_emulator:merchant-sign-in"))

    form = client.get(response["Location"])
    assert 'name="password"' in form.content.decode()
    signed_in = client.post(
        reverse("okpay_emulator:merchant-sign-in"),
        {
            "email": seed.DEFAULT_MERCHANT_EMAIL,
            "password": seed.DEFAULT_MERCHANT_PASSWORD,
            "next": page,
        },
    )
    assert (signed_in.status_code, signed_in["Location"]) == (302, page)
    assert client.get(page).status_code == 200

    client.post(reverse("okpay_emulator:merchant-sign-out"))
    assert client.get(page).status_code == 302


def test_simulator_sends_only_as_the_signed_in_wallet(client, seeded):
    """A customer who signs in cannot send as the merchant; messages name the signer."""
    alice = operations.find_wallet("alice@example.com")
    client.post(
        reverse("okpay_emulator:merchant-sign-in"),
        json.dumps({"email": alice.email, "password": seed.DEFAULT_CUSTOMER_PASSWORD}),
        content_type="application/json",
    )

    refused = _simulate(client, receiver="merchant@example.com")
    sent = _simulate(client)

    assert refused.status_code == 400
    assert "your own wallet" in refused.json()["error"]
    assert sent.status_code == 201
    fields = dict(IpnMessage.objects.get().fields)
    assert fields["ok_receiver_wallet"] == alice.wallet_id
