"""Tests for okpay_gateway.billing.allowance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okpay_gateway.billing.allowance import (
    ContractLimits,
    SkipReason,
    fits,
    remaining_allowance,
)

D = Decimal
# 2026-01-05 is a Monday; 2026-01-04 a Sunday.
MONDAY = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def limits(
    daily: str | None = None,
    weekly: str | None = None,
    monthly: str | None = None,
    end_date: date | None = None,
    currency: str = "EUR",
) -> ContractLimits:
    def money(value: str | None) -> Decimal | None:
        return None if value is None else D(value)

    return ContractLimits(
        money(daily), money(weekly), money(monthly), end_date, currency
    )


def test_contract_limits_currency_is_upper_cased():
    """A lower-case currency is stored upper case."""
    assert limits(currency="usd").currency == "USD"


@pytest.mark.parametrize("currency", ["EURO", "E1R", "", 978])
def test_contract_limits_bad_currency_raises_value_error(currency):
    """Only a three-letter code is a currency."""
    with pytest.raises(ValueError, match="3-letter"):
        ContractLimits(None, None, D("10"), None, currency)


@pytest.mark.parametrize("bad", [10.0, 10, "10"])
def test_contract_limits_non_decimal_cap_raises_type_error(bad):
    """A cap must be a Decimal: floats, ints and strings are refused."""
    with pytest.raises(TypeError, match="daily must be a Decimal"):
        ContractLimits(bad, None, None, None, "EUR")


@pytest.mark.parametrize("bad", [D("-1"), D("NaN"), D("Infinity")])
def test_contract_limits_negative_or_non_finite_cap_raises_value_error(bad):
    """A cap must be a finite amount of 0 or more."""
    with pytest.raises(ValueError, match="weekly must be a finite amount"):
        ContractLimits(None, bad, None, None, "EUR")


def test_contract_limits_datetime_end_date_raises_type_error():
    """The end date is a calendar date, not a moment."""
    with pytest.raises(TypeError, match="end_date must be a date"):
        ContractLimits(None, None, D("1"), utc(2026, 1, 1), "EUR")


def test_remaining_allowance_no_caps_returns_none():
    """With no cap at all, nothing limits the charge."""
    assert remaining_allowance(limits(), [(MONDAY, D("500"))], MONDAY) is None


def test_remaining_allowance_daily_counts_only_the_utc_day():
    """A charge one microsecond before midnight UTC belongs to the day before."""
    charges = [
        (utc(2026, 1, 4, 23, 59, 59, 999999), D("7.00")),
        (utc(2026, 1, 5, 0, 0), D("2.50")),
        (utc(2026, 1, 5, 23, 0), D("1.25")),
    ]
    assert remaining_allowance(limits(daily="10.00"), charges, MONDAY) == D("6.25")


def test_remaining_allowance_week_starts_monday_utc():
    """Sunday's charge is last week; Monday 00:00 UTC starts a new ISO week."""
    charges = [(utc(2026, 1, 4, 18), D("30")), (utc(2026, 1, 5, 0), D("5"))]
    assert remaining_allowance(
        limits(weekly="50"), charges, utc(2026, 1, 11, 23, 59)
    ) == D("45")
    assert remaining_allowance(limits(weekly="50"), charges, utc(2026, 1, 4, 23)) == D(
        "20"
    )


def test_remaining_allowance_week_spans_two_months():
    """The ISO week of Mon Jan 26 to Sun Feb 1 counts January charges on February 1."""
    charges = [(utc(2026, 1, 27, 9), D("12"))]
    at = utc(2026, 2, 1, 9)
    assert remaining_allowance(limits(weekly="20"), charges, at) == D("8")
    assert remaining_allowance(limits(monthly="20"), charges, at) == D("20")


def test_remaining_allowance_month_is_the_calendar_month():
    """January's charges do not count on February 1; February's all count."""
    charges = [
        (utc(2026, 1, 31, 23, 59), D("40")),
        (utc(2026, 2, 1, 0, 0), D("10")),
        (utc(2026, 2, 28, 23, 59), D("15")),
    ]
    assert remaining_allowance(limits(monthly="100"), charges, utc(2026, 2, 14)) == D(
        "75"
    )
    assert remaining_allowance(limits(monthly="100"), charges, utc(2026, 1, 1)) == D(
        "60"
    )


