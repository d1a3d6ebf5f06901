"""Fee schedule (A16) and who pays it (A17)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okpay_gateway.provider.fees import (
    DEFAULT_FEE_SCHEDULE,
    FeeRule,
    FeeSchedule,
    FeeSplit,
    OkFees,
    fee_for,
    split_payment,
)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1.00", "0.01"),  # 0.005 -> 0.01 (half up), also the minimum
        ("0.01", "0.01"),  # far below the minimum
        ("0.30", "0.01"),  # 0.0015 -> 0.00, lifted to the minimum
        ("1.01", "0.01"),  # 0.00505 -> 0.01
        ("3.00", "0.02"),  # 0.015 -> 0.02 half up
        ("2.99", "0.01"),  # 0.01495 -> 0.01
        ("100.00", "0.50"),
        ("598.00", "2.99"),  # exactly the cap
        ("1000.00", "2.99"),  # capped
        ("999999999999.99", "2.99"),
    ],
)
def test_fee_for_default_schedule_examples_match_vendor_rule(amount, expected):
    """0.5 % rounded half up to cents, then clamped to 0.01..2.99."""
    fee = fee_for(Decimal(amount), "USD")
    assert fee == Decimal(expected)
    assert str(fee) == expected


def test_fee_for_lower_case_currency_uses_override():
    """A per-currency override applies whatever the case of the currency code."""
    schedule = FeeSchedule(
        overrides={"jpy": FeeRule(Decimal("0.01"), Decimal("1.00"), Decimal("300.00"))}
    )
    assert fee_for(Decimal("1000.00"), "JPY", schedule) == Decimal("10.00")
    assert fee_for(Decimal("10.00"), "jpy", schedule) == Decimal("1.00")
    assert fee_for(Decimal("1000.00"), "EUR", schedule) == Decimal("2.99")


def test_fee_schedule_with_override_returns_new_schedule():
    """with_override leaves the original schedule untouched."""
    rule = FeeRule(Decimal("0"), Decimal("0"), Decimal("0"))
    schedule = DEFAULT_FEE_SCHEDULE.with_override("rub", rule)
    assert schedule.rule_for("RUB") == rule
    assert DEFAULT_FEE_SCHEDULE.rule_for("RUB") == FeeRule()
    assert fee_for(Decimal("50.00"), "RUB", schedule) == Decimal("0.00")
    assert hash(schedule) == hash(DEFAULT_FEE_SCHEDULE.with_override("RUB", rule))


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "NaN", "Infinity"])
def test_fee_for_non_positive_amount_raises_value_error(amount):
    """Zero, negative and non-finite amounts are rejected."""
    with pytest.raises(ValueError, match="positive"):
        fee_for(Decimal(amount), "USD")


def test_fee_for_sub_cent_amount_raises_value_error():
    """Money is whole cents; 1.005 is a caller bug."""
    with pytest.raises(ValueError, match="cents"):
        fee_for(Decimal("1.005"), "USD")


@pytest.mark.parametrize("amount", [1.0, 1, "1.00", True])
def test_fee_for_non_decimal_amount_raises_type_error(amount):
    """Floats, ints and strings are not money."""
    with pytest.raises(TypeError, match="Decimal"):
        fee_for(amount, "USD")


def test_fee_rule_minimum_above_maximum_raises_value_error():
    """A rule whose floor is above its cap cannot be built."""
    with pytest.raises(ValueError, match="minimum"):
        FeeRule(Decimal("0.005"), Decimal("3.00"), Decimal("2.99"))


def test_split_payment_merchant_pays_fee_deducted_from_credit():
    """ok_fees=0: client pays gross, merchant gets gross - fee, IPN shows the fee."""
    split = split_payment(Decimal("100.00"), "EUR", OkFees.MERCHANT)
    assert split == FeeSplit(
        gross=Decimal("100.00"),
        fee=Decimal("0.50"),
        net=Decimal("99.50"),
        client_debit=Decimal("100.00"),
        merchant_credit=Decimal("99.50"),
        shown_fee=Decimal("0.50"),
    )


def test_split_payment_client_pays_fee_added_to_debit():
    """ok_fees=1: client debited gross + fee, IPN shows fee 0.00 and net = gross."""
    split = split_payment(Decimal("1000.00"), "USD", OkFees.CLIENT)
    assert split == FeeSplit(
        gross=Decimal("1000.00"),
        fee=Decimal("2.99"),
        net=Decimal("1000.00"),
        client_debit=Decimal("1002.99"),
        merchant_credit=Decimal("1000.00"),
        shown_fee=Decimal("0.00"),
    )
    assert str(split.shown_fee) == "0.00"


def test_split_payment_wire_value_payer_accepted():
    """The raw ok_fees value "1" works like OkFees.CLIENT."""
    assert split_payment(Decimal("3.00"), "USD", "1").client_debit == Decimal("3.02")
    assert split_payment(Decimal("3.00"), "USD", "0").merchant_credit == Decimal("2.98")


def test_split_payment_minimum_amount_merchant_gets_zero():
    """At 0.01 the minimum fee eats the whole payment when the merchant pays."""
    split = split_payment(Decimal("0.01"), "USD", OkFees.MERCHANT)
    assert (split.fee, split.net, split.merchant_credit) == (
        Decimal("0.01"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_split_payment_negative_amount_raises_value_error():
    """Refund arithmetic is not a split; negative amounts are rejected."""
    with pytest.raises(ValueError):
        split_payment(Decimal("-5.00"), "USD", OkFees.MERCHANT)


def test_fee_payer_values_match_ok_fees():
    """OkFees values are the ok_fees wire values."""
    assert OkFees.MERCHANT == "0"
    assert OkFees.CLIENT == "1"
    assert OkFees("1") is OkFees.CLIENT
