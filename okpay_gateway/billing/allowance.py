"""What a pre-approved contract still allows us to charge.

A billing agreement carries optional daily, weekly and monthly caps, an optional
inclusive end date and a currency (``okpay-ipn-links.md`` §1.5 and §4, A12–A14).
These functions answer, before any SOAP call, whether a charge would fit, so the
renewal engine can record a *skipped* decision with a reason instead of asking
OKPAY for a refusal.

Rules:

* Each given cap limits the sum of **completed** charges inside one **calendar
  window in UTC** (A12): the UTC day, the ISO week starting Monday 00:00 UTC, the
  calendar month. A cap left out (``None``) means no cap for that window. Only the
  window that contains ``at`` counts; a charge elsewhere in that window counts
  even if it lies after ``at``. The caller passes only completed charges (pending,
  canceled and reversed ones do not count toward the caps).
* The end date is inclusive (A13): the contract is usable until 23:59:59.999999
  UTC on that day. With no end date it never expires. Nothing remains of an
  expired contract.
* Charges are in the agreement's currency (A14); a charge in another currency
  does not fit.
* Money is ``Decimal`` only: a float (or any other type) raises ``TypeError``, a
  NaN, infinite or negative amount ``ValueError``. Datetimes must be aware; any
  zone is converted to UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from okpay_gateway.billing.schedule import to_utc

__all__ = [
    "ContractLimits",
    "SkipReason",
    "fits",
    "remaining_allowance",
]

_ZERO = Decimal(0)


class SkipReason(StrEnum):
    """Why a charge was not attempted under a contract."""

    CONTRACT_EXPIRED = "contract_expired"
    CURRENCY_MISMATCH = "currency_mismatch"
    OVER_DAILY_LIMIT = "over_daily_limit"
    OVER_WEEKLY_LIMIT = "over_weekly_limit"
    OVER_MONTHLY_LIMIT = "over_monthly_limit"
    OVER_AVAILABLE_AMOUNT = "over_available_amount"


@dataclass(frozen=True, slots=True)
class ContractLimits:
    """The caps of one billing agreement (``ok_p_*_amount``, ``ok_p_end_date``).

    ``currency`` is upper-cased (OKPAY treats it case-insensitively, A2).
    """

    daily: Decimal | None
    weekly: Decimal | None
    monthly: Decimal | None
    end_date: date | None
    currency: str

    def __post_init__(self) -> None:
        for name in ("daily", "weekly", "monthly"):
            value = getattr(self, name)
            if value is not None:
                _check_money(value, name)
        if self.end_date is not None and (
            isinstance(self.end_date, datetime) or not isinstance(self.end_date, date)
        ):
            raise TypeError(f"end_date must be a date, not {self.end_date!r}")
        if not isinstance(self.currency, str) or not (
            len(self.currency) == 3
            and self.currency.isascii()
            and self.currency.isalpha()
        ):
            raise ValueError(
                f"currency must be a 3-letter ISO 4217 code, not {self.currency!r}"
            )
        object.__setattr__(self, "currency", self.currency.upper())

    def is_expired(self, at: datetime) -> bool:
        """Whether the end date has passed at ``at`` (the end date is inclusive)."""
        moment = to_utc(at, "at")
        return self.end_date is not None and moment.date() > self.end_date


def remaining_allowance(
    limits: ContractLimits,
    charges: Iterable[tuple[datetime, Decimal]],
    at: datetime,
) -> Decimal | None:
    """How much may still be charged at ``at``; ``None`` when nothing caps it.

    The result is the smallest headroom of the given caps, never below 0, and 0
    once the contract has expired.
    """
    if limits.is_expired(at):
        return _ZERO
    headroom = _headroom(limits, charges, at)
    if not headroom:
        return None
    return max(min(headroom.values()), _ZERO)


def fits(
    limits: ContractLimits,
    charges: Iterable[tuple[datetime, Decimal]],
    amount: Decimal,
    at: datetime,
    provider_available: Decimal | None = None,
    *,
    currency: str | None = None,
) -> SkipReason | None:
    """``None`` if charging ``amount`` at ``at`` fits the contract, else the reason.

    ``provider_available`` is OKPAY's own ``AvailableAmount`` for the contract,
    when the caller has it. ``currency`` is the charge's currency, when it may
    differ from the agreement's. Checks run in a fixed order and the first
    failure is returned: expiry, currency, daily, weekly, monthly cap, then
    OKPAY's available amount.
    """
    _check_money(amount, "amount")
    if amount == _ZERO:
        raise ValueError("amount must be more than 0")
    if provider_available is not None:
        _check_money(provider_available, "provider_available")
    if limits.is_expired(at):
        return SkipReason.CONTRACT_EXPIRED
    if currency is not None and currency.upper() != limits.currency:
        return SkipReason.CURRENCY_MISMATCH
    for reason, room in _headroom(limits, charges, at).items():
        if amount > room:
            return reason
    if provider_available is not None and amount > provider_available:
        return SkipReason.OVER_AVAILABLE_AMOUNT
    return None


def _headroom(
    limits: ContractLimits,
    charges: Iterable[tuple[datetime, Decimal]],
    at: datetime,
) -> dict[SkipReason, Decimal]:
    """Cap minus spent, per given cap, in the windows containing ``at``."""
    day = to_utc(at, "at").date()
    week = day - timedelta(days=day.weekday())
    spent = {
        SkipReason.OVER_DAILY_LIMIT: _ZERO,
        SkipReason.OVER_WEEKLY_LIMIT: _ZERO,
        SkipReason.OVER_MONTHLY_LIMIT: _ZERO,
    }
    for position, (charged_at, charged) in enumerate(charges):
        _check_money(charged, f"charges[{position}] amount")
        charged_day = to_utc(charged_at, f"charges[{position}] time").date()
        if charged_day == day:
            spent[SkipReason.OVER_DAILY_LIMIT] += charged
        if week <= charged_day < week + timedelta(days=7):
            spent[SkipReason.OVER_WEEKLY_LIMIT] += charged
        if (charged_day.year, charged_day.month) == (day.year, day.month):
            spent[SkipReason.OVER_MONTHLY_LIMIT] += charged
    caps = {
        SkipReason.OVER_DAILY_LIMIT: limits.daily,
        SkipReason.OVER_WEEKLY_LIMIT: limits.weekly,
        SkipReason.OVER_MONTHLY_LIMIT: limits.monthly,
    }
    return {
        reason: cap - spent[reason] for reason, cap in caps.items() if cap is not None
    }


def _check_money(value: object, name: str) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite() or value < _ZERO:
        raise ValueError(f"{name} must be a finite amount, 0 or more, not {value}")
