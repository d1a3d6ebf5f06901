"""``/ipn-verify``: VERIFIED, INVALID and TEST answers, faults, idempotence."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from okpay_gateway.emulator import faults, ipn_sender
from okpay_gateway.emulator.models import IpnMessage
from okpay_gateway.emulator.simulator import SimulatorRequest, send_simulated_ipn

pytestmark = pytest.mark.usefixtures("manual_delivery")

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def message(seeded) -> IpnMessage:
    return ipn_sender.queue_ipn(
        "http://127.0.0.1:9/ipn",
        [
            ("ok_charset", "utf-8"),
            ("ok_receiver_wallet", seeded.wallet("merchant@example.com").wallet_id),
            ("ok_txn_id", "5000001"),
            ("ok_invoice", ""),
            ("ok_item_1_name", "Книга & co"),
        ],
        event="payment",
    )


def _post(client, pairs, url_name="okpay_emulator:ipn-verify"):
    return client.post(reverse(url_name), urlencode(pairs), content_type=FORM)


def _pairs(message: IpnMessage) -> list[tuple[str, str]]:
    return [(name, value) for name, value in message.fields]


def test_verify_exact_postback_answers_verified_as_plain_text(client, message):
    """The unchanged message preceded by ok_verify=true is VERIFIED, text/plain, no newline."""
    response = _post(client, [("ok_verify", "true"), *_pairs(message)])
    assert response.status_code == 200
    assert response.content == b"VERIFIED"
    assert response["Content-Type"].startswith("text/plain")


def test_verify_field_order_does_not_matter(client, message):
    """Reversed fields with ok_verify at the end are still VERIFIED (A21)."""
    pairs = [*reversed(_pairs(message)), ("ok_verify", "true")]
    assert _post(client, pairs).content == b"VERIFIED"


def test_verify_html_alias_answers_the_same(client, message):
    """The old /ipn-verify.html path behaves like /ipn-verify."""
    response = _post(
        client,
        [("ok_verify", "true"), *_pairs(message)],
        "okpay_emulator:ipn-verify-html",
    )
    assert response.content == b"VERIFIED"


def test_verify_is_idempotent(client, message):
    """Asking twice gives VERIFIED twice (A23)."""
    pairs = [("ok_verify", "true"), *_pairs(message)]
    assert [_post(client, pairs).content for _ in range(2)] == [
        b"VERIFIED",
        b"VERIFIED",
    ]


@pytest.mark.parametrize(
    "change",
    [
        "tampered",
        "missing",
        "extra",
        "duplicate",
        "unknown_id",
        "no_verify",
        "verify_false",
    ],
)
def test_verify_changed_postback_answers_invalid(client, message, change):
    """Any tampered, missing, extra or repeated field, or a bad ok_verify, is INVALID."""
    pairs = _pairs(message)
    verify = [("ok_verify", "true")]
    if change == "tampered":
        pairs = [(n, "5000002" if n == "ok_txn_id" else v) for n, v in pairs]
    elif change == "missing":
        pairs = [(n, v) for n, v in pairs if n != "ok_invoice"]
    elif change == "extra":
        pairs.append(("ok_txn_fee", "0.00"))
    elif change == "duplicate":
        pairs.append(("ok_txn_id", "5000001"))
    elif change == "unknown_id":
        pairs = [(n, "1" if n == "ok_ipn_id" else v) for n, v in pairs]
    elif change == "no_verify":
        verify = []
    elif change == "verify_false":
        verify = [("ok_verify", "false")]
    response = _post(client, verify + pairs)
    assert response.status_code == 200
    assert response.content == b"INVALID"


def test_verify_get_answers_invalid(client, message):
    """A GET, even with the right fields in the query, is INVALID with HTTP 200 (A22)."""
    query = urlencode([("ok_verify", "true"), *_pairs(message)])
    response = client.get(reverse("okpay_emulator:ipn-verify") + "?" + query)
    assert response.status_code == 200
    assert response.content == b"INVALID"


def test_verify_simulator_message_answers_test(client, seeded):
    """A message from the simulator (ok_ipn_test=1) is answered TEST."""
    simulated = send_simulated_ipn(
        SimulatorRequest.from_mapping(
            {"url": "http://127.0.0.1:9/ipn", "receiver": "merchant@example.com"}
        )
    )
    response = _post(client, [("ok_verify", "true"), *_pairs(simulated)])
    assert response.content == b"TEST"


def test_verify_invalid_verify_fault_forces_invalid_once(client, message):
    """An invalid_verify rule answers INVALID for one otherwise valid postback."""
    faults.add_rule("invalid_verify", uses=1)
    pairs = [("ok_verify", "true"), *_pairs(message)]
    assert _post(client, pairs).content == b"INVALID"
    assert _post(client, pairs).content == b"VERIFIED"


def test_verify_http_500_fault_on_ipn_verify_answers_500(client, message):
    """An http_500 rule aimed at ipn-verify makes the endpoint fail once."""
    faults.add_rule("http_500", operation="ipn-verify", uses=1)
    pairs = [("ok_verify", "true"), *_pairs(message)]
    assert _post(client, pairs).status_code == 500
    assert _post(client, pairs).content == b"VERIFIED"


def test_verify_soap_wide_http_500_rule_does_not_touch_verify(client, message):
    """An http_500 rule without an operation is for SOAP and leaves verify alone."""
    faults.add_rule("http_500", uses=None)
    pairs = [("ok_verify", "true"), *_pairs(message)]
    assert _post(client, pairs).content == b"VERIFIED"
