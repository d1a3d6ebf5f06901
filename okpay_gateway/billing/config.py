"""The renewal engine's policy, read once from :class:`~okpay_gateway.conf.GatewayOptions`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from okpay_gateway import conf
from okpay_gateway.billing.dunning import DunningLadder
from okpay_gateway.provider.settings import OkPaySettings

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LEASE",
    "DEFAULT_RESOLVER_BACKOFF",
    "RenewalConfig",
]

# The engine's knobs default to GatewayOptions' defaults (one place).
_DEFAULTS = conf.GatewayOptions()
DEFAULT_LEASE = timedelta(seconds=_DEFAULTS.renewal_lease_seconds)
DEFAULT_BATCH_SIZE = _DEFAULTS.renewal_batch_size
DEFAULT_RESOLVER_BACKOFF = tuple(
    timedelta(seconds=s) for s in _DEFAULTS.resolver_backoff_seconds
)


@dataclass(frozen=True, slots=True)
class RenewalConfig:
    """The engine's policy, normally built by :meth:`from_settings`.

    Keys: ``DUNNING`` (see :mod:`.dunning`), ``RENEWAL_LEASE_SECONDS``,
    ``RENEWAL_BATCH_SIZE``, ``RENEWAL_FETCH_AVAILABLE_AMOUNT`` (ask OKPAY for
    the contract's ``AvailableAmount`` before each charge; one more SOAP call),
    ``RESOLVER_BACKOFF_SECONDS`` (list; the last value repeats) and
    ``RESOLVER_SENDING_STALE_SECONDS`` (how old a ``sending`` attempt must be
    before the resolver treats it as a crashed call; default: the client's
    timeouts plus 60 s).
    """

    ladder: DunningLadder = field(default_factory=DunningLadder)
    lease: timedelta = DEFAULT_LEASE
    batch_size: int = DEFAULT_BATCH_SIZE
    fetch_available_amount: bool = False
    resolver_backoff: tuple[timedelta, ...] = DEFAULT_RESOLVER_BACKOFF
    sending_stale_after: timedelta | None = None
    send_mail: bool = True

    @classmethod
    def from_settings(cls) -> RenewalConfig:
        options = conf.options()
        stale = options.resolver_sending_stale_seconds
        return cls(
            ladder=DunningLadder.from_setting(
                options.dunning, name='OKPAY_GATEWAY["DUNNING"]'
            ),
            lease=timedelta(seconds=options.renewal_lease_seconds),
            batch_size=options.renewal_batch_size,
            fetch_available_amount=options.renewal_fetch_available_amount,
            resolver_backoff=tuple(
                timedelta(seconds=s) for s in options.resolver_backoff_seconds
            ),
            sending_stale_after=(
                timedelta(seconds=stale) if stale is not None else None
            ),
            send_mail=options.billing_emails,
        )

    def stale_after(self, okpay_settings: OkPaySettings) -> timedelta:
        if self.sending_stale_after is not None:
            return self.sending_stale_after
        return timedelta(
            seconds=okpay_settings.connect_timeout + okpay_settings.read_timeout + 60
        )

    def backoff(self, tries: int) -> timedelta:
        return self.resolver_backoff[min(tries, len(self.resolver_backoff) - 1)]
