"""Typed values for the OkPayAPI complex types and enumerations.

Every class mirrors one schema type of okpay-soap-api.md section 3, with the
members in schema order and snake_case names. ``from_wire`` builds one from a
plain mapping keyed by the contract's element names (what
``zeep.helpers.serialize_object`` gives for a result); ``to_wire`` is the
inverse and is what the emulator hands to zeep's serializers.

Wire rules applied here:

* money (``xs:decimal``) is :class:`~decimal.Decimal` both ways, never float;
* value-type members that are missing get their WCF default (``0``,
  ``false``, the first enumeration member), as a WCF DataContract would (G5);
* dates travel as ``yyyy-MM-dd HH:mm:ss`` UTC text and become aware
  datetimes, ``None`` when nil or empty (section 2.9, G9);
* anything that does not fit raises :class:`~okpay_gateway.exceptions.ProtocolError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar, Self, cast

from okpay_gateway.exceptions import InvalidRequest, ProtocolError

__all__ = [
    "AccountInfo",
    "Address",
    "AddressType",
    "Balance",
    "ClientStatus",
    "HistoryInfo",
    "HostedSubscriptionStatus",
    "OperationStatus",
    "PreapprovedPayment",
    "PreapprovedPaymentStatus",
    "Subscription",
    "SubscriptionCycleInterval",
    "TransactionInfo",
    "VerificationStatus",
    "WithdrawalInfo",
    "charge_comment",
    "format_okpay_datetime",
    "parse_okpay_datetime",
    "split_charge_comment",
    "validate_amount",
]

OKPAY_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")


# --- enumerations (section 3.13), values exactly as the contract spells them --


class OperationStatus(StrEnum):
    """``api:OperationStatus``: status of a transaction or withdrawal."""

    NONE = "None"
    ERROR = "Error"
    CANCELED = "Canceled"
    PENDING = "Pending"
    REVERSED = "Reversed"
    HOLD = "Hold"
    COMPLETED = "Completed"


class PreapprovedPaymentStatus(StrEnum):
    """``api:PreapprovedPaymentStatuses``."""

    ACTIVE = "Active"
    CANCELED = "Canceled"
    FAILED = "Failed"
    EXPIRED = "Expired"


class HostedSubscriptionStatus(StrEnum):
    """``api:SubscriptionStatuses``."""

    ACTIVE = "Active"
    CANCELED = "Canceled"
    FAILED = "Failed"
    EXPIRED = "Expired"
    MODIFIED = "Modified"
    SUSPENDED = "Suspended"


class SubscriptionCycleInterval(StrEnum):
    """``api:SubscriptionCycleIntervals``."""

    DAYS = "Days"
    WEEKS = "Weeks"
    MONTHS = "Months"
    YEARS = "Years"


class AddressType(StrEnum):
    """``api:AddressTypes``."""

    UNSET = "Unset"
    LEGAL = "Legal"
    ACTUAL = "Actual"
    POSTAL = "Postal"


class VerificationStatus(StrEnum):
    """``link:VerificationStatuses``."""

    UNVERIFIED = "Unverified"
    FORMAL = "Formal"
    VERIFIED = "Verified"


class ClientStatus(StrEnum):
    """``link:ClientStatus`` (result of ``EX_Client_Check_Status``)."""

    UNREGISTERED = "Unregistered"
    REGISTRATION = "Registration"
    UNVERIFIED = "Unverified"
    FORMAL = "Formal"
    VERIFIED = "Verified"
    BLOCKED = "Blocked"


# --- dates ------------------------------------------------------------------


def format_okpay_datetime(dt: datetime) -> str:
    """``dt`` as OKPAY's ``yyyy-MM-dd HH:mm:ss`` UTC text (aware datetimes only)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("OKPAY dates are UTC: pass a timezone-aware datetime")
    return dt.astimezone(UTC).strftime(OKPAY_DATETIME_FORMAT)


def parse_okpay_datetime(text: str | None) -> datetime | None:
    """An aware UTC datetime from OKPAY's date text; ``None`` for nil or empty.

    Raises ``ValueError`` for text in any other format.
    """
    if text is None or not text.strip():
        return None
    return datetime.strptime(text.strip(), OKPAY_DATETIME_FORMAT).replace(tzinfo=UTC)


# --- money ------------------------------------------------------------------


