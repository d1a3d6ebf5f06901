"""Emulator time: real UTC time plus an offset, or a frozen instant.

The state lives in the :class:`~.models.EmulatorClock` row, so a server
process, a worker and the tests all see the same time. Moving the clock
forward expires the agreements whose end date has passed, as OKPAY's own
nightly job would have (okpay-ipn-links.md §4, row 6).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from okpay_gateway.emulator.models import EmulatorClock

logger = logging.getLogger(__name__)


def _real_now() -> datetime:
    return datetime.now(UTC)


def _row() -> EmulatorClock | None:
    return EmulatorClock.objects.filter(pk=EmulatorClock.SINGLETON_ID).first()


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("emulator time must be timezone-aware")
    return value.astimezone(UTC)


def now() -> datetime:
    """The emulator's current time (aware, UTC)."""
    row = _row()
    if row is None:
        return _real_now()
    if row.frozen_at is not None:
        return _as_utc(row.frozen_at)
    return _real_now() + timedelta(seconds=float(row.offset_seconds))


def is_frozen() -> bool:
    row = _row()
    return row is not None and row.frozen_at is not None


def _save(*, frozen_at: datetime | None, offset: Decimal) -> None:
    EmulatorClock.objects.update_or_create(
        pk=EmulatorClock.SINGLETON_ID,
        defaults={"frozen_at": frozen_at, "offset_seconds": offset},
    )


def _offset_of(row: EmulatorClock | None) -> Decimal:
    return Decimal(row.offset_seconds) if row is not None else Decimal(0)


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(
        delta.microseconds
    ) / Decimal(1_000_000)


def advance(delta: timedelta, *, expire: bool = True) -> datetime:
    """Move emulator time by ``delta`` (frozen or not) and expire due contracts."""
    row = _row()
    if row is not None and row.frozen_at is not None:
        _save(frozen_at=_as_utc(row.frozen_at) + delta, offset=_offset_of(row))
    else:
        _save(frozen_at=None, offset=_offset_of(row) + _seconds(delta))
    current = now()
    logger.info("emulator clock moved by %s to %s", delta, current.isoformat())
    if expire:
        _expire_due(current)
    return current


def freeze(at: datetime | None = None, *, expire: bool = True) -> datetime:
    """Stop emulator time at ``at`` (default: the current emulator time)."""
    target = _as_utc(at) if at is not None else now()
    _save(frozen_at=target, offset=_offset_of(_row()))
    logger.info("emulator clock frozen at %s", target.isoformat())
    if expire:
        _expire_due(target)
    return target


def unfreeze() -> datetime:
    """Let time run again from the frozen instant."""
    row = _row()
    if row is None or row.frozen_at is None:
        return now()
    offset = _seconds(_as_utc(row.frozen_at) - _real_now())
    _save(frozen_at=None, offset=offset)
    return now()


def reset() -> datetime:
    """Back to real time, no offset."""
    EmulatorClock.objects.filter(pk=EmulatorClock.SINGLETON_ID).delete()
    return now()


# What must happen when time jumps (contracts past their end date expire).
# The operations module registers itself: it reads this clock, so the clock
# cannot import it back.
_on_move: list[Callable[[datetime], object]] = []


def on_move(listener: Callable[[datetime], object]) -> None:
    """Call ``listener(new_time)`` whenever the clock is moved or frozen."""
    if listener not in _on_move:
        _on_move.append(listener)


def _expire_due(at: datetime) -> None:
    for listener in _on_move:
        listener(at)


class EmulatorClockSource:
    """A :class:`okpay_gateway.types.Clock` that reads emulator time.

    Hand it to ``OkPayClient(clock=...)`` so tokens follow a moved clock.
    """

    def now(self) -> datetime:
        return now()
