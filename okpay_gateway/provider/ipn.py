"""IPN messages: reading them, and asking OKPAY whether they are genuine.

An IPN is an ``application/x-www-form-urlencoded`` POST whose field names start
with ``ok_`` (okpay-ipn-links.md section 2). It is verified by posting the
received body back, preceded by ``ok_verify=true``, to the verify URL; the
answer is ``VERIFIED``, ``INVALID`` or (simulator) ``TEST`` (section 3.2).

Everything here is pure except :func:`verify_ipn`, the one HTTP call.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from urllib.parse import unquote_plus, unquote_to_bytes, urlencode

import requests

from okpay_gateway.exceptions import MalformedNotification
from okpay_gateway.provider.currencies import is_currency_code, parse_money
from okpay_gateway.provider.fees import OkFees

logger = logging.getLogger(__name__)

POSTBACK_PREFIX = b"ok_verify=true&"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
DEFAULT_CHARSET = "utf-8"

# A real IPN has well under 100 fields; the cap keeps hostile bodies cheap.
MAX_FIELDS = 1000
# Verify answers are one word; anything longer is garbage and is not read further.
MAX_ANSWER_BYTES = 1024

_ID_RE = re.compile(r"[0-9]{1,18}")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CHARSET_IN_BODY_RE = re.compile(rb"(?:^|&)ok_charset=([^&]*)")
_CHARSET_PARAM_RE = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


class TxnStatus(StrEnum):
    """``ok_txn_status`` (okpay-ipn-links.md 2.5)."""

    COMPLETED = "completed"
    PENDING = "pending"
    HOLD = "hold"
    REVERSED = "reversed"
    CANCELED = "canceled"
    ERROR = "error"


class PreapprovedEvent(StrEnum):
    """``ok_p_event``: what happened to a billing agreement."""

    ACCESS_GRANTED = "access_granted"
    ACCESS_DENIED = "access_denied"
    PAYMENT = "payment"


class PreapprovedStatus(StrEnum):
    """``ok_p_status``: the agreement's status after the event."""

    ACTIVE = "active"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


E = TypeVar("E", bound=StrEnum)


class VerificationResult(StrEnum):
    """What the verify postback said; UNVERIFIABLE when it said nothing usable."""

    VERIFIED = "VERIFIED"
    INVALID = "INVALID"
    TEST = "TEST"
    UNVERIFIABLE = "UNVERIFIABLE"


# -- field readers (each raises MalformedNotification on bad input) ------------


def _malformed(name: str, value: str, expected: str) -> MalformedNotification:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return MalformedNotification(f"{name}={shown!r} is not {expected}")


def _read_int(name: str, value: str | None) -> int | None:
    if not value:
        return None
    if not _ID_RE.fullmatch(value):
        raise _malformed(name, value, "a decimal integer")
    return int(value)


