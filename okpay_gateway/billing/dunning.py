"""The dunning ladder: what happens after a renewal charge is declined.

The whole policy is one value, :class:`DunningLadder`, built from a plain setting
with :meth:`DunningLadder.from_setting`. The rule, counting *consecutive* failed
charges for the subscription (a completed charge resets the count to 0):

1. The first decline makes the subscription ``past_due`` (the state table does
   that: ``active`` + ``declined``).
2. After the n-th consecutive failure, while retries remain
   (``n <= len(retry_after)``), the next step is a **retry** at
   ``failed_at + retry_after[n - 1]``; the subscription stays ``past_due``.
   With the default ``(1, 3, 5)`` days, a charge first declined on day D is
   retried on D+1, D+4 and D+9.
3. When the retries are used up (failure ``len(retry_after) + 1`` or later), the
   next step is **suspend** at ``failed_at + suspend_after`` (default: at once).
   No charge is attempted automatically while suspended.
4. Once suspended, :func:`cancel_step` gives the **cancel** step at
   ``suspended_at + cancel_after`` (the grace). ``cancel_after=None`` means never
   cancel automatically: the subscription stays suspended until someone acts.

A failure while already suspended (a charge someone triggered by hand) maps to
**suspend** again, which the state table refuses for a suspended subscription;
the caller checks ``can_transition`` and keeps the original cancel deadline.

The ladder knows no clock: failure and suspension times are passed in, and every
result is an aware UTC datetime. The setting shape::

    {"retry_after_days": [1, 3, 5], "suspend_after_days": 0, "cancel_after_days": 7}

Every key is optional (the defaults are the class defaults);
``"cancel_after_days": None`` turns automatic cancellation off. A bare list is
short for ``{"retry_after_days": [...]}``. Days may be fractional (``0.5`` is
twelve hours).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.billing.states import SubscriptionEvent, SubscriptionStatus

__all__ = [
    "DunningAction",
    "DunningLadder",
    "DunningStep",
    "cancel_step",
    "next_step",
]

_DEFAULT_RETRY_AFTER = (timedelta(days=1), timedelta(days=3), timedelta(days=5))
# ASSUMPTION: a week of suspension before canceling; a setting
# (``cancel_after_days``), because OKPAY's own re-attempt policy is unknown.
_DEFAULT_CANCEL_AFTER = timedelta(days=7)
_SETTING_KEYS = ("retry_after_days", "suspend_after_days", "cancel_after_days")


class DunningAction(StrEnum):
    RETRY = "retry"
    SUSPEND = "suspend"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class DunningLadder:
    """The dunning policy; see the module docstring for the rule."""

    retry_after: tuple[timedelta, ...] = _DEFAULT_RETRY_AFTER
    suspend_after: timedelta = timedelta(0)
    cancel_after: timedelta | None = _DEFAULT_CANCEL_AFTER

    def __post_init__(self) -> None:
        if not isinstance(self.retry_after, tuple | list):
            raise TypeError("retry_after must be a tuple of timedelta")
        retry_after = tuple(self.retry_after)
        for position, delay in enumerate(retry_after):
            _check_delay(delay, f"retry_after[{position}]", allow_zero=False)
        object.__setattr__(self, "retry_after", retry_after)
        _check_delay(self.suspend_after, "suspend_after", allow_zero=True)
        if self.cancel_after is not None:
            _check_delay(self.cancel_after, "cancel_after", allow_zero=True)

    @property
    def retries(self) -> int:
        """How many retries follow the first failure."""
        return len(self.retry_after)

    @classmethod
    def from_setting(cls, value: object, *, name: str = "dunning") -> DunningLadder:
        """Build the ladder from a settings value (dict, list, ``None`` or a ladder).

        ``name`` is the setting's name, used in error messages. Raises
        ``ValueError`` saying what is wrong and where.
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, list | tuple):
            value = {"retry_after_days": value}
        if not isinstance(value, Mapping):
            raise ValueError(
                f"{name} must be a dict with keys {', '.join(_SETTING_KEYS)} "
                f"(or a list of retry delays in days), not {type(value).__name__}"
            )
        unknown = sorted(str(key) for key in value if key not in _SETTING_KEYS)
        if unknown:
            raise ValueError(
                f"{name} has unknown keys {', '.join(unknown)}; "
                f"allowed: {', '.join(_SETTING_KEYS)}"
            )
        default = cls()
        retry_after = default.retry_after
        if "retry_after_days" in value:
            retry_after = _parse_retries(
                value["retry_after_days"], f"{name}['retry_after_days']"
            )
        suspend_after = default.suspend_after
        if "suspend_after_days" in value:
            suspend_after = _parse_days(
                value["suspend_after_days"], f"{name}['suspend_after_days']"
            )
        cancel_after = default.cancel_after
        if "cancel_after_days" in value:
            raw = value["cancel_after_days"]
            cancel_after = (
                None
                if raw is None
                else _parse_days(raw, f"{name}['cancel_after_days']")
            )
        return cls(retry_after, suspend_after, cancel_after)