def test_remaining_allowance_offset_charge_time_is_converted_to_utc():
    """A charge at 00:30 on Monday in UTC+2 is Sunday 22:30 UTC: last day, last week."""
    charges = [
        (datetime(2026, 1, 5, 0, 30, tzinfo=timezone(timedelta(hours=2))), D("9"))
    ]
    assert remaining_allowance(limits(daily="10"), charges, MONDAY) == D("10")
    assert remaining_allowance(limits(weekly="10"), charges, MONDAY) == D("10")
    assert remaining_allowance(limits(daily="10"), charges, utc(2026, 1, 4, 23)) == D(
        "1"
    )


def test_remaining_allowance_returns_the_tightest_cap():
    """With several caps the smallest headroom wins."""
    charges = [(utc(2026, 1, 2), D("70")), (MONDAY, D("5"))]
    result = remaining_allowance(limits("20", "50", "80"), charges, MONDAY)
    assert result == D("5")


def test_remaining_allowance_overspent_cap_returns_zero():
    """Charges above a cap (e.g. a lowered limit) leave 0, never a negative amount."""
    charges = [(MONDAY, D("15"))]
    assert remaining_allowance(limits(daily="10"), charges, MONDAY) == D("0")


def test_remaining_allowance_expired_contract_returns_zero():
    """Nothing remains of a contract whose end date has passed, capped or not."""
    assert remaining_allowance(limits(end_date=date(2026, 1, 4)), [], MONDAY) == D("0")


def test_remaining_allowance_accepts_a_generator_of_charges():
    """The charges may be any iterable, read once."""
    charges = ((utc(2026, 1, 5, hour), D("1")) for hour in range(3))
    assert remaining_allowance(limits(daily="10"), charges, MONDAY) == D("7")


def test_remaining_allowance_float_charge_raises_type_error():
    """A float charge amount is refused, not silently summed."""
    with pytest.raises(TypeError, match=r"charges\[0\] amount must be a Decimal"):
        remaining_allowance(limits(daily="10"), [(MONDAY, 1.5)], MONDAY)


def test_remaining_allowance_naive_charge_time_raises_value_error():
    """A naive charge time cannot be placed in a UTC window."""
    with pytest.raises(ValueError, match=r"charges\[0\] time must be an aware"):
        remaining_allowance(
            limits(daily="10"), [(datetime(2026, 1, 5), D("1"))], MONDAY
        )


def test_remaining_allowance_naive_at_raises_value_error():
    """A naive evaluation time is refused."""
    with pytest.raises(ValueError, match="at must be an aware"):
        remaining_allowance(limits(daily="10"), [], datetime(2026, 1, 5))


def test_fits_amount_equal_to_remaining_fits():
    """A charge that uses up the daily cap exactly still fits."""
    assert fits(limits(daily="10.00"), [(MONDAY, D("7.50"))], D("2.50"), MONDAY) is None


def test_fits_one_cent_over_daily_returns_over_daily_limit():
    """One cent over the daily headroom is refused with the daily reason."""
    result = fits(limits(daily="10.00"), [(MONDAY, D("7.50"))], D("2.51"), MONDAY)
    assert result is SkipReason.OVER_DAILY_LIMIT


def test_fits_over_weekly_returns_over_weekly_limit():
    """Charges earlier in the ISO week count against the weekly cap."""
    charges = [(utc(2026, 1, 6), D("40"))]
    result = fits(limits(weekly="50"), charges, D("11"), utc(2026, 1, 11, 22))
    assert result is SkipReason.OVER_WEEKLY_LIMIT


def test_fits_next_week_fits_again():
    """The next Monday starts a fresh weekly allowance."""
    charges = [(utc(2026, 1, 6), D("50"))]
    assert fits(limits(weekly="50"), charges, D("50"), utc(2026, 1, 12)) is None


def test_fits_over_monthly_returns_over_monthly_limit():
    """Charges earlier in the calendar month count against the monthly cap."""
    charges = [(utc(2026, 2, 1), D("90"))]
    result = fits(limits(monthly="100"), charges, D("10.01"), utc(2026, 2, 28, 23))
    assert result is SkipReason.OVER_MONTHLY_LIMIT


def test_fits_next_month_fits_again():
    """March 1 00:00 UTC starts a fresh monthly allowance."""
    charges = [(utc(2026, 2, 1), D("100"))]
    assert fits(limits(monthly="100"), charges, D("100"), utc(2026, 3, 1)) is None