def _read_money(name: str, value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        return parse_money(value)
    except ValueError:
        raise _malformed(name, value, "money in the form 123.45") from None


def _read_datetime(name: str, value: str | None) -> dt.datetime | None:
    if not value:
        return None
    match = _DATETIME_RE.fullmatch(value)
    if not match:
        raise _malformed(name, value, "a time in the form YYYY-MM-DD HH:MM:SS")
    try:
        # OKPAY sends no zone; assumption A19 reads it as UTC.
        year, month, day, hour, minute, second = (int(p) for p in match.groups())
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        raise _malformed(name, value, "a real date and time") from None


def _read_date(name: str, value: str | None) -> dt.date | None:
    if not value:
        return None
    if not _DATE_RE.fullmatch(value):
        raise _malformed(name, value, "a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _malformed(name, value, "a real date") from None


def _read_enum(name: str, value: str | None, enum: type[E]) -> E | None:
    if not value:
        return None
    try:
        return enum(value.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise _malformed(name, value, f"one of {allowed}") from None


def _read_text(value: str | None) -> str | None:
    return value or None


# -- the message -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IpnMessage:
    """A decoded IPN: every field in arrival order, plus typed views of the known ones.

    Build it with :func:`parse_ipn` (from the raw body) or directly from
    ``fields``; construction validates the known fields and raises
    :class:`MalformedNotification`. Empty values read as None. Fields the
    parser does not know are kept in ``fields`` and available via :meth:`get`.
    """

    fields: tuple[tuple[str, str], ...]
    charset: str = DEFAULT_CHARSET

    ipn_id: int | None = field(init=False, compare=False)
    txn_id: int | None = field(init=False, compare=False)
    txn_parent_id: int | None = field(init=False, compare=False)
    txn_kind: str | None = field(init=False, compare=False)
    txn_status: TxnStatus | None = field(init=False, compare=False)
    pending_reason: str | None = field(init=False, compare=False)
    reversal_reason: str | None = field(init=False, compare=False)
    event: PreapprovedEvent | None = field(init=False, compare=False)
    contract_status: PreapprovedStatus | None = field(init=False, compare=False)
    contract_id: int | None = field(init=False, compare=False)
    gross: Decimal | None = field(init=False, compare=False)
    net: Decimal | None = field(init=False, compare=False)
    fee: Decimal | None = field(init=False, compare=False)
    amount: Decimal | None = field(init=False, compare=False)
    currency: str | None = field(init=False, compare=False)
    receiver: str | None = field(init=False, compare=False)
    receiver_wallet: str | None = field(init=False, compare=False)
    receiver_id: str | None = field(init=False, compare=False)
    receiver_email: str | None = field(init=False, compare=False)
    invoice: str | None = field(init=False, compare=False)
    payer_email: str | None = field(init=False, compare=False)
    payer_wallet: str | None = field(init=False, compare=False)
    datetime: dt.datetime | None = field(init=False, compare=False)
    is_test: bool = field(init=False, compare=False)
    title: str | None = field(init=False, compare=False)
    end_date: dt.date | None = field(init=False, compare=False)
    daily_limit: Decimal | None = field(init=False, compare=False)
    weekly_limit: Decimal | None = field(init=False, compare=False)
    monthly_limit: Decimal | None = field(init=False, compare=False)
    fee_payer: OkFees | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        fields = tuple((str(name), str(value)) for name, value in self.fields)
        object.__setattr__(self, "fields", fields)
        first: dict[str, str] = {}
        for name, value in fields:
            if name in first and first[name] != value:
                raise MalformedNotification(
                    f"{name} appears more than once with different values"
                )
            first.setdefault(name, value)
        if not any(name.startswith("ok_") for name in first):
            raise MalformedNotification("the body has no ok_* fields")
        get = first.get
        values: dict[str, object] = {
            "ipn_id": _read_int("ok_ipn_id", get("ok_ipn_id")),
            "txn_id": _read_int("ok_txn_id", get("ok_txn_id")),
            "txn_parent_id": _read_int("ok_txn_parent_id", get("ok_txn_parent_id")),
            "txn_kind": _read_text(get("ok_txn_kind")),
            "txn_status": _read_enum("ok_txn_status", get("ok_txn_status"), TxnStatus),
            "pending_reason": _read_text(get("ok_txn_pending_reason")),
            "reversal_reason": _read_text(get("ok_txn_reversal_reason")),
            "event": _read_enum("ok_p_event", get("ok_p_event"), PreapprovedEvent),
            "contract_status": _read_enum(
                "ok_p_status", get("ok_p_status"), PreapprovedStatus
            ),
            "contract_id": _read_int("ok_p_id", get("ok_p_id")),
            "gross": _read_money("ok_txn_gross", get("ok_txn_gross")),
            "net": _read_money("ok_txn_net", get("ok_txn_net")),
            "fee": _read_money("ok_txn_fee", get("ok_txn_fee")),
            "amount": _read_money("ok_txn_amount", get("ok_txn_amount")),
            "currency": _read_currency(get("ok_txn_currency")),
            "receiver": _read_text(get("ok_receiver")),
            "receiver_wallet": _read_text(get("ok_receiver_wallet")),
            "receiver_id": _read_text(get("ok_receiver_id")),
            "receiver_email": _read_text(get("ok_receiver_email")),
            "invoice": _read_text(get("ok_invoice")),
            "payer_email": _read_text(get("ok_payer_email")),
            "payer_wallet": _read_text(get("ok_payer_wallet")),
            "datetime": _read_datetime("ok_txn_datetime", get("ok_txn_datetime")),
            "is_test": _read_test_flag(get("ok_ipn_test")),
            "title": _read_text(get("ok_p_title")),
            "end_date": _read_date("ok_p_end_date", get("ok_p_end_date")),
            "daily_limit": _read_limit("ok_p_daily_amount", get("ok_p_daily_amount")),
            "weekly_limit": _read_limit(
                "ok_p_weekly_amount", get("ok_p_weekly_amount")
            ),
            "monthly_limit": _read_limit(
                "ok_p_monthly_amount", get("ok_p_monthly_amount")
            ),
            "fee_payer": _read_enum("ok_fees", get("ok_fees"), OkFees),
        }
        if values["txn_id"] is None and values["ipn_id"] is None:
            raise MalformedNotification(
                "the message has neither ok_txn_id nor ok_ipn_id"
            )
        for field_name, field_value in values.items():
            object.__setattr__(self, field_name, field_value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The raw value of the first field called ``name``."""
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def as_dict(self) -> dict[str, str]:
        """Fields by name (a repeated field appears once: repeats are identical)."""
        result: dict[str, str] = {}
        for name, value in self.fields:
            result.setdefault(name, value)
        return result

    @property
    def is_preapproved(self) -> bool:
        """Whether this concerns a billing agreement.

        Route on this, not on ``ok_txn_kind`` (assumption A10).
        """
        return self.event is not None or self.contract_id is not None


def _read_currency(value: str | None) -> str | None:
    if not value:
        return None
    if not is_currency_code(value):
        raise _malformed("ok_txn_currency", value, "a three-letter currency code")
    return value.upper()


def _read_limit(name: str, value: str | None) -> Decimal | None:
    amount = _read_money(name, value)
    if amount is not None and amount <= 0:
        raise _malformed(name, value or "", "a positive amount")
    return amount


def _read_test_flag(value: str | None) -> bool:
    if value in (None, "", "0"):
        return False
    if value == "1":
        return True
    raise _malformed("ok_ipn_test", value, "0 or 1")


# -- decoding -------------------------------------------------------------------


def _codec_name(charset: str, source: str) -> str:
    """The Python codec for ``charset``; it must be ASCII-compatible for forms."""
    try:
        info = codecs.lookup(charset.strip())
        ascii_compatible = "ok_=&%+".encode(info.name) == b"ok_=&%+"
    except (LookupError, ValueError, TypeError, UnicodeError):
        raise MalformedNotification(
            f"unknown character set {charset!r} ({source})"
        ) from None
    if not ascii_compatible:
        raise MalformedNotification(
            f"character set {charset!r} ({source}) cannot carry a urlencoded form"
        )
    return info.name


def _charset_of(body: bytes, content_type: str | None) -> tuple[str, str]:
    if content_type:
        match = _CHARSET_PARAM_RE.search(content_type)
        if match:
            return match.group(1), "Content-Type"
    in_body = _CHARSET_IN_BODY_RE.search(body)
    if in_body:
        raw = unquote_to_bytes(in_body.group(1).replace(b"+", b" "))
        try:
            declared = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedNotification("ok_charset is not an ASCII name") from None
        if declared.strip():
            return declared, "ok_charset"
    return DEFAULT_CHARSET, "default"


def decode_form(body: bytes, charset: str) -> tuple[tuple[str, str], ...]:
    """``body`` split into (name, value) pairs, decoded with ``charset``.

    Empty segments (``a=1&&b=2``, a trailing ``&``) are skipped; a segment
    without ``=`` or bytes invalid in ``charset`` raise MalformedNotification.
    """
    try:
        text = body.decode(charset)
    except UnicodeDecodeError:
        raise MalformedNotification(f"the body is not valid {charset}") from None
    pairs: list[tuple[str, str]] = []
    for segment in text.split("&"):
        if not segment:
            continue
        if len(pairs) >= MAX_FIELDS:
            raise MalformedNotification(f"more than {MAX_FIELDS} fields")
        name, sep, value = segment.partition("=")
        if not sep or not name:
            raise MalformedNotification("the body is not an urlencoded form")
        try:
            pairs.append(
                (
                    unquote_plus(name, encoding=charset, errors="strict"),
                    unquote_plus(value, encoding=charset, errors="strict"),
                )
            )
        except UnicodeDecodeError:
            raise MalformedNotification(f"a field is not valid {charset}") from None
    return tuple(pairs)


def parse_ipn(body: bytes, *, content_type: str | None = None) -> IpnMessage:
    """Decode and read a raw IPN body.

    The character set comes from ``content_type`` (the request's Content-Type
    header), else the body's ``ok_charset``, else UTF-8. Raises
    :class:`MalformedNotification` for anything that is not a readable IPN.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise MalformedNotification(
            f"the body must be bytes, not {type(body).__name__}"
        )
    raw = bytes(body)
    declared, source = _charset_of(raw, content_type)
    charset = _codec_name(declared, source)
    return IpnMessage(fields=decode_form(raw, charset), charset=charset)


def encode_ipn(fields: Sequence[tuple[str, str]]) -> bytes:
    """An IPN body: ``fields`` urlencoded as UTF-8, in the given order."""
    return urlencode(list(fields), encoding="utf-8").encode("ascii")


# -- verification ---------------------------------------------------------------


def build_postback_body(raw_body: bytes) -> bytes:
    """The verify request body: ``ok_verify=true&`` then the IPN body, byte for byte.

    The received bytes are never re-encoded, so charset and field order are
    exactly what OKPAY sent (assumption A21, PayPal's rule).
    """
    if not isinstance(raw_body, (bytes, bytearray, memoryview)):
        raise TypeError(f"raw_body must be bytes, not {type(raw_body).__name__}")
    return POSTBACK_PREFIX + bytes(raw_body)


_ANSWERS = {
    b"VERIFIED": VerificationResult.VERIFIED,
    b"INVALID": VerificationResult.INVALID,
    b"TEST": VerificationResult.TEST,
}


def interpret_verify_answer(status_code: int, body: bytes) -> VerificationResult:
    """Read the verify endpoint's answer.

    Only HTTP 200 with exactly ``VERIFIED``, ``INVALID`` or ``TEST`` (surrounding
    whitespace allowed) counts; everything else is UNVERIFIABLE.
    """
    if status_code != 200:
        return VerificationResult.UNVERIFIABLE
    return _ANSWERS.get(bytes(body).strip(), VerificationResult.UNVERIFIABLE)


def is_acceptable(result: VerificationResult, *, allow_test: bool) -> bool:
    """Whether a message with this verification result may change state."""
    if result is VerificationResult.VERIFIED:
        return True
    return result is VerificationResult.TEST and allow_test


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    """One postback: the verdict, what the server said, and why if unusable."""

    result: VerificationResult
    status_code: int | None = None
    answer: str = ""
    error: str = ""


def _check_timeout(timeout: tuple[float, float]) -> None:
    if (
        not isinstance(timeout, tuple)
        or len(timeout) != 2
        or not all(isinstance(t, (int, float)) and t > 0 for t in timeout)
    ):
        raise ValueError("timeout must be a (connect, read) tuple of positive seconds")


def _read_answer(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=256):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[: MAX_ANSWER_BYTES + 1]


def verify_ipn(
    raw_body: bytes,
    *,
    verify_url: str,
    session: requests.Session,
    timeout: tuple[float, float],
) -> VerificationOutcome:
    """Post ``raw_body`` back to ``verify_url`` and report what OKPAY said.

    ``verify_url`` must come from settings, never from the message. Never
    raises a requests exception: timeouts, connection errors, redirects,
    non-200 answers and garbage come back as UNVERIFIABLE with ``error``
    saying why, so the caller can answer 5xx and let OKPAY redeliver.
    """
    _check_timeout(timeout)
    body = build_postback_body(raw_body)
    try:
        with session.post(
            verify_url,
            data=body,
            headers={"Content-Type": FORM_CONTENT_TYPE},
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
            content = _read_answer(response)
    except requests.Timeout as exc:
        logger.warning("IPN verify timed out: %s", type(exc).__name__)
        return VerificationOutcome(
            VerificationResult.UNVERIFIABLE,
            error=f"timeout: {type(exc).__name__}: {exc}",
        )
    except requests.RequestException as exc:
        logger.warning("IPN verify failed: %s", type(exc).__name__)
        return VerificationOutcome(
            VerificationResult.UNVERIFIABLE,
            error=f"request failed: {type(exc).__name__}: {exc}",
        )
    answer = content[:MAX_ANSWER_BYTES].decode("utf-8", errors="replace").strip()
    too_long = len(content) > MAX_ANSWER_BYTES
    result = (
        VerificationResult.UNVERIFIABLE
        if too_long
        else interpret_verify_answer(status, content)
    )
    error = ""
    if result is VerificationResult.UNVERIFIABLE:
        if 300 <= status < 400:
            error = (
                f"HTTP {status} redirect to {response.headers.get('Location', '?')}; "
                "configure the final verify URL"
            )
        elif status != 200:
            error = f"HTTP {status}"
        elif too_long:
            error = f"answer longer than {MAX_ANSWER_BYTES} bytes"
        else:
            error = f"unexpected answer {answer[:80]!r}"
        logger.warning("IPN verify unusable: %s", error)
    else:
        logger.info("IPN verify answered %s", result.value)
    return VerificationOutcome(result, status_code=status, answer=answer, error=error)
