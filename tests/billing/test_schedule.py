"""Tests for okpay_gateway.billing.schedule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okpay_gateway.billing.schedule import (
    BillingInterval,
    Interval,
    next_charge_at,
    period_index_at,
    period_key,
    period_start,
    to_utc,
)

MONTHLY = BillingInterval(Interval.MONTH)
YEARLY = BillingInterval(Interval.YEAR)

# Hypothesis must not write a database into the repository, and its per-example
# deadline is a timed assertion, which the suite does not allow.
quick = settings(database=None, deadline=None, max_examples=300)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
anchors = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31)),
    offsets,
)
intervals = st.builds(
    BillingInterval, st.sampled_from(list(Interval)), st.integers(1, 12)
)
indexes = st.integers(min_value=0, max_value=100)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_billing_interval_string_unit_becomes_enum():
    """A plain string unit, as stored in settings, is converted to Interval."""
    interval = BillingInterval("week", 2)
    assert interval.unit is Interval.WEEK
    assert interval.count == 2


def test_billing_interval_unknown_unit_raises_value_error():
    """An unknown unit is refused with the allowed choices in the message."""
    with pytest.raises(ValueError, match="day, week, month, year"):
        BillingInterval("fortnight")


@pytest.mark.parametrize("count", [0, -1])
def test_billing_interval_count_below_one_raises_value_error(count):
    """A count below 1 is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        BillingInterval(Interval.DAY, count)


@pytest.mark.parametrize("count", [True, 1.0, "1"])
def test_billing_interval_non_int_count_raises_type_error(count):
    """A count that is not a plain int (bool, float, str) is refused."""
    with pytest.raises(TypeError):
        BillingInterval(Interval.DAY, count)


