"""OKPAY's business rules as the emulator applies them: pure functions, no ORM.

Each check returns ``None`` when the request passes, or the OKPAY fault
code (a :class:`FaultCode`, which is a ``str``) that OKPAY would answer.
The rules and their sources:

* security token (built by :mod:`okpay_gateway.provider.auth`):
  okpay-soap-api.md §5, window G3, case G4;
* limits: calendar windows in UTC over completed charges (A12), end date
  inclusive (A13), a charge over ``AvailableAmount`` is ``Limits_Exceeded`` (G13);
* fees (computed by :mod:`okpay_gateway.provider.fees`): 0.5 %, min 0.01,
  max 2.99, half-up to cents, every currency (A16);
  pre-approved charges are paid by the merchant unless the agreement says
  the client pays (A17, G10);
* amounts: two decimal places, at least 0.01 (G15);
* history paging: 1-based pages of 1..50 (G10).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from okpay_gateway.provider.auth import security_token
from okpay_gateway.provider.currencies import CENT
from okpay_gateway.provider.fees import fee_for

ZERO = Decimal("0.00")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class FaultCode(StrEnum):
    """The OKPAY fault codes the emulator answers with (exact spellings)."""

    API_DISABLED = "API_Disabled"
    INVALID_IP_ADDRESS = "Invalid_IP_Address"
    AUTHENTICATION_FAILED = "Authentication_Failed"
    ACCOUNT_API_DISABLED = "Account_API_Disabled"
    ACCESS_DENIED = "Access_Denied"
    INTERNAL_ERROR = "Internal_Error"
    SOURCE_ACCOUNT_BLOCKED = "Source_Account_Blocked"
    TARGET_ACCOUNT_BLOCKED = "Target_Account_Blocked"
    RECEIVER_NOT_FOUND = "Receiver_Not_Found"
    TRANSACTION_NOT_FOUND = "Transaction_Not_Found"
    CURRENCY_NOT_SUPPORTED = "Currency_Not_Supported"
    INCORRECT_AMOUNT = "Incorrect_Amount"
    NOT_ENOUGH_MONEY = "Not_Enough_Money"
    LIMITS_EXCEEDED = "Limits_Exceeded"
    MONEY_TRANSFER_TO_YOURSELF = "MoneyTransfer_To_Yourself"
    DUPLICATE_PAYMENT = "Duplicate_Payment"
    INCORRECT_PARAMETERS = "Incorrect_Parameters"
    ACCOUNT_NOT_FOUND = "Account_Not_Found"
    INCOMPATIBLE_PREAPPROVED_PAYMENT_STATUS = "Incompatible_PreapprovedPayment_Status"
    PREAPPROVED_PAYMENT_NOT_FOUND = "PreapprovedPayment_Not_Found"


# G1: these two are the provider's fault, everything else is the caller's.
SERVER_FAULT_CODES = frozenset({FaultCode.INTERNAL_ERROR, FaultCode.API_DISABLED})


# --- time ------------------------------------------------------------------


def format_datetime(value: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in UTC, the format of every OKPAY date (G9)."""
    return value.astimezone(UTC).strftime(DATETIME_FORMAT)


