"""Unit tests of the emulator's pure rules (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from okpay_gateway.emulator import rules
from okpay_gateway.emulator.rules import FaultCode, Limits, Spent

D = Decimal
NOON = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # Wednesday


# --- token -------------------------------------------------------------------


def test_security_token_known_vector_matches():
    """The token of the documented test vector is reproduced (okpay-soap-api.md §5)."""
    at = datetime(2014, 2, 20, 14, 0, tzinfo=UTC)
    assert rules.security_token("seedToken", at) == (
        "CF49014918670822614A5816F10B8C1047FBD7FF2A653848F60BBE52821C0F72"
    )


def test_check_token_current_hour_accepted():
    """The token of the current UTC hour passes."""
    token = rules.security_token("pw", NOON)
    assert rules.check_token(token, "pw", NOON) is None


@pytest.mark.parametrize("hours", [-1, 1])
def test_check_token_adjacent_hour_accepted_by_default(hours):
    """The previous and the next hour are inside the default window (G3)."""
    token = rules.security_token("pw", NOON.replace(hour=12 + hours))
    assert rules.check_token(token, "pw", NOON) is None


@pytest.mark.parametrize("hours", [-2, 2])
def test_check_token_two_hours_off_refused(hours):
    """Two hours away is outside the default window."""
    token = rules.security_token("pw", NOON.replace(hour=12 + hours))
    assert rules.check_token(token, "pw", NOON) == "Authentication_Failed"


def test_check_token_zero_window_refuses_previous_hour():
    """With a zero-hour window only the current hour passes."""
    token = rules.security_token("pw", NOON.replace(hour=11))
    result = rules.check_token(token, "pw", NOON, hours_before=0, hours_after=0)
    assert result == FaultCode.AUTHENTICATION_FAILED


def test_check_token_lower_case_accepted_unless_strict():
    """Lower-case hex passes by default and fails with the strict switch (G4)."""
    token = rules.security_token("pw", NOON).lower()
    assert rules.check_token(token, "pw", NOON) is None
    assert (
        rules.check_token(token, "pw", NOON, case_sensitive=True)
        == "Authentication_Failed"
    )


def test_check_token_wrong_password_refused():
    """A token built from another password fails."""
    token = rules.security_token("other", NOON)
    assert rules.check_token(token, "pw", NOON) == "Authentication_Failed"


def test_check_token_missing_token_refused():
    """No token at all fails."""
    assert rules.check_token(None, "pw", NOON) == "Authentication_Failed"


# --- ip allow-list -------------------------------------------------------------


def test_ip_allowed_empty_list_allows_any():
    """An empty allow-list means any caller."""
    assert rules.ip_allowed("203.0.113.9", "") is True


def test_ip_allowed_address_and_network_entries():
    """Addresses and networks, comma or space separated, are honoured."""
    allow = "198.51.100.7, 10.0.0.0/8"
    assert rules.ip_allowed("198.51.100.7", allow) is True
    assert rules.ip_allowed("10.20.30.40", allow) is True
    assert rules.ip_allowed("127.0.0.1", allow) is False


# --- amounts and fees ----------------------------------------------------------


@pytest.mark.parametrize("amount", [D("0"), D("-1.00"), D("0.001"), D("1.005"), None])
def test_check_amount_invalid_is_incorrect_amount(amount):
    """Zero, negative, sub-cent and missing amounts are refused (G15)."""
    assert rules.check_amount(amount) == "Incorrect_Amount"


@pytest.mark.parametrize("amount", [D("0.01"), D("1"), D("12.30"), D("99999.99")])
def test_check_amount_valid_passes(amount):
    """Whole cents from 0.01 up pass."""
    assert rules.check_amount(amount) is None


@pytest.mark.parametrize(
    ("amount", "fee"),
    [
        (D("1.00"), D("0.01")),  # 0.005 -> minimum
        (D("10.00"), D("0.05")),
        (D("10.10"), D("0.05")),  # 0.0505 -> 0.05
        (D("10.90"), D("0.05")),  # 0.0545 -> 0.05
        (D("11.00"), D("0.06")),  # 0.055 -> half up
        (D("598.00"), D("2.99")),
        (D("10000.00"), D("2.99")),  # capped
    ],
)
def test_transfer_fee_rule_half_up_and_clamped(amount, fee):
    """Fee = 0.5 %, rounded half up to cents, clamped to 0.01..2.99 (A16)."""
    assert rules.transfer_fee(amount, "USD") == fee


def test_charge_settlement_merchant_pays_by_default():
    """Without client_pays_fee the client pays the amount, the merchant gets amount-fee."""
    s = rules.charge_settlement(D("20.00"), "USD", client_pays_fee=False)
    assert (s.sender_debit, s.receiver_credit, s.fee, s.net) == (
        D("20.00"),
        D("19.90"),
        D("0.10"),
        D("19.90"),
    )


def test_charge_settlement_client_pays_fee_on_top():
    """With client_pays_fee the client pays amount+fee and the merchant gets the amount."""
    s = rules.charge_settlement(D("20.00"), "USD", client_pays_fee=True)
    assert (s.sender_debit, s.receiver_credit, s.fee, s.net) == (
        D("20.10"),
        D("20.00"),
        D("0.10"),
        D("20.00"),
    )


# --- limit windows -------------------------------------------------------------


def at(y, m, d, h=12, mi=0, s=0):
    return datetime(y, m, d, h, mi, s, tzinfo=UTC)


def test_windows_at_wednesday_starts_day_week_month():
    """Day starts at midnight, the ISO week on Monday, the month on the 1st, in UTC."""
    win = rules.windows_at(at(2026, 3, 11, 15, 45))
    assert win.day == at(2026, 3, 11, 0)
    assert win.week == at(2026, 3, 9, 0)
    assert win.month == at(2026, 3, 1, 0)


def test_spent_in_windows_yesterday_counts_for_week_not_day():
    """A charge from yesterday counts in the week and month, not in today."""
    charges = [
        (at(2026, 3, 10, 23, 59, 59), D("5.00")),
        (at(2026, 3, 11, 0), D("2.00")),
    ]
    spent = rules.spent_in_windows(charges, at(2026, 3, 11, 9))
    assert spent == Spent(day=D("2.00"), week=D("7.00"), month=D("7.00"))


def test_spent_in_windows_sunday_charge_leaves_week_on_monday():
    """A Sunday charge is out of the next ISO week but still in the month."""
    charges = [(at(2026, 3, 29, 22), D("30.00"))]  # Sunday
    spent = rules.spent_in_windows(charges, at(2026, 3, 30, 1))  # Monday
    assert spent == Spent(day=D("0.00"), week=D("0.00"), month=D("30.00"))


def test_spent_in_windows_new_month_midweek_keeps_week():
    """On 1 April (Wednesday) a charge of 31 March counts for the week only."""
    charges = [(at(2026, 3, 31, 18), D("40.00"))]  # Tuesday
    spent = rules.spent_in_windows(charges, at(2026, 4, 1, 8))
    assert spent == Spent(day=D("0.00"), week=D("40.00"), month=D("0.00"))


def test_spent_in_windows_non_utc_input_is_converted():
    """Times in another zone are placed in UTC windows."""
    from datetime import timedelta, timezone

    plus_two = timezone(timedelta(hours=2))
    # 01:00 at +02:00 on the 11th is 23:00 UTC on the 10th: not today.
    charges = [(datetime(2026, 3, 11, 1, 0, tzinfo=plus_two), D("3.00"))]
    spent = rules.spent_in_windows(charges, at(2026, 3, 11, 12))
    assert spent.day == D("0.00")
    assert spent.week == D("3.00")


def test_remaining_allowance_is_smallest_left():
    """AvailableAmount is the smallest remaining allowance of the capped windows."""
    limits = Limits(daily=D("50.00"), weekly=D("100.00"), monthly=D("120.00"))
    spent = Spent(day=D("10.00"), week=D("70.00"), month=D("70.00"))
    assert rules.remaining_allowance(limits, spent) == D("30.00")


def test_remaining_allowance_no_limit_is_none():
    """No capped window means no allowance figure."""
    assert rules.remaining_allowance(Limits(), Spent()) is None


def test_remaining_allowance_overspent_is_zero():
    """An allowance never goes below zero."""
    assert rules.remaining_allowance(Limits(daily=D("5.00")), Spent(day=D("9.00"))) == 0


@pytest.mark.parametrize(
    ("limits", "spent", "amount", "expected"),
    [
        (Limits(daily=D("10.00")), Spent(day=D("5.00")), D("5.00"), None),
        (Limits(daily=D("10.00")), Spent(day=D("5.00")), D("5.01"), "Limits_Exceeded"),
        (
            Limits(weekly=D("30.00")),
            Spent(week=D("25.00")),
            D("6.00"),
            "Limits_Exceeded",
        ),
        (
            Limits(monthly=D("30.00")),
            Spent(month=D("29.99")),
            D("0.02"),
            "Limits_Exceeded",
        ),
        (Limits(), Spent(), D("100000.00"), None),
    ],
)
def test_check_limits_each_window(limits, spent, amount, expected):
    """Each capped window refuses a charge that would go over it (A12)."""
    assert rules.check_limits(amount, limits, spent) == expected


def test_is_past_end_date_inclusive_until_midnight():
    """The end date is valid through 23:59:59 UTC; the next day it is past (A13)."""
    end = date(2026, 3, 31)
    assert rules.is_past_end_date(end, at(2026, 3, 31, 23, 59, 59)) is False
    assert rules.is_past_end_date(end, at(2026, 4, 1, 0, 0, 0)) is True
    assert rules.is_past_end_date(None, at(2099, 1, 1)) is False


def test_available_amount_inactive_or_past_end_is_zero():
    """A canceled or overdue agreement has nothing available."""
    common = {"limits": Limits(daily=D("10.00")), "spent": Spent(), "unlimited": D("9")}
    assert rules.available_amount(active=False, end_date=None, now=NOON, **common) == 0
    assert (
        rules.available_amount(
            active=True, end_date=date(2026, 3, 10), now=NOON, **common
        )
        == 0
    )
    assert rules.available_amount(
        active=True, end_date=date(2026, 3, 11), now=NOON, **common
    ) == D("10.00")


def test_available_amount_without_limits_reports_unlimited_value():
    """With no capped window the configured 'unlimited' figure is reported."""
    value = rules.available_amount(
        active=True,
        end_date=None,
        limits=Limits(),
        spent=Spent(),
        now=NOON,
        unlimited=D("79228162514264337593543950335"),
    )
    assert value == D("79228162514264337593543950335")


# --- paging and dates ------------------------------------------------------------


def test_page_of_counts_pages():
    """PageCount is ceil(total / size) and the offset is 1-based (G10)."""
    page = rules.page_of(101, 50, 3, max_size=50)
    assert (page.offset, page.size, page.number, page.count) == (100, 50, 3, 3)


@pytest.mark.parametrize(("size", "number"), [(51, 1), (0, 1), (10, 0)])
def test_page_of_bad_paging_is_incorrect_parameters(size, number):
    """Page size above 50, zero size or page 0 is Incorrect_Parameters."""
    assert rules.page_of(10, size, number, max_size=50) == "Incorrect_Parameters"


def test_format_and_parse_datetime_round_trip():
    """Dates use yyyy-MM-dd HH:mm:ss in UTC both ways."""
    text = rules.format_datetime(datetime(2026, 3, 11, 9, 5, 7, tzinfo=UTC))
    assert text == "2026-03-11 09:05:07"
    assert rules.parse_datetime(text) == datetime(2026, 3, 11, 9, 5, 7, tzinfo=UTC)
    assert rules.parse_datetime("yesterday") is None
