"""The hourly SecurityToken OKPAY expects next to the WalletID.

``SecurityToken`` is the upper-case hex SHA-256 of ``<api password>:<yyyyMMdd>:<HH>``
for the current UTC date and hour (okpay-soap-api.md section 5). The hour comes
from an injected :class:`~okpay_gateway.types.Clock`, corrected by the offset
to OKPAY's own clock once that is known (S8 builds tokens from ``Get_Date_Time``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from okpay_gateway.types import Clock, SystemClock

__all__ = ["TokenSource", "security_token"]


def security_token(password: str, at: datetime) -> str:
    """The SecurityToken valid during the UTC hour that contains ``at``.

    ``at`` must be timezone-aware; it is converted to UTC first. Naive
    datetimes are refused because guessing their zone would silently yield a
    token for the wrong hour.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("security_token needs a timezone-aware datetime")
    utc = at.astimezone(UTC)
    text = f"{password}:{utc:%Y%m%d}:{utc:%H}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest().upper()


class TokenSource:
    """Builds tokens from a clock, optionally shifted to OKPAY's clock.

    Tokens are cheap to compute, so none is cached: each call uses the current
    hour. :meth:`resync` records how far the local clock is from the server's
    (the answer of ``Get_Date_Time``), which is what "rebuild the token after
    ``Authentication_Failed``" amounts to when the local clock is off.
    """

    __slots__ = ("_clock", "_offset", "_password")

    def __init__(self, password: str, clock: Clock | None = None) -> None:
        self._password = password
        self._clock: Clock = clock or SystemClock()
        self._offset = timedelta(0)

    def __repr__(self) -> str:  # never show the password
        return f"TokenSource(offset={self._offset!r})"

    @property
    def offset(self) -> timedelta:
        """Server time minus local time, as last measured by :meth:`resync`."""
        return self._offset

    def now(self) -> datetime:
        """The best estimate of OKPAY's current time."""
        return self._clock.now() + self._offset

    def token(self) -> str:
        """The token for the current (server-corrected) UTC hour."""
        return security_token(self._password, self.now())

    def resync(self, server_now: datetime) -> None:
        """Adopt the offset between ``server_now`` and the local clock."""
        if server_now.tzinfo is None:
            raise ValueError("server time must be timezone-aware")
        self._offset = server_now - self._clock.now()
