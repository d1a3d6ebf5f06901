"""IPN parsing, postback body, answer interpretation and live verification."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from okpay_gateway.exceptions import MalformedNotification
from okpay_gateway.provider.fees import OkFees
from okpay_gateway.provider.ipn import (
    POSTBACK_PREFIX,
    IpnMessage,
    PreapprovedEvent,
    PreapprovedStatus,
    TxnStatus,
    VerificationOutcome,
    VerificationResult,
    build_postback_body,
    encode_ipn,
    interpret_verify_answer,
    is_acceptable,
    parse_ipn,
    verify_ipn,
)

ITEM_NAME = "Пополнение игрового счёта"

# The live 2016 payment of okpay-ipn-links.md 2.9, in OKPAY's field order.
LIVE_2016 = (
    ("ok_charset", "utf-8"),
    ("ok_receiver", "admin@oldbk.com"),
    ("ok_receiver_id", "968293980"),
    ("ok_receiver_wallet", "OK635569857"),
    ("ok_receiver_email", "admin@oldbk.com"),
    ("ok_txn_id", "5813014"),
    ("ok_txn_kind", "payment_link"),
    ("ok_txn_payment_type", "instant"),
    ("ok_txn_payment_method", "SBR"),
    ("ok_txn_gross", "1.00"),
    ("ok_txn_amount", "0.95"),
    ("ok_txn_net", "0.95"),
    ("ok_txn_fee", "0.05"),
    ("ok_txn_currency", "USD"),
    ("ok_txn_datetime", "2016-11-18 10:28:06"),
    ("ok_txn_status", "completed"),
    ("ok_invoice", ""),
    ("ok_payer_first_name", "Anonymous"),
    ("ok_payer_last_name", "Anonymous"),
    ("ok_payer_email", ""),
    ("ok_payer_country", ""),
    ("ok_payer_city", ""),
    ("ok_payer_street", ""),
    ("ok_payer_zip", ""),
    ("ok_payer_phone", ""),
    ("ok_items_count", "1"),
    ("ok_item_1_name", ITEM_NAME),
    ("ok_item_1_article", "5000010"),
    ("ok_item_1_type", "service"),
    ("ok_item_1_quantity", "1"),
    ("ok_item_1_gross", "1.00"),
    ("ok_item_1_price", "1.00"),
    ("ok_ipn_id", "3163920"),
)

PREAPPROVED_PAYMENT = (
    ("ok_charset", "utf-8"),
    ("ok_receiver_wallet", "OK426375940"),
    ("ok_txn_id", "7000001"),
    ("ok_txn_kind", "preapproved"),
    ("ok_txn_gross", "25.00"),
    ("ok_txn_net", "24.87"),
    ("ok_txn_fee", "0.13"),
    ("ok_txn_currency", "eur"),
    ("ok_txn_datetime", "2026-02-28 23:59:59"),
    ("ok_txn_status", "Pending"),
    ("ok_txn_pending_reason", "review"),
    ("ok_invoice", "sub-7-2026-03"),
    ("ok_p_id", "900001"),
    ("ok_p_event", "payment"),
    ("ok_p_status", "active"),
    ("ok_p_title", "Hosting plan"),
    ("ok_p_end_date", "2027-01-31"),
    ("ok_p_monthly_amount", "50.00"),
    ("ok_fees", "0"),
    ("ok_ipn_id", "3200001"),
)


def replaced(fields, **changes):
    return tuple((name, changes.get(name, value)) for name, value in fields)


# -- parsing ---------------------------------------------------------------------


def test_parse_ipn_live_2016_sample_reads_every_typed_field():
    """The captured 2016 message parses with the documented values and types."""
    body = encode_ipn(LIVE_2016)
    assert b"ok_item_1_name=%D0%9F" in body  # Cyrillic went out as UTF-8 escapes
    message = parse_ipn(body, content_type="application/x-www-form-urlencoded")
    assert message.fields == LIVE_2016
    assert message.charset == "utf-8"
    assert message.ipn_id == 3163920
    assert message.txn_id == 5813014
    assert message.txn_kind == "payment_link"
    assert message.txn_status is TxnStatus.COMPLETED
    assert (message.gross, message.amount, message.net, message.fee) == (
        Decimal("1.00"),
        Decimal("0.95"),
        Decimal("0.95"),
        Decimal("0.05"),
    )
    assert message.currency == "USD"
    assert message.receiver == "admin@oldbk.com"
    assert message.receiver_id == "968293980"
    assert message.receiver_wallet == "OK635569857"
    assert message.receiver_email == "admin@oldbk.com"
    assert message.invoice is None
    assert message.payer_email is None
    assert message.payer_wallet is None
    assert message.datetime == datetime(2016, 11, 18, 10, 28, 6, tzinfo=UTC)
    assert message.datetime.utcoffset().total_seconds() == 0
    assert message.is_test is False
    assert message.event is None
    assert message.contract_status is None
    assert message.contract_id is None
    assert message.is_preapproved is False
    assert message.get("ok_item_1_name") == ITEM_NAME
    assert message.get("ok_txn_payment_method") == "SBR"
    assert message.get("ok_missing", "-") == "-"


def test_parse_ipn_preapproved_payment_reads_contract_fields():
    """ok_p_* fields, echoed limits and ok_fees are typed; enums are case-insensitive."""
    message = parse_ipn(encode_ipn(PREAPPROVED_PAYMENT))
    assert message.event is PreapprovedEvent.PAYMENT
    assert message.contract_status is PreapprovedStatus.ACTIVE
    assert message.contract_id == 900001
    assert message.is_preapproved is True
    assert message.txn_status is TxnStatus.PENDING
    assert message.pending_reason == "review"
    assert message.currency == "EUR"
    assert message.title == "Hosting plan"
    assert message.end_date == date(2027, 1, 31)
    assert message.monthly_limit == Decimal("50.00")
    assert (message.daily_limit, message.weekly_limit) == (None, None)
    assert message.fee_payer is OkFees.MERCHANT
    assert message.invoice == "sub-7-2026-03"


def test_parse_ipn_access_granted_without_txn_id_uses_ipn_id():
    """An agreement event has no transaction; ok_ipn_id alone is enough."""
    body = encode_ipn(
        [
            ("ok_charset", "utf-8"),
            ("ok_p_id", "900001"),
            ("ok_p_event", "access_granted"),
            ("ok_p_status", "active"),
            ("ok_ipn_id", "3200000"),
        ]
    )
    message = parse_ipn(body)
    assert (message.txn_id, message.ipn_id) == (None, 3200000)
    assert message.event is PreapprovedEvent.ACCESS_GRANTED


def test_parse_ipn_refund_negative_money_accepted():
    """Refunds and reversals carry negative gross and fee."""
    reversed_payment = replaced(
        LIVE_2016,
        ok_txn_gross="-1.00",
        ok_txn_fee="-0.05",
        ok_txn_net="-0.95",
        ok_txn_status="reversed",
    )
    fields = (
        *reversed_payment,
        ("ok_txn_reversal_reason", "refund"),
        ("ok_txn_parent_id", "5813013"),
    )
    message = parse_ipn(encode_ipn(fields))
    assert message.gross == Decimal("-1.00")
    assert message.fee == Decimal("-0.05")
    assert message.txn_status is TxnStatus.REVERSED
    assert message.reversal_reason == "refund"
    assert message.txn_parent_id == 5813013


def test_parse_ipn_simulator_message_is_test():
    """ok_ipn_test=1 marks a simulator message."""
    message = parse_ipn(encode_ipn((*LIVE_2016, ("ok_ipn_test", "1"))))
    assert message.is_test is True
    assert parse_ipn(encode_ipn((*LIVE_2016, ("ok_ipn_test", "0")))).is_test is False


def test_parse_ipn_unknown_fields_kept_in_order():
    """Fields the parser does not know survive, in arrival order."""
    fields = (("x_custom", "1"), *LIVE_2016, ("ok_s_regular_payments_done", "3"))
    message = parse_ipn(encode_ipn(fields))
    assert message.fields == fields
    assert message.as_dict()["ok_s_regular_payments_done"] == "3"


def test_parse_ipn_repeated_field_same_value_accepted():
    """A field repeated with the same value is harmless and kept twice."""
    body = encode_ipn(LIVE_2016) + b"&ok_txn_id=5813014"
    message = parse_ipn(body)
    assert message.txn_id == 5813014
    assert [n for n, _ in message.fields].count("ok_txn_id") == 2


def test_parse_ipn_windows_1251_from_ok_charset_decoded():
    """Without a header charset, ok_charset in the body decides the decoding."""
    fields = replaced(LIVE_2016, ok_charset="windows-1251")
    body = urlencode(fields, encoding="cp1251").encode("ascii")
    message = parse_ipn(body, content_type="application/x-www-form-urlencoded")
    assert message.charset == "cp1251"
    assert message.get("ok_item_1_name") == ITEM_NAME


def test_parse_ipn_raw_unescaped_windows_1251_bytes_decoded():
    """Non-ASCII bytes sent without percent-escapes are decoded with the charset."""
    body = b"ok_charset=windows-1251&ok_txn_id=1&ok_item_1_name=" + ITEM_NAME.encode(
        "cp1251"
    )
    assert parse_ipn(body).get("ok_item_1_name") == ITEM_NAME


def test_parse_ipn_header_charset_wins_over_ok_charset():
    """The Content-Type charset takes precedence over the body's ok_charset."""
    fields = replaced(LIVE_2016, ok_item_1_name="Crème brûlée")
    body = urlencode(fields, encoding="latin-1").encode("ascii")
    message = parse_ipn(
        body, content_type='application/x-www-form-urlencoded; charset="ISO-8859-1"'
    )
    assert message.charset == "iso8859-1"
    assert message.get("ok_item_1_name") == "Crème brûlée"
    assert message.get("ok_charset") == "utf-8"  # what the body claimed, kept raw