def parse_datetime(text: str) -> datetime | None:
    """Read ``yyyy-MM-dd HH:mm:ss`` (or a bare ``yyyy-MM-dd``) as UTC; None if unreadable."""
    text = (text or "").strip()
    for pattern in (DATETIME_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# --- security token ----------------------------------------------------------


def check_token(
    token: str | None,
    api_password: str,
    now: datetime,
    *,
    hours_before: int = 1,
    hours_after: int = 1,
    case_sensitive: bool = False,
) -> FaultCode | None:
    """Accept the token of the current UTC hour or of an hour within the window."""
    if not token or not api_password:
        return FaultCode.AUTHENTICATION_FAILED
    offered = token.strip() if case_sensitive else token.strip().upper()
    for shift in range(-hours_before, hours_after + 1):
        expected = security_token(api_password, now + timedelta(hours=shift))
        if hmac.compare_digest(offered.encode(), expected.encode()):
            return None
    return FaultCode.AUTHENTICATION_FAILED


# --- caller address ----------------------------------------------------------


def ip_allowed(remote_addr: str | None, allow_list: str) -> bool:
    """Whether ``remote_addr`` is in the wallet's list; an empty list allows any address.

    Entries are addresses or networks (``10.0.0.0/8``), separated by commas,
    semicolons or white space.
    """
    entries = [e for e in re.split(r"[\s,;]+", allow_list or "") if e]
    if not entries:
        return True
    try:
        address = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        return False
    for entry in entries:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


# --- amounts and currencies --------------------------------------------------


def check_amount(amount: Decimal | None) -> FaultCode | None:
    """Positive, at least one cent, at most two decimal places (G15)."""
    if amount is None:
        return FaultCode.INCORRECT_AMOUNT
    try:
        amount = Decimal(amount)
        if not amount.is_finite() or amount < CENT:
            return FaultCode.INCORRECT_AMOUNT
        if amount != amount.quantize(CENT):
            return FaultCode.INCORRECT_AMOUNT
    except (InvalidOperation, TypeError, ValueError):
        return FaultCode.INCORRECT_AMOUNT
    return None


def normalise_currency(code: str | None, supported: Iterable[str]) -> str | None:
    """The upper-case currency if supported, else None."""
    value = (code or "").strip().upper()
    return value if value in set(supported) else None


# --- fees --------------------------------------------------------------------


def transfer_fee(amount: Decimal, currency: str = "USD") -> Decimal:
    """``min(max(round_half_up(0.5 % × amount, 2), 0.01), 2.99)`` (A16, provider.fees)."""
    return fee_for(Decimal(amount).quantize(CENT), currency)


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one transfer moves money."""

    amount: Decimal
    fee: Decimal
    net: Decimal
    sender_debit: Decimal
    receiver_credit: Decimal
    sender_pays_fee: bool


def settle(amount: Decimal, currency: str, *, sender_pays_fee: bool) -> Settlement:
    """Gross ``amount``; the fee comes on top for the sender or off the receiver's share."""
    amount = Decimal(amount).quantize(CENT)
    fee = transfer_fee(amount, currency)
    if sender_pays_fee:
        return Settlement(amount, fee, amount, amount + fee, amount, True)
    return Settlement(amount, fee, amount - fee, amount, amount - fee, False)


def charge_settlement(
    amount: Decimal, currency: str, *, client_pays_fee: bool
) -> Settlement:
    """A pre-approved charge: the merchant pays the fee unless the client agreed to (A17)."""
    return settle(amount, currency, sender_pays_fee=client_pays_fee)


# --- pre-approved agreements -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    daily: Decimal | None = None
    weekly: Decimal | None = None
    monthly: Decimal | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.daily, self.weekly, self.monthly))


@dataclass(frozen=True, slots=True)
class Windows:
    """Starts of the UTC calendar windows that contain an instant."""

    day: datetime
    week: datetime
    month: datetime

    @property
    def earliest(self) -> datetime:
        return min(self.day, self.week, self.month)


@dataclass(frozen=True, slots=True)
class Spent:
    day: Decimal = ZERO
    week: Decimal = ZERO
    month: Decimal = ZERO


def windows_at(now: datetime) -> Windows:
    """Day, ISO week (from Monday 00:00) and calendar month, all in UTC."""
    moment = now.astimezone(UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    return Windows(day=day, week=week, month=month)


def spent_in_windows(
    charges: Iterable[tuple[datetime, Decimal]], now: datetime
) -> Spent:
    """Sum the gross of completed charges ``(created_at, amount)`` per window."""
    win = windows_at(now)
    day = week = month = ZERO
    for created_at, amount in charges:
        at = created_at.astimezone(UTC)
        if at > now:
            continue
        if at >= win.day:
            day += amount
        if at >= win.week:
            week += amount
        if at >= win.month:
            month += amount
    return Spent(day=day, week=week, month=month)


def remaining_allowance(limits: Limits, spent: Spent) -> Decimal | None:
    """The smallest remaining allowance over the capped windows; None if nothing is capped."""
    left = [
        limit - used
        for limit, used in (
            (limits.daily, spent.day),
            (limits.weekly, spent.week),
            (limits.monthly, spent.month),
        )
        if limit is not None
    ]
    if not left:
        return None
    return max(min(left), ZERO)


def is_past_end_date(end_date: date | None, now: datetime) -> bool:
    """True once the UTC day after ``end_date`` has begun (the end date is inclusive)."""
    return end_date is not None and now.astimezone(UTC).date() > end_date


def available_amount(
    *,
    active: bool,
    end_date: date | None,
    limits: Limits,
    spent: Spent,
    now: datetime,
    unlimited: Decimal,
) -> Decimal:
    """``PreapprovedPayment.AvailableAmount``.

    0 for an agreement that is not Active or past its end date; the smallest
    remaining allowance otherwise; ``unlimited`` when no window is capped.
    """
    if not active or is_past_end_date(end_date, now):
        return ZERO
    left = remaining_allowance(limits, spent)
    return unlimited if left is None else left


def check_limits(amount: Decimal, limits: Limits, spent: Spent) -> FaultCode | None:
    left = remaining_allowance(limits, spent)
    if left is not None and Decimal(amount) > left:
        return FaultCode.LIMITS_EXCEEDED
    return None


# --- history paging ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    size: int
    number: int
    count: int


def page_of(
    total: int, page_size: int, page_number: int, *, max_size: int
) -> Page | FaultCode:
    """Paging of ``Transaction_History`` (G10): 1-based, size 1..max_size."""
    if page_size < 1 or page_size > max_size or page_number < 1:
        return FaultCode.INCORRECT_PARAMETERS
    count = math.ceil(total / page_size) if total else 0
    return Page(
        offset=(page_number - 1) * page_size,
        size=page_size,
        number=page_number,
        count=count,
    )