def validate_amount(
    amount: Decimal | int, *, operation: str = "", field_name: str = "amount"
) -> Decimal:
    """``amount`` checked for sending: a positive Decimal with at most 2 places.

    Returns it quantized to cents so it always serializes as plain ``0.00``
    text (``Decimal("1E+2")`` would otherwise be written in exponent form).
    Raises :class:`InvalidRequest` (``fault_code="Incorrect_Amount"``, the code
    OKPAY itself would answer with, G15) for anything else, floats included.
    """

    def reject(reason: str) -> InvalidRequest:
        return InvalidRequest(
            f"{field_name} {reason}",
            fault_code="Incorrect_Amount",
            operation=operation,
            retryable=False,
            field=field_name,
            user_message=f"The {field_name} is not valid.",
        )

    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise reject(f"must be a Decimal, not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite():
        raise reject("must be a finite number")
    if value <= 0:
        raise reject("must be positive")
    try:
        cents = value.quantize(CENT, rounding=ROUND_DOWN)
    except InvalidOperation as exc:
        raise reject("is too large") from exc
    if value != cents:
        raise reject("must have at most two decimal places")
    return cents


# --- the invoice of a pre-approved charge ------------------------------------


def charge_comment(invoice: str | None, comment: str | None) -> str | None:
    """The ``Comment`` sent with ``PreapprovedPayment_Charge``.

    ``PreapprovedPayment_Charge`` has no ``Invoice`` parameter (project
    assumption), so the invoice travels at the front of the comment:

    * no invoice: the comment unchanged (``None`` stays ``None``);
    * invoice only: exactly the invoice;
    * both: ``f"{invoice} {comment}"``.

    An invoice therefore must not contain whitespace; :func:`split_charge_comment`
    is the inverse (used by the emulator to file the invoice).
    """
    if invoice is None:
        return comment
    if not invoice or any(ch.isspace() for ch in invoice):
        raise InvalidRequest(
            "invoice must be non-empty and contain no whitespace",
            fault_code="Incorrect_Parameters",
            operation="PreapprovedPayment_Charge",
            retryable=False,
            field="invoice",
        )
    return f"{invoice} {comment}" if comment else invoice


def split_charge_comment(text: str | None) -> tuple[str | None, str | None]:
    """``(invoice, comment)`` from a charge ``Comment`` built by :func:`charge_comment`.

    The first whitespace-free word is the invoice; the rest, if any, the comment.
    """
    if text is None or not text.strip():
        return None, None
    head, _, rest = text.strip().partition(" ")
    return head, (rest or None)


# --- generic wire mapping ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Wire:
    name: str
    kind: str  # str | decimal | int | bool | datetime | enum | record | records
    target: Any = None  # enum class or record class
    item: str = ""  # item element name of an array type


def _wire(name: str, kind: str, target: Any = None, item: str = "") -> dict[str, _Wire]:
    return {"wire": _Wire(name, kind, target, item)}


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, float | bool):
        raise ValueError(f"money must not arrive as {type(value).__name__}")
    try:
        result = (
            Decimal(value)
            if isinstance(value, int | Decimal)
            else Decimal(str(value).strip())
        )
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return result


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool | float):
        raise ValueError(f"not an integer: {value!r}")
    return int(value)