def test_parse_ipn_no_charset_anywhere_defaults_to_utf8():
    """With no charset in header or body, UTF-8 is used."""
    body = encode_ipn([("ok_txn_id", "1"), ("ok_item_1_name", ITEM_NAME)])
    message = parse_ipn(body, content_type=None)
    assert (message.charset, message.get("ok_item_1_name")) == ("utf-8", ITEM_NAME)


def test_parse_ipn_plus_and_blank_segments_tolerated():
    """'+' is a space and empty segments (a trailing '&') are skipped."""
    message = parse_ipn(b"ok_txn_id=1&&ok_invoice=a+b%2Bc&")
    assert message.fields == (("ok_txn_id", "1"), ("ok_invoice", "a b+c"))


def test_ipn_message_from_fields_validates_like_parse():
    """Building IpnMessage directly applies the same checks."""
    with pytest.raises(MalformedNotification, match="ok_txn_gross"):
        IpnMessage(fields=(("ok_txn_id", "1"), ("ok_txn_gross", "1")))
    message = IpnMessage(fields=(("ok_ipn_id", "9"),))
    assert message == IpnMessage(fields=(("ok_ipn_id", "9"),))
    assert hash(message) == hash(IpnMessage(fields=(("ok_ipn_id", "9"),)))


MALFORMED = [
    (b"", None, "no ok_"),
    (b"hello world", None, "urlencoded"),
    (b"=1&ok_txn_id=2", None, "urlencoded"),
    (b"a=1&b=2", None, "no ok_"),
    (b"ok_charset=utf-8&ok_invoice=x", None, "neither ok_txn_id nor ok_ipn_id"),
    (b"ok_txn_id=1&ok_txn_id=2", None, "more than once"),
    (b"ok_txn_id=abc", None, "ok_txn_id"),
    (b"ok_txn_id=-5", None, "ok_txn_id"),
    (b"ok_ipn_id=1.5", None, "ok_ipn_id"),
    (b"ok_txn_id=1&ok_p_id=x", None, "ok_p_id"),
    (b"ok_txn_id=1&ok_txn_gross=1.0", None, "ok_txn_gross"),
    (b"ok_txn_id=1&ok_txn_gross=1%2C000.00", None, "ok_txn_gross"),
    (b"ok_txn_id=1&ok_txn_net=1.00+", None, "ok_txn_net"),
    (b"ok_txn_id=1&ok_txn_fee=%241.00", None, "ok_txn_fee"),
    (b"ok_txn_id=1&ok_txn_amount=1e3", None, "ok_txn_amount"),
    (b"ok_txn_id=1&ok_txn_datetime=2016-11-18T10%3A28%3A06", None, "ok_txn_datetime"),
    (b"ok_txn_id=1&ok_txn_datetime=2016-02-30+10%3A28%3A06", None, "real date"),
    (b"ok_txn_id=1&ok_txn_status=paid", None, "ok_txn_status"),
    (b"ok_txn_id=1&ok_p_event=renewed", None, "ok_p_event"),
    (b"ok_txn_id=1&ok_p_status=paused", None, "ok_p_status"),
    (b"ok_txn_id=1&ok_ipn_test=yes", None, "ok_ipn_test"),
    (b"ok_txn_id=1&ok_fees=2", None, "ok_fees"),
    (b"ok_txn_id=1&ok_txn_currency=US", None, "ok_txn_currency"),
    (b"ok_txn_id=1&ok_p_end_date=31.01.2027", None, "ok_p_end_date"),
    (b"ok_txn_id=1&ok_p_daily_amount=-1.00", None, "ok_p_daily_amount"),
    (b"ok_txn_id=1&ok_item_1_name=%FF%FE", None, "utf-8"),
    (b"ok_txn_id=1&ok_item_1_name=\xff", None, "utf-8"),
    (b"ok_charset=klingon&ok_txn_id=1", None, "unknown character set"),
    (b"ok_charset=utf-16&ok_txn_id=1", None, "cannot carry"),
    (b"ok_charset=%FF&ok_txn_id=1", None, "ASCII"),
    (b"ok_txn_id=1", "application/x-www-form-urlencoded; charset=bogus", "unknown"),
]


