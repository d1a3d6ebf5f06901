"""OKPAY's internal-transfer fee and who carries it.

The vendor guide gives 0.5 % with a minimum of 0.01 and a maximum of 2.99 for
EUR and USD. Rounding (half up to cents, then clamp) and applying the same
rule to every other currency are assumptions (A16, gap G9), so a schedule can
override the rule per currency. How the fee shows up in the IPN follows
assumption A17 (okpay-ipn-links.md section 5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from okpay_gateway.provider.currencies import CENT, has_cents_only

ZERO = Decimal("0.00")


class OkFees(StrEnum):
    """Value of the link variable ``ok_fees``."""

    MERCHANT = "0"
    CLIENT = "1"


@dataclass(frozen=True, slots=True)
class FeeRule:
    """Percentage fee with a floor and a cap, in the payment's currency."""

    rate: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal("0.01")
    maximum: Decimal = Decimal("2.99")

    def __post_init__(self) -> None:
        for name in ("rate", "minimum", "maximum"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{name} must be a non-negative Decimal")
        if self.minimum > self.maximum:
            raise ValueError("minimum must not be above maximum")

    def fee(self, amount: Decimal) -> Decimal:
        """The fee on a positive ``amount``: rounded half up to cents, then clamped."""
        raw = amount * self.rate
        if raw >= self.maximum:
            # Also keeps quantize away from amounts too long for the context.
            return self.maximum.quantize(CENT)
        rounded = raw.quantize(CENT, rounding=ROUND_HALF_UP)
        return min(max(rounded, self.minimum), self.maximum).quantize(CENT)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """The default :class:`FeeRule` plus per-currency overrides.

    ``overrides`` may be given as a mapping ``{"JPY": FeeRule(...)}``; it is
    stored as a sorted tuple so the schedule stays hashable.
    """

    rate: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal("0.01")
    maximum: Decimal = Decimal("2.99")
    overrides: tuple[tuple[str, FeeRule], ...] = field(default=())

    def __post_init__(self) -> None:
        FeeRule(self.rate, self.minimum, self.maximum)  # validates the defaults
        items: Iterable[tuple[str, FeeRule]]
        if isinstance(self.overrides, Mapping):
            items = self.overrides.items()
        else:
            items = self.overrides
        normalized: dict[str, FeeRule] = {}
        for currency, rule in items:
            if not isinstance(rule, FeeRule):
                raise TypeError(f"override for {currency!r} must be a FeeRule")
            normalized[currency.upper()] = rule
        object.__setattr__(self, "overrides", tuple(sorted(normalized.items())))

    @property
    def default_rule(self) -> FeeRule:
        return FeeRule(self.rate, self.minimum, self.maximum)

    def rule_for(self, currency: str) -> FeeRule:
        """The rule that applies to ``currency`` (case-insensitive)."""
        wanted = currency.upper()
        for code, rule in self.overrides:
            if code == wanted:
                return rule
        return self.default_rule

    def with_override(self, currency: str, rule: FeeRule) -> FeeSchedule:
        """A copy of this schedule with ``rule`` used for ``currency``."""
        merged = dict(self.overrides)
        merged[currency.upper()] = rule
        return FeeSchedule(self.rate, self.minimum, self.maximum, tuple(merged.items()))


DEFAULT_FEE_SCHEDULE = FeeSchedule()


@dataclass(frozen=True, slots=True)
class FeeSplit:
    """Who pays and gets what for one payment.

    ``gross``, ``net`` and ``shown_fee`` are what the IPN reports as
    ``ok_txn_gross``, ``ok_txn_net`` and ``ok_txn_fee``; ``fee`` is what
    OKPAY actually keeps.
    """

    gross: Decimal
    fee: Decimal
    net: Decimal
    client_debit: Decimal
    merchant_credit: Decimal
    shown_fee: Decimal


def _check_amount(amount: Decimal) -> None:
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be a positive finite Decimal, got {amount}")
    if not has_cents_only(amount):
        raise ValueError(f"amount must be a whole number of cents, got {amount}")


def fee_for(
    amount: Decimal, currency: str, schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE
) -> Decimal:
    """OKPAY's fee on a payment of ``amount`` in ``currency``.

    Raises TypeError for anything but a Decimal and ValueError for zero,
    negative, non-finite or sub-cent amounts.
    """
    _check_amount(amount)
    return schedule.rule_for(currency).fee(amount)


def split_payment(
    amount: Decimal,
    currency: str,
    payer: OkFees | str,
    schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE,
) -> FeeSplit:
    """Debit, credit and IPN amounts for a payment of ``amount`` (assumption A17).

    * merchant pays (``ok_fees=0``): the client pays ``amount``; the merchant
      gets ``amount - fee``; the IPN shows the fee.
    * client pays (``ok_fees=1``): the client is debited ``amount + fee``; the
      merchant gets ``amount``; the IPN shows fee 0.00 and net = gross.
    """
    fee = fee_for(amount, currency, schedule)
    gross = amount.quantize(CENT)
    if OkFees(payer) is OkFees.CLIENT:
        return FeeSplit(
            gross=gross,
            fee=fee,
            net=gross,
            client_debit=gross + fee,
            merchant_credit=gross,
            shown_fee=ZERO,
        )
    return FeeSplit(
        gross=gross,
        fee=fee,
        net=gross - fee,
        client_debit=gross,
        merchant_credit=gross - fee,
        shown_fee=fee,
    )