@dataclass(frozen=True, slots=True)
class DunningStep:
    """The next thing the ladder does: ``action`` at ``at`` (UTC).

    ``status`` is the subscription's status under this step: ``past_due`` while
    a retry is pending (a retry that completes makes it ``active`` through the
    ``charged`` event), ``suspended`` or ``canceled`` once the step is applied.
    """

    action: DunningAction
    at: datetime
    status: SubscriptionStatus

    @property
    def event(self) -> SubscriptionEvent | None:
        """The state-table event that applies this step (``None`` for a retry)."""
        return _EVENTS[self.action]


_EVENTS: Mapping[DunningAction, SubscriptionEvent | None] = {
    DunningAction.RETRY: None,
    DunningAction.SUSPEND: SubscriptionEvent.SUSPEND,
    DunningAction.CANCEL: SubscriptionEvent.CANCEL,
}


def next_step(
    ladder: DunningLadder, consecutive_failures: int, failed_at: datetime
) -> DunningStep:
    """The step after ``consecutive_failures`` failures, the last at ``failed_at``."""
    if isinstance(consecutive_failures, bool) or not isinstance(
        consecutive_failures, int
    ):
        raise TypeError(
            f"consecutive_failures must be an int, not {consecutive_failures!r}"
        )
    if consecutive_failures < 1:
        raise ValueError(
            f"consecutive_failures must be 1 or more, not {consecutive_failures}"
        )
    failed = to_utc(failed_at, "failed_at")
    if consecutive_failures <= ladder.retries:
        return DunningStep(
            action=DunningAction.RETRY,
            at=failed + ladder.retry_after[consecutive_failures - 1],
            status=SubscriptionStatus.PAST_DUE,
        )
    return DunningStep(
        action=DunningAction.SUSPEND,
        at=failed + ladder.suspend_after,
        status=SubscriptionStatus.SUSPENDED,
    )


def cancel_step(ladder: DunningLadder, suspended_at: datetime) -> DunningStep | None:
    """The cancel step for a subscription suspended at ``suspended_at``.

    ``None`` when the ladder never cancels automatically.
    """
    suspended = to_utc(suspended_at, "suspended_at")
    if ladder.cancel_after is None:
        return None
    return DunningStep(
        action=DunningAction.CANCEL,
        at=suspended + ladder.cancel_after,
        status=SubscriptionStatus.CANCELED,
    )


def _check_delay(delay: object, name: str, *, allow_zero: bool) -> None:
    if not isinstance(delay, timedelta):
        raise TypeError(f"{name} must be a timedelta, not {type(delay).__name__}")
    if delay < timedelta(0) or (not allow_zero and delay == timedelta(0)):
        bound = "0 or more" if allow_zero else "more than 0"
        raise ValueError(f"{name} must be {bound}, not {delay}")


def _parse_retries(raw: object, name: str) -> tuple[timedelta, ...]:
    if not isinstance(raw, list | tuple):
        raise ValueError(
            f"{name} must be a list of day counts, not {type(raw).__name__}"
        )
    delays = tuple(_parse_days(item, f"{name}[{i}]") for i, item in enumerate(raw))
    for i, delay in enumerate(delays):
        if delay == timedelta(0):
            raise ValueError(f"{name}[{i}] must be more than 0 days")
    return delays


def _parse_days(raw: object, name: str) -> timedelta:
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise ValueError(f"{name} must be a number of days, not {raw!r}")
    days = float(raw)
    if not math.isfinite(days) or days < 0:
        raise ValueError(
            f"{name} must be a finite number of days, 0 or more, not {raw!r}"
        )
    return timedelta(days=days)