@pytest.mark.parametrize(("body", "content_type", "message"), MALFORMED)
def test_parse_ipn_malformed_body_raises_malformed_notification(
    body, content_type, message
):
    """Unreadable bodies and bad values raise MalformedNotification saying why."""
    with pytest.raises(MalformedNotification, match=message):
        parse_ipn(body, content_type=content_type)


def test_parse_ipn_non_bytes_raises_malformed_notification():
    """A str body is a caller bug reported as MalformedNotification."""
    with pytest.raises(MalformedNotification, match="bytes"):
        parse_ipn("ok_txn_id=1")  # type: ignore[arg-type]


def test_encode_ipn_keeps_order_and_encodes_utf8():
    """encode_ipn urlencodes in the given order, UTF-8, '+' for spaces."""
    body = encode_ipn([("ok_b", "x y"), ("ok_a", "ё&=")])
    assert body == b"ok_b=x+y&ok_a=%D1%91%26%3D"
    assert parse_ipn(body + b"&ok_txn_id=1").fields[:2] == (
        ("ok_b", "x y"),
        ("ok_a", "ё&="),
    )


# -- postback ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        encode_ipn(LIVE_2016),
        urlencode(
            replaced(LIVE_2016, ok_charset="windows-1251"), encoding="cp1251"
        ).encode(),
        b"ok_txn_id=1&ok_invoice=%7e%7E+a%20b&&ok_x=\xd0\x9f&",
        b"",
    ],
)
def test_build_postback_body_prefix_then_identical_bytes(raw):
    """The postback is ok_verify=true& followed by the received bytes, unchanged."""
    body = build_postback_body(raw)
    assert body[: len(POSTBACK_PREFIX)] == b"ok_verify=true&"
    assert body[len(POSTBACK_PREFIX) :] == raw
    assert body == b"ok_verify=true&" + raw


