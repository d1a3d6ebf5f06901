"""Random bodies posted to the IPN view: never a 500, never a state change."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okpay_gateway.models import (
    Contract,
    Notification,
    NotificationState,
    Payment,
    PaymentEvent,
    ProcessedEvent,
)
from tests.core import support

pytestmark = pytest.mark.usefixtures("gateway", "merchant")

KNOWN_FIELDS = (
    "ok_charset",
    "ok_ipn_id",
    "ok_ipn_test",
    "ok_txn_id",
    "ok_txn_kind",
    "ok_txn_status",
    "ok_txn_gross",
    "ok_txn_net",
    "ok_txn_fee",
    "ok_txn_amount",
    "ok_txn_currency",
    "ok_txn_datetime",
    "ok_receiver",
    "ok_receiver_wallet",
    "ok_receiver_email",
    "ok_invoice",
    "ok_p_id",
    "ok_p_event",
    "ok_p_status",
    "ok_p_end_date",
    "ok_p_monthly_amount",
    "ok_fees",
)
PLAUSIBLE_VALUES = st.sampled_from(
    [
        "",
        "1",
        "0",
        "9000001",
        "25.00",
        "-5.00",
        "USD",
        "usd",
        "completed",
        "pending",
        "access_granted",
        "payment",
        "active",
        "canceled",
        support.MERCHANT_WALLET,
        "2026-01-01 10:00:00",
        "utf-8",
        "latin-1",
        "koi8-r",
        "utf-16",
    ]
)
FIELD_NAMES = st.one_of(st.sampled_from(KNOWN_FIELDS), st.text(max_size=12))
FIELD_VALUES = st.one_of(PLAUSIBLE_VALUES, st.text(max_size=30))
CONTENT_TYPES = st.sampled_from(
    [
        support.FORM,
        support.FORM + "; charset=utf-8",
        support.FORM + "; charset=latin-1",
        support.FORM + "; charset=bogus",
        "text/plain",
    ]
)
FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# The test client's post() re-encodes bodies for a charset in the content
# type; generic() sends the bytes as they are, like OKPAY would.


def _state_counts() -> tuple[int, ...]:
    return (
        Contract.objects.count(),
        Payment.objects.count(),
        PaymentEvent.objects.count(),
        ProcessedEvent.objects.count(),
    )


def _row_of(body: bytes) -> Notification:
    """The row that last received these bytes (repeats share one row)."""
    rows = Notification.objects.order_by("-last_seen_at", "-pk")
    found = next((row for row in rows if bytes(row.body) == body), None)
    assert found is not None
    return found


def _assert_handled(
    response, before: tuple[int, ...], body: bytes, content_type: str
) -> None:
    assert response.status_code in (200, 400), response.content
    assert _state_counts() == before
    row = _row_of(body)
    assert row.state in (
        NotificationState.MALFORMED,
        NotificationState.INVALID,
    )
    expected = 400 if row.state == NotificationState.MALFORMED else 200
    assert response.status_code == expected


@FUZZ_SETTINGS
@given(body=st.binary(max_size=400), content_type=CONTENT_TYPES)
def test_ipn_view_random_bytes_never_fail_or_change_state(client, body, content_type):
    """Arbitrary bytes are stored and answered 400 or 200, changing no money state."""
    before = _state_counts()

    response = client.generic(
        "POST", support.IPN_PATH, data=body, content_type=content_type
    )

    _assert_handled(response, before, body, content_type)


@FUZZ_SETTINGS
@given(
    pairs=st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=25),
    content_type=CONTENT_TYPES,
)
def test_ipn_view_random_forms_never_fail_or_change_state(client, pairs, content_type):
    """Forged forms, however plausible, are malformed or INVALID and change nothing."""
    body = urlencode(pairs).encode("ascii")
    before = _state_counts()

    response = client.generic(
        "POST", support.IPN_PATH, data=body, content_type=content_type
    )

    _assert_handled(response, before, body, content_type)