def test_fits_several_caps_exceeded_reports_daily_first():
    """Checks run daily, weekly, monthly; the first that fails is reported."""
    result = fits(limits("5", "5", "5"), [], D("6"), MONDAY)
    assert result is SkipReason.OVER_DAILY_LIMIT


def test_fits_over_provider_available_returns_over_available_amount():
    """OKPAY's own AvailableAmount is checked after our caps."""
    result = fits(limits(daily="100"), [], D("30"), MONDAY, D("29.99"))
    assert result is SkipReason.OVER_AVAILABLE_AMOUNT
    assert fits(limits(daily="100"), [], D("30"), MONDAY, D("30")) is None


def test_fits_no_caps_and_no_provider_amount_fits():
    """Without any cap every positive amount fits."""
    assert fits(limits(), [(MONDAY, D("1000"))], D("1000000"), MONDAY) is None


def test_fits_end_date_is_inclusive():
    """The contract works until the last microsecond of its end date in UTC."""
    terms = limits(daily="10", end_date=date(2026, 1, 5))
    assert fits(terms, [], D("1"), utc(2026, 1, 5, 23, 59, 59, 999999)) is None
    assert fits(terms, [], D("1"), utc(2026, 1, 6)) is SkipReason.CONTRACT_EXPIRED


def test_fits_end_date_uses_the_utc_day_of_an_offset_time():
    """01:00 on Jan 6 at UTC+2 is still Jan 5 in UTC, so the contract is valid."""
    terms = limits(daily="10", end_date=date(2026, 1, 5))
    at = datetime(2026, 1, 6, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert fits(terms, [], D("1"), at) is None


def test_fits_expired_is_reported_before_limits():
    """An expired contract is reported as expired even when a cap is also exceeded."""
    terms = limits(daily="1", end_date=date(2026, 1, 1))
    assert fits(terms, [], D("5"), MONDAY) is SkipReason.CONTRACT_EXPIRED


def test_fits_other_currency_returns_currency_mismatch():
    """A charge in another currency than the agreement's does not fit."""
    result = fits(limits(daily="10"), [], D("1"), MONDAY, currency="USD")
    assert result is SkipReason.CURRENCY_MISMATCH


def test_fits_currency_compare_ignores_case():
    """'eur' and 'EUR' are the same currency."""
    assert fits(limits(daily="10"), [], D("1"), MONDAY, currency="eur") is None


@pytest.mark.parametrize("amount", [1.0, 1, "1"])
def test_fits_non_decimal_amount_raises_type_error(amount):
    """The charge amount must be a Decimal."""
    with pytest.raises(TypeError, match="amount must be a Decimal"):
        fits(limits(daily="10"), [], amount, MONDAY)


def test_fits_float_provider_available_raises_type_error():
    """OKPAY's available amount must be a Decimal too."""
    with pytest.raises(TypeError, match="provider_available must be a Decimal"):
        fits(limits(daily="10"), [], D("1"), MONDAY, 5.0)


@pytest.mark.parametrize("amount", [D("0"), D("-1")])
def test_fits_non_positive_amount_raises_value_error(amount):
    """A charge of nothing or less is a programming error."""
    with pytest.raises(ValueError):
        fits(limits(daily="10"), [], amount, MONDAY)


def test_skip_reason_values_are_stable_strings():
    """The reasons are stored on decision rows; their values must not change."""
    assert sorted(reason.value for reason in SkipReason) == [
        "contract_expired",
        "currency_mismatch",
        "over_available_amount",
        "over_daily_limit",
        "over_monthly_limit",
        "over_weekly_limit",
    ]


cents = st.integers(min_value=0, max_value=100_000).map(lambda n: D(n).scaleb(-2))
caps = st.one_of(st.none(), cents)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2026, 3, 31),
    timezones=st.just(UTC),
)


@settings(database=None, deadline=None, max_examples=300)
@given(
    daily=caps,
    weekly=caps,
    monthly=caps,
    charges=st.lists(st.tuples(moments, cents), max_size=12),
    amount=cents.filter(lambda value: value > 0),
    at=moments,
)
def test_fits_property_agrees_with_remaining_allowance(
    daily, weekly, monthly, charges, amount, at
):
    """A positive amount fits exactly when it is within the remaining allowance."""
    terms = ContractLimits(daily, weekly, monthly, None, "EUR")
    remaining = remaining_allowance(terms, charges, at)
    expected_fit = remaining is None or amount <= remaining
    assert (fits(terms, charges, amount, at) is None) is expected_fit
    if remaining is not None:
        assert remaining >= 0