def test_build_postback_body_non_bytes_raises_type_error():
    """Only bytes are accepted, so nothing gets re-encoded by accident."""
    with pytest.raises(TypeError):
        build_postback_body("ok_txn_id=1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b"VERIFIED", VerificationResult.VERIFIED),
        (200, b"INVALID", VerificationResult.INVALID),
        (200, b"TEST", VerificationResult.TEST),
        (200, b"  VERIFIED\r\n", VerificationResult.VERIFIED),
        (200, b"\nINVALID\n", VerificationResult.INVALID),
        (200, b"verified", VerificationResult.UNVERIFIABLE),
        (200, b"VERIFIED!", VerificationResult.UNVERIFIABLE),
        (200, b"VERIFIED INVALID", VerificationResult.UNVERIFIABLE),
        (200, b"<html>VERIFIED</html>", VerificationResult.UNVERIFIABLE),
        (200, b"", VerificationResult.UNVERIFIABLE),
        (200, b"\xff\xfe", VerificationResult.UNVERIFIABLE),
        (201, b"VERIFIED", VerificationResult.UNVERIFIABLE),
        (302, b"VERIFIED", VerificationResult.UNVERIFIABLE),
        (404, b"INVALID", VerificationResult.UNVERIFIABLE),
        (500, b"VERIFIED", VerificationResult.UNVERIFIABLE),
        (503, b"", VerificationResult.UNVERIFIABLE),
    ],
)
def test_interpret_verify_answer_table(status, body, expected):
    """Only HTTP 200 with one exact answer word is a verdict."""
    assert interpret_verify_answer(status, body) is expected