def test_billing_interval_is_frozen():
    """A BillingInterval cannot be changed after construction."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        MONTHLY.count = 2  # type: ignore[misc]


def test_period_start_index_zero_is_the_anchor():
    """Period 0 starts exactly at the anchor."""
    anchor = utc(2026, 3, 15, 8, 30)
    assert period_start(anchor, MONTHLY, 0) == anchor


@pytest.mark.parametrize(
    ("interval", "index", "expected"),
    [
        (BillingInterval(Interval.DAY), 1, utc(2026, 3, 16, 8, 30)),
        (BillingInterval(Interval.DAY, 10), 3, utc(2026, 4, 14, 8, 30)),
        (BillingInterval(Interval.WEEK), 1, utc(2026, 3, 22, 8, 30)),
        (BillingInterval(Interval.WEEK, 2), 5, utc(2026, 5, 24, 8, 30)),
        (BillingInterval(Interval.MONTH), 10, utc(2027, 1, 15, 8, 30)),
        (BillingInterval(Interval.YEAR, 2), 3, utc(2032, 3, 15, 8, 30)),
    ],
)
def test_period_start_fixed_units_give_expected_start(interval, index, expected):
    """Days, weeks, months and years step from the anchor by index * count units."""
    assert period_start(utc(2026, 3, 15, 8, 30), interval, index) == expected


def test_period_start_month_end_anchor_returns_to_the_31st():
    """A January 31 anchor gives Feb 29 in a leap year, then the 31st again."""
    anchor = utc(2024, 1, 31, 10)
    starts = [period_start(anchor, MONTHLY, i) for i in range(6)]
    assert starts == [
        utc(2024, 1, 31, 10),
        utc(2024, 2, 29, 10),
        utc(2024, 3, 31, 10),
        utc(2024, 4, 30, 10),
        utc(2024, 5, 31, 10),
        utc(2024, 6, 30, 10),
    ]


def test_period_start_month_end_anchor_common_year_gives_feb_28():
    """In a common year the January 31 anchor renews on February 28, then March 31."""
    anchor = utc(2025, 1, 31)
    assert period_start(anchor, MONTHLY, 1) == utc(2025, 2, 28)
    assert period_start(anchor, MONTHLY, 2) == utc(2025, 3, 31)
    assert period_start(anchor, MONTHLY, 13) == utc(2026, 2, 28)


def test_period_start_quarterly_month_end_anchor_keeps_the_30th():
    """A quarterly plan anchored on November 30 renews on Feb 28, May 30, Aug 30."""
    anchor = utc(2025, 11, 30)
    quarterly = BillingInterval(Interval.MONTH, 3)
    starts = [period_start(anchor, quarterly, i) for i in range(1, 5)]
    assert starts == [
        utc(2026, 2, 28),
        utc(2026, 5, 30),
        utc(2026, 8, 30),
        utc(2026, 11, 30),
    ]


def test_period_start_yearly_leap_day_anchor_follows_leap_years():
    """A February 29 yearly anchor renews on Feb 28 in common years, Feb 29 in leap years."""
    anchor = utc(2024, 2, 29, 12)
    starts = [period_start(anchor, YEARLY, i) for i in range(1, 5)]
    assert starts == [
        utc(2025, 2, 28, 12),
        utc(2026, 2, 28, 12),
        utc(2027, 2, 28, 12),
        utc(2028, 2, 29, 12),
    ]


def test_period_start_century_non_leap_year_gives_feb_28():
    """2100 is not a leap year, so a leap-day anchor renews on February 28 2100."""
    anchor = utc(2096, 2, 29)
    assert period_start(anchor, BillingInterval(Interval.YEAR, 4), 1) == utc(
        2100, 2, 28
    )


def test_period_start_offset_anchor_returns_utc():
    """An anchor in another zone is converted, and the result is UTC."""
    anchor = datetime(2026, 1, 15, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    result = period_start(anchor, MONTHLY, 1)
    assert result == utc(2026, 2, 15, 10, 0)
    assert result.tzinfo is UTC


def test_period_start_anchor_day_is_the_utc_day():
    """Jan 31 23:30 at UTC-5 is Feb 1 in UTC, so the plan renews on the 1st."""
    anchor = datetime(2026, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert period_start(anchor, MONTHLY, 1) == utc(2026, 3, 1, 4, 30)


def test_period_start_dst_zone_keeps_utc_time_of_day():
    """A Berlin anchor renews at the same UTC time across daylight-saving changes."""
    anchor = datetime(2026, 1, 10, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert period_start(anchor, MONTHLY, 6) == utc(2026, 7, 10, 8, 0)
    assert period_start(anchor, BillingInterval(Interval.DAY), 90) == utc(
        2026, 4, 10, 8
    )


def test_period_start_naive_anchor_raises_value_error():
    """A naive anchor is refused."""
    with pytest.raises(ValueError, match="anchor must be an aware datetime"):
        period_start(datetime(2026, 1, 1), MONTHLY, 0)


def test_period_start_date_anchor_raises_type_error():
    """A date is not a datetime and is refused."""
    with pytest.raises(TypeError, match="anchor must be a datetime"):
        period_start(date(2026, 1, 1), MONTHLY, 0)  # type: ignore[arg-type]


def test_period_start_negative_index_raises_value_error():
    """There is no period before period 0."""
    with pytest.raises(ValueError, match="0 or more"):
        period_start(utc(2026, 1, 1), MONTHLY, -1)


def test_period_start_bool_index_raises_type_error():
    """A bool is not accepted as a period index."""
    with pytest.raises(TypeError):
        period_start(utc(2026, 1, 1), MONTHLY, True)


def test_period_index_at_boundaries_of_month_end_periods():
    """Each period covers [start, next start): the boundary moment belongs to the next."""
    anchor = utc(2025, 1, 31, 10)
    second = timedelta(microseconds=1)
    assert period_index_at(anchor, MONTHLY, anchor) == 0
    assert period_index_at(anchor, MONTHLY, utc(2025, 2, 28, 10) - second) == 0
    assert period_index_at(anchor, MONTHLY, utc(2025, 2, 28, 10)) == 1
    assert period_index_at(anchor, MONTHLY, utc(2025, 3, 30, 23)) == 1
    assert period_index_at(anchor, MONTHLY, utc(2025, 3, 31, 10)) == 2
    assert period_index_at(anchor, MONTHLY, utc(2026, 1, 31, 9, 59)) == 11


def test_period_index_at_weekly_counts_whole_weeks():
    """A weekly plan is in period 2 from day 14 to just before day 21."""
    anchor = utc(2026, 1, 1)
    weekly = BillingInterval(Interval.WEEK)
    assert period_index_at(anchor, weekly, utc(2026, 1, 15)) == 2
    assert period_index_at(anchor, weekly, utc(2026, 1, 21, 23, 59)) == 2
    assert period_index_at(anchor, weekly, utc(2026, 1, 22)) == 3


def test_period_index_at_offset_moment_is_compared_in_utc():
    """A moment given at UTC+2 is placed on the time line before it is compared."""
    anchor = utc(2026, 1, 1, 0, 0)
    daily = BillingInterval(Interval.DAY)
    moment = datetime(2026, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert period_index_at(anchor, daily, moment) == 0


def test_period_index_at_moment_before_anchor_raises_value_error():
    """A moment before the first period belongs to no period."""
    with pytest.raises(ValueError, match="before the anchor"):
        period_index_at(utc(2026, 1, 1), MONTHLY, utc(2025, 12, 31))


def test_period_index_at_naive_moment_raises_value_error():
    """A naive moment is refused."""
    with pytest.raises(ValueError, match="moment must be an aware datetime"):
        period_index_at(utc(2026, 1, 1), MONTHLY, datetime(2026, 2, 1))


def test_next_charge_at_is_the_start_of_the_following_period():
    """After period 0 of a Jan 31 plan, the next charge is due on Feb 28."""
    anchor = utc(2025, 1, 31, 10)
    assert next_charge_at(anchor, MONTHLY, 0) == utc(2025, 2, 28, 10)
    assert next_charge_at(anchor, MONTHLY, 1) == utc(2025, 3, 31, 10)


def test_next_charge_at_negative_index_raises_value_error():
    """There is no period -1 to charge after."""
    with pytest.raises(ValueError):
        next_charge_at(utc(2025, 1, 31), MONTHLY, -1)


def test_period_key_joins_subscription_and_period():
    """The invoice of a period is '<subscription>-<period>'."""
    assert period_key(42, 0) == "42-0"
    assert period_key("sub_a", 17) == "sub_a-17"


def test_period_key_negative_index_raises_value_error():
    """A negative period cannot name an invoice."""
    with pytest.raises(ValueError):
        period_key(42, -1)


def test_to_utc_converts_offset_to_utc():
    """An aware value in another zone comes back as the same instant in UTC."""
    value = datetime(2026, 6, 1, 3, 0, tzinfo=timezone(timedelta(hours=3)))
    assert to_utc(value) == utc(2026, 6, 1, 0, 0)
    assert to_utc(value).tzinfo is UTC


@quick
@given(anchor=anchors, interval=intervals, index=indexes)
def test_period_start_property_strictly_increasing(anchor, interval, index):
    """Each period starts strictly after the one before it."""
    assert period_start(anchor, interval, index) < period_start(
        anchor, interval, index + 1
    )


@quick
@given(anchor=anchors, interval=intervals, index=indexes)
def test_period_index_at_property_round_trips_period_start(anchor, interval, index):
    """The start of period i lies in period i."""
    start = period_start(anchor, interval, index)
    assert start.tzinfo is UTC
    assert period_index_at(anchor, interval, start) == index


@quick
@given(
    anchor=anchors,
    interval=intervals,
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365 * 80)),
)
def test_period_index_at_property_moment_lies_in_its_period(anchor, interval, offset):
    """For any moment k = period_index_at satisfies start(k) <= moment < start(k+1)."""
    moment = anchor + offset
    k = period_index_at(anchor, interval, moment)
    assert (
        period_start(anchor, interval, k)
        <= moment
        < period_start(anchor, interval, k + 1)
    )


@quick
@given(
    anchor=anchors,
    unit=st.sampled_from([Interval.MONTH, Interval.YEAR]),
    count=st.integers(1, 12),
    index=indexes,
)
def test_period_start_property_month_day_never_drifts(anchor, unit, count, index):
    """Month and year periods fall on the anchor's UTC day, or the month's last day."""
    first = to_utc(anchor)
    start = period_start(anchor, BillingInterval(unit, count), index)
    next_day = start + timedelta(days=1)
    assert start.time() == first.time()
    assert start.day == first.day or (start.day < first.day and next_day.day == 1)
