"""Billing periods of a subscription: pure date arithmetic, no clock, no Django.

A subscription has an **anchor** (the moment its first period starts) and a
:class:`BillingInterval` (``count`` units of day, week, month or year). Periods are
numbered from 0; period 0 starts at the anchor. Each period is charged when it
starts, so the charge for period ``i`` falls due at ``period_start(anchor, interval,
i)`` and the charge after it at ``next_charge_at(anchor, interval, i)``, the start of
period ``i + 1``.

Rules:

* **Time zones.** Every datetime must be aware; a naive one raises ``ValueError``
  (a naive value cannot be placed on the time line, and guessing its zone is how
  renewals drift by hours). Inputs in any zone are converted to UTC first, and
  every result is UTC, which is how the models store them. All arithmetic runs on
  UTC wall time, so daylight-saving changes never move a charge. One consequence:
  the anchor *day* is the UTC day (2026-01-31 23:30 at UTC-5 is 2026-02-01 04:30
  UTC, so a monthly plan renews on the 1st).
* **Days and weeks** are fixed lengths: period ``i`` starts ``i * count`` days
  (or weeks) after the anchor.
* **Months and years** are computed from the **original anchor**, never from the
  previous period: period ``i`` is ``i * count`` months (years are 12 months)
  after the anchor month, on the anchor's day of the month, or on the last day of
  that month when it is shorter. The time of day is the anchor's. So an anchor on
  January 31 gives February 28 (29 in a leap year), then March 31 again, never
  drifting to the 28th; a yearly plan anchored on February 29 renews on February
  28 in common years and on February 29 again in leap years.
* Period starts are strictly increasing, and period ``k`` covers the half-open
  range ``[period_start(k), period_start(k + 1))``. There is no period before
  the anchor: negative indexes and moments before the anchor raise ``ValueError``.
* The invoice of a period is ``period_key(subscription_id, index)``, the
  deterministic ``<subscription>-<period>`` string that makes a second charge for
  the same period collide with the first (invariant 1).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

__all__ = [
    "BillingInterval",
    "Interval",
    "next_charge_at",
    "period_index_at",
    "period_key",
    "period_start",
    "to_utc",
]


class Interval(StrEnum):
    """The unit of a billing interval (OKPAY's Days/Weeks/Months/Years)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


_MONTHS_PER_UNIT = {Interval.MONTH: 1, Interval.YEAR: 12}
_DAYS_PER_UNIT = {Interval.DAY: 1, Interval.WEEK: 7}


@dataclass(frozen=True, slots=True)
class BillingInterval:
    """``count`` units between two charges, e.g. ``BillingInterval(Interval.MONTH, 3)``.

    ``unit`` also accepts the plain string value (``"month"``), as stored in
    settings and database columns; it is converted to :class:`Interval`.
    """

    unit: Interval
    count: int = 1

    def __post_init__(self) -> None:
        try:
            unit = Interval(self.unit)
        except ValueError:
            choices = ", ".join(unit.value for unit in Interval)
            raise ValueError(
                f"interval unit must be one of {choices}, not {self.unit!r}"
            ) from None
        object.__setattr__(self, "unit", unit)
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise TypeError(f"interval count must be an int, not {self.count!r}")
        if self.count < 1:
            raise ValueError(f"interval count must be at least 1, not {self.count}")


def period_start(anchor: datetime, interval: BillingInterval, index: int) -> datetime:
    """Start of period ``index`` (period 0 starts at ``anchor``), in UTC."""
    start = to_utc(anchor, "anchor")
    _check_index(index)
    if interval.unit in _DAYS_PER_UNIT:
        return start + timedelta(
            days=index * interval.count * _DAYS_PER_UNIT[interval.unit]
        )
    return _add_months(start, index * interval.count * _MONTHS_PER_UNIT[interval.unit])


def period_index_at(
    anchor: datetime, interval: BillingInterval, moment: datetime
) -> int:
    """Index of the period that contains ``moment``.

    The result ``k`` satisfies ``period_start(k) <= moment < period_start(k + 1)``.
    """
    start = to_utc(anchor, "anchor")
    when = to_utc(moment, "moment")
    if when < start:
        raise ValueError(f"{when.isoformat()} is before the anchor {start.isoformat()}")
    if interval.unit in _DAYS_PER_UNIT:
        length = timedelta(days=interval.count * _DAYS_PER_UNIT[interval.unit])
        return (when - start) // length
    step = interval.count * _MONTHS_PER_UNIT[interval.unit]
    elapsed = (when.year - start.year) * 12 + (when.month - start.month)
    # Period ``elapsed // step`` starts in the month of ``when`` or earlier, and
    # the period after it in a later month; only the day and time can put
    # ``when`` before that start, and then it lies in the period before.
    index = elapsed // step
    if _add_months(start, index * step) > when:
        index -= 1
    return index


def next_charge_at(anchor: datetime, interval: BillingInterval, index: int) -> datetime:
    """When the charge after period ``index`` falls due: period ``index + 1`` starts."""
    _check_index(index)
    return period_start(anchor, interval, index + 1)


def period_key(subscription_id: int | str, index: int) -> str:
    """The deterministic invoice of one period: ``"<subscription>-<period>"``."""
    _check_index(index)
    return f"{subscription_id}-{index}"


def to_utc(value: datetime, name: str = "value") -> datetime:
    """``value`` in UTC; raises if it is not an aware datetime.

    ``TypeError`` for a non-datetime, ``ValueError`` for a naive one; ``name``
    names the argument in the message.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def _check_index(index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"period index must be an int, not {index!r}")
    if index < 0:
        raise ValueError(f"period index must be 0 or more, not {index}")


def _add_months(start: datetime, months: int) -> datetime:
    """``start`` plus ``months``, on its day of the month or the month's last day."""
    month_number = start.month - 1 + months
    year, month = start.year + month_number // 12, month_number % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)