@pytest.mark.parametrize(
    ("result", "allow_test", "expected"),
    [
        (VerificationResult.VERIFIED, False, True),
        (VerificationResult.VERIFIED, True, True),
        (VerificationResult.TEST, False, False),
        (VerificationResult.TEST, True, True),
        (VerificationResult.INVALID, True, False),
        (VerificationResult.UNVERIFIABLE, True, False),
    ],
)
def test_is_acceptable_table(result, allow_test, expected):
    """VERIFIED always passes; TEST only where test answers are allowed."""
    assert is_acceptable(result, allow_test=allow_test) is expected


# -- verify_ipn against a real loopback server -----------------------------------

TIMEOUT = (2.0, 0.5)
SLEEP_PAST_TIMEOUT = 2.0


class _VerifyHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass  # keep the access log out of test output

    def _answer(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.received.append((self.path, self.headers.get("Content-Type"), body))
        path = self.path
        if path == "/verified":
            self._answer(200, b"VERIFIED")
        elif path == "/invalid":
            self._answer(200, b"INVALID")
        elif path == "/test":
            self._answer(200, b"TEST\n")
        elif path == "/error":
            self._answer(500, b"Internal Server Error")
        elif path == "/garbage":
            self._answer(200, b"<html><body>Welcome to nginx</body></html>")
        elif path == "/huge":
            self._answer(200, b"VERIFIED" + b" " * 5000)
        elif path == "/redirect":
            self._answer(302, b"", headers=[("Location", "https://elsewhere.example/")])
        elif path == "/slow":
            time.sleep(SLEEP_PAST_TIMEOUT)
            self._answer(200, b"VERIFIED")
        elif path == "/stall-body":
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.flush()
            time.sleep(SLEEP_PAST_TIMEOUT)
            self.wfile.write(b"VERIFIED")
        else:
            self._answer(404, b"not found")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the slow handlers write to sockets the client already closed


@pytest.fixture
def verify_server():
    server = _QuietServer(("127.0.0.1", 0), _VerifyHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address
    try:
        yield server, f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def session():
    with requests.Session() as http:
        yield http


@pytest.mark.live
@pytest.mark.parametrize(
    ("path", "expected", "answer"),
    [
        ("/verified", VerificationResult.VERIFIED, "VERIFIED"),
        ("/invalid", VerificationResult.INVALID, "INVALID"),
        ("/test", VerificationResult.TEST, "TEST"),
    ],
)
def test_verify_ipn_server_answer_word_becomes_result(
    verify_server, session, path, expected, answer
):
    """A 200 with an answer word gives that result and posts the exact body."""
    server, base = verify_server
    raw = urlencode(replaced(LIVE_2016, ok_charset="windows-1251"), encoding="cp1251")
    raw_bytes = raw.encode("ascii")
    outcome = verify_ipn(
        raw_bytes, verify_url=base + path, session=session, timeout=TIMEOUT
    )
    assert outcome == VerificationOutcome(expected, status_code=200, answer=answer)
    [(seen_path, content_type, body)] = server.received
    assert seen_path == path
    assert content_type == "application/x-www-form-urlencoded"
    assert body == b"ok_verify=true&" + raw_bytes


@pytest.mark.live
@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/error", 500, "HTTP 500"),
        ("/garbage", 200, "unexpected answer"),
        ("/huge", 200, "longer than"),
        ("/redirect", 302, "redirect to https://elsewhere.example/"),
        ("/nowhere", 404, "HTTP 404"),
    ],
)
def test_verify_ipn_unusable_answer_is_unverifiable(
    verify_server, session, path, status, error
):
    """5xx, 4xx, redirects and garbage give UNVERIFIABLE with the reason."""
    _, base = verify_server
    outcome = verify_ipn(
        encode_ipn(LIVE_2016), verify_url=base + path, session=session, timeout=TIMEOUT
    )
    assert outcome.result is VerificationResult.UNVERIFIABLE
    assert outcome.status_code == status
    assert error in outcome.error