def _items(value: Any, item: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = value.get(item)
        if value is None:
            return []
    if (
        isinstance(value, Mapping)
        or not isinstance(value, Iterable)
        or isinstance(value, str)
    ):
        return [value]
    return list(value)


def _from_wire_value(spec: _Wire, value: Any) -> Any:
    kind = spec.kind
    if kind == "str":
        return None if value is None else str(value)
    if kind == "datetime":
        return parse_okpay_datetime(None if value is None else str(value))
    if kind == "decimal":
        return Decimal(0) if value is None else _to_decimal(value)
    if kind == "int":
        return 0 if value is None else _to_int(value)
    if kind == "bool":
        return False if value is None else _to_bool(value)
    if kind == "enum":
        members = list(spec.target)
        return members[0] if value is None else spec.target(str(value))
    if kind == "record":
        return None if value is None else spec.target.from_wire(value)
    if kind == "records":
        return tuple(spec.target.from_wire(item) for item in _items(value, spec.item))
    raise AssertionError(kind)


def _to_wire_value(spec: _Wire, value: Any) -> Any:
    if value is None:
        return None
    kind = spec.kind
    if kind == "datetime":
        return format_okpay_datetime(value)
    if kind == "enum":
        return str(spec.target(value).value)
    if kind == "record":
        return value.to_wire()
    if kind == "records":
        return {spec.item: [item.to_wire() for item in value]}
    return value


def _as_mapping(data: Any) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    # zeep CompoundValue objects (and anything attribute-based) still work.
    if hasattr(data, "__values__"):
        return cast(Mapping[str, Any], data.__values__)
    raise ValueError(f"expected a mapping, got {type(data).__name__}")


class _WireRecord:
    """Shared ``from_wire`` / ``to_wire`` for the record classes below."""

    __slots__ = ()
    wire_type: ClassVar[str]

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Build from a mapping keyed by the contract's element names."""
        try:
            mapping = _as_mapping(data)
            values = {
                f.name: _from_wire_value(
                    f.metadata["wire"], mapping.get(f.metadata["wire"].name)
                )
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            }
        except ProtocolError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ProtocolError(
                f"unexpected {cls.wire_type} in OKPAY reply: {exc}"
            ) from exc
        return cls(**values)

    def to_wire(self) -> dict[str, Any]:
        """A mapping keyed by element names, in schema order, for zeep."""
        return {
            f.metadata["wire"].name: _to_wire_value(
                f.metadata["wire"], getattr(self, f.name)
            )
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }


# --- complex types (section 3), members in schema order ------------------------


@dataclass(frozen=True, slots=True)
class Balance(_WireRecord):
    """``api:Balance``: one currency balance of a wallet."""

    wire_type: ClassVar[str] = "Balance"
    amount: Decimal = field(metadata=_wire("Amount", "decimal"))
    currency: str | None = field(metadata=_wire("Currency", "str"))


@dataclass(frozen=True, slots=True)
class AccountInfo(_WireRecord):
    """``api:AccountInfo``: a party of a transaction or agreement."""

    wire_type: ClassVar[str] = "AccountInfo"
    account_id: int = field(metadata=_wire("AccountID", "int"))
    country_iso: str | None = field(metadata=_wire("Country_ISO", "str"))
    email: str | None = field(metadata=_wire("Email", "str"))
    name: str | None = field(metadata=_wire("Name", "str"))
    verification_status: VerificationStatus = field(
        metadata=_wire("VerificationStatus", "enum", VerificationStatus)
    )
    wallet_id: str | None = field(metadata=_wire("WalletID", "str"))


@dataclass(frozen=True, slots=True)
class TransactionInfo(_WireRecord):
    """``api:TransactionInfo``: one transfer; ``id`` is OKPAY's transaction ID."""

    wire_type: ClassVar[str] = "TransactionInfo"
    amount: Decimal = field(metadata=_wire("Amount", "decimal"))
    comment: str | None = field(metadata=_wire("Comment", "str"))
    currency: str | None = field(metadata=_wire("Currency", "str"))
    date: datetime | None = field(metadata=_wire("Date", "datetime"))
    fees: Decimal = field(metadata=_wire("Fees", "decimal"))
    id: int = field(metadata=_wire("ID", "int"))
    invoice: str | None = field(metadata=_wire("Invoice", "str"))
    net: Decimal = field(metadata=_wire("Net", "decimal"))
    operation_name: str | None = field(metadata=_wire("OperationName", "str"))
    receiver: AccountInfo | None = field(
        metadata=_wire("Receiver", "record", AccountInfo)
    )
    sender: AccountInfo | None = field(metadata=_wire("Sender", "record", AccountInfo))
    status: OperationStatus = field(metadata=_wire("Status", "enum", OperationStatus))


@dataclass(frozen=True, slots=True)
class HistoryInfo(_WireRecord):
    """``api:HistoryInfo``: one page of ``Transaction_History``."""

    wire_type: ClassVar[str] = "HistoryInfo"
    page_count: int = field(metadata=_wire("PageCount", "int"))
    page_number: int = field(metadata=_wire("PageNumber", "int"))
    page_size: int = field(metadata=_wire("PageSize", "int"))
    total_count: int = field(metadata=_wire("TotalCount", "int"))
    transactions: tuple[TransactionInfo, ...] = field(
        metadata=_wire("Transactions", "records", TransactionInfo, "TransactionInfo")
    )


@dataclass(frozen=True, slots=True)
class WithdrawalInfo(_WireRecord):
    """``api:Withdrawal_Info``: a withdrawal or its calculated cost."""

    wire_type: ClassVar[str] = "Withdrawal_Info"
    amount: Decimal = field(metadata=_wire("Amount", "decimal"))
    currency: str | None = field(metadata=_wire("Currency", "str"))
    exchange_rate: Decimal = field(metadata=_wire("ExchangeRate", "decimal"))
    fee: Decimal = field(metadata=_wire("Fee", "decimal"))
    gross: Decimal = field(metadata=_wire("Gross", "decimal"))
    operation_id: int = field(metadata=_wire("OperationID", "int"))
    pay_system_transaction_id: str | None = field(
        metadata=_wire("PaySystemTransactionID", "str")
    )
    payment_method: str | None = field(metadata=_wire("PaymentMethod", "str"))
    payment_method_amount: Decimal = field(
        metadata=_wire("PaymentMethodAmount", "decimal")
    )
    status: OperationStatus = field(metadata=_wire("Status", "enum", OperationStatus))


@dataclass(frozen=True, slots=True)
class Address(_WireRecord):
    """``dc:Address``: a subscription's shipping address."""

    wire_type: ClassVar[str] = "Address"
    address_line: str | None = field(metadata=_wire("AddressLine", "str"))
    city: str | None = field(metadata=_wire("City", "str"))
    country: str | None = field(metadata=_wire("Country", "str"))
    is_verified: bool = field(metadata=_wire("IsVerified", "bool"))
    region: str | None = field(metadata=_wire("Region", "str"))
    type: AddressType = field(metadata=_wire("Type", "enum", AddressType))
    zip_code: str | None = field(metadata=_wire("ZipCode", "str"))


@dataclass(frozen=True, slots=True)
class Subscription(_WireRecord):
    """``dc:Subscription``: a recurring-payment agreement."""

    wire_type: ClassVar[str] = "Subscription"
    client: AccountInfo | None = field(metadata=_wire("Client", "record", AccountInfo))
    currency: str | None = field(metadata=_wire("Currency", "str"))
    id: int = field(metadata=_wire("ID", "int"))
    is_active: bool = field(metadata=_wire("IsActive", "bool"))
    last_payment_at: datetime | None = field(
        metadata=_wire("LastPaymentDateTime", "datetime")
    )
    merchant_wallet_id: str | None = field(metadata=_wire("MerchantWalletID", "str"))
    next_payment_at: datetime | None = field(
        metadata=_wire("NextPaymentDateTime", "datetime")
    )
    outstanding_balance: Decimal = field(
        metadata=_wire("OutstandingBalance", "decimal")
    )
    reattempt_acum: bool = field(metadata=_wire("ReattemptAcum", "bool"))
    reattempt_days: int = field(metadata=_wire("ReattemptDays", "int"))
    regular_count: int = field(metadata=_wire("RegularCount", "int"))
    regular_cycle: int = field(metadata=_wire("RegularCycle", "int"))
    regular_interval: SubscriptionCycleInterval = field(
        metadata=_wire("RegularInterval", "enum", SubscriptionCycleInterval)
    )
    regular_payments_done: int = field(metadata=_wire("RegularPaymentsDone", "int"))
    regular_price: Decimal = field(metadata=_wire("RegularPrice", "decimal"))
    retry_at: datetime | None = field(metadata=_wire("RetryAt", "datetime"))
    setup_price: Decimal = field(metadata=_wire("SetupPrice", "decimal"))
    shipping_address: Address | None = field(
        metadata=_wire("ShippingAddress", "record", Address)
    )
    shipping_needed: bool = field(metadata=_wire("ShippingNeeded", "bool"))
    start_at: datetime | None = field(metadata=_wire("StartDateTime", "datetime"))
    status: HostedSubscriptionStatus = field(
        metadata=_wire("Status", "enum", HostedSubscriptionStatus)
    )
    title: str | None = field(metadata=_wire("Title", "str"))
    trial_count: int = field(metadata=_wire("TrialCount", "int"))
    trial_cycle: int = field(metadata=_wire("TrialCycle", "int"))
    trial_interval: SubscriptionCycleInterval = field(
        metadata=_wire("TrialInterval", "enum", SubscriptionCycleInterval)
    )
    trial_payments_done: int = field(metadata=_wire("TrialPaymentsDone", "int"))
    trial_price: Decimal = field(metadata=_wire("TrialPrice", "decimal"))
    valid_until: datetime | None = field(metadata=_wire("ValidUntil", "datetime"))


@dataclass(frozen=True, slots=True)
class PreapprovedPayment(_WireRecord):
    """``dc:PreapprovedPayment``: a pre-approved (merchant-initiated) payment contract."""

    wire_type: ClassVar[str] = "PreapprovedPayment"
    available_amount: Decimal = field(metadata=_wire("AvailableAmount", "decimal"))
    client: AccountInfo | None = field(metadata=_wire("Client", "record", AccountInfo))
    client_pays_fee: bool = field(metadata=_wire("ClientPaysFee", "bool"))
    currency: str | None = field(metadata=_wire("Currency", "str"))
    end_date: datetime | None = field(metadata=_wire("EndDate", "datetime"))
    id: int = field(metadata=_wire("ID", "int"))
    invoice: str | None = field(metadata=_wire("Invoice", "str"))
    last_payment_date: datetime | None = field(
        metadata=_wire("LastPaymentDate", "datetime")
    )
    merchant_wallet_id: str | None = field(metadata=_wire("MerchantWalletID", "str"))
    payments_amount: Decimal = field(metadata=_wire("PaymentsAmount", "decimal"))
    payments_done: int = field(metadata=_wire("PaymentsDone", "int"))
    start_date: datetime | None = field(metadata=_wire("StartDate", "datetime"))
    status: PreapprovedPaymentStatus = field(
        metadata=_wire("Status", "enum", PreapprovedPaymentStatus)
    )
    title: str | None = field(metadata=_wire("Title", "str"))