@pytest.mark.live
def test_verify_ipn_server_slower_than_read_timeout_is_unverifiable(
    verify_server, session
):
    """No answer within the read timeout gives UNVERIFIABLE, not an exception."""
    _, base = verify_server
    outcome = verify_ipn(
        encode_ipn(LIVE_2016),
        verify_url=base + "/slow",
        session=session,
        timeout=TIMEOUT,
    )
    assert outcome.result is VerificationResult.UNVERIFIABLE
    assert outcome.status_code is None
    assert outcome.error.startswith("timeout: ReadTimeout")


@pytest.mark.live
def test_verify_ipn_body_stalls_after_headers_is_unverifiable(verify_server, session):
    """A body that never arrives within the read timeout gives UNVERIFIABLE."""
    _, base = verify_server
    outcome = verify_ipn(
        encode_ipn(LIVE_2016),
        verify_url=base + "/stall-body",
        session=session,
        timeout=TIMEOUT,
    )
    assert outcome.result is VerificationResult.UNVERIFIABLE
    assert outcome.status_code is None
    assert "Timeout" in outcome.error or "timed out" in outcome.error


@pytest.mark.live
def test_verify_ipn_connection_refused_is_unverifiable(session):
    """A closed port gives UNVERIFIABLE with a connection error."""
    server = _QuietServer(("127.0.0.1", 0), _VerifyHandler)
    host, port = server.server_address
    server.server_close()  # nothing listens on this port any more
    outcome = verify_ipn(
        encode_ipn(LIVE_2016),
        verify_url=f"http://{host}:{port}/verified",
        session=session,
        timeout=TIMEOUT,
    )
    assert outcome.result is VerificationResult.UNVERIFIABLE
    assert outcome.status_code is None
    assert outcome.error.startswith("request failed: ConnectionError")


def test_verify_ipn_invalid_url_is_unverifiable(session):
    """A broken verify URL is reported, not raised."""
    outcome = verify_ipn(
        b"ok_txn_id=1", verify_url="not a url", session=session, timeout=TIMEOUT
    )
    assert outcome.result is VerificationResult.UNVERIFIABLE
    assert outcome.error.startswith("request failed: InvalidURL")


@pytest.mark.parametrize("timeout", [None, 5.0, (5.0,), (0, 1.0), (1.0, -1.0)])
def test_verify_ipn_bad_timeout_raises_value_error(session, timeout):
    """Explicit positive (connect, read) timeouts are mandatory."""
    with pytest.raises(ValueError, match="timeout"):
        verify_ipn(
            b"ok_txn_id=1",
            verify_url="http://127.0.0.1:9/",
            session=session,
            timeout=timeout,
        )


# -- property ----------------------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "ok_charset",
        "ok_txn_id",
        "ok_ipn_id",
        "ok_p_id",
        "ok_txn_gross",
        "ok_txn_fee",
        "ok_txn_datetime",
        "ok_txn_status",
        "ok_p_event",
        "ok_p_status",
        "ok_p_end_date",
        "ok_p_daily_amount",
        "ok_ipn_test",
        "ok_fees",
        "ok_txn_currency",
        "ok_item_1_name",
        "other",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "1",
            "1.00",
            "-1.00",
            "utf-8",
            "utf-16",
            "cp1251",
            "2016-11-18 10:28:06",
            "completed",
        ]
    ),
)
_CONTENT_TYPES = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.builds(
        "application/x-www-form-urlencoded; charset={}".format,
        st.sampled_from(["utf-8", "latin-1", "utf-16", "bogus", "", "cp037", "rot13"]),
    ),
)


def _assert_parse_total(body, content_type):
    try:
        result = parse_ipn(body, content_type=content_type)
    except MalformedNotification:
        return
    assert isinstance(result, IpnMessage)
    assert result.txn_id is not None or result.ipn_id is not None


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), content_type=_CONTENT_TYPES)
def test_parse_ipn_arbitrary_bytes_message_or_malformed(body, content_type):
    """Any bytes either parse or raise MalformedNotification, nothing else."""
    _assert_parse_total(body, content_type)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(st.tuples(_NAMES, _VALUES), max_size=8),
    charset=st.sampled_from(["utf-8", "latin-1", "cp1251"]),
    suffix=st.binary(max_size=8),
    content_type=_CONTENT_TYPES,
)
def test_parse_ipn_near_valid_forms_message_or_malformed(
    fields, charset, suffix, content_type
):
    """Plausible ok_* forms with odd values either parse or raise MalformedNotification."""
    body = (
        urlencode(fields, encoding=charset, errors="replace").encode("ascii") + suffix
    )
    _assert_parse_total(body, content_type)
