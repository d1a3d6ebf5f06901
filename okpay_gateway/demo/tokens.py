"""Keeping the shop's OKPAY clients on emulator time.

The SecurityToken is built for the current UTC hour. When the clock control
moves the emulator's clock, a client on real time would send a token for the
wrong hour; the client itself recovers only after an ``Authentication_Failed``
(and never retries a charge). The demo knows the emulator's time directly, so
it moves the clients' token clocks along before each call that matters.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

# A token is valid for its hour; re-measure once the estimate is this far off.
TOLERANCE = timedelta(minutes=5)


def follow_emulator_clock() -> None:
    """Align every client the demo uses with the emulator's current time."""
    from okpay_gateway import clients, conf, payments
    from okpay_gateway.emulator import clock

    now = clock.now()
    seen = set()
    for okpay_settings in (
        payments.settings_for_channel(settings.CHANNEL_SLUG),
        conf.get_settings(),
    ):
        if okpay_settings in seen:
            continue
        seen.add(okpay_settings)
        tokens = clients.client_for(okpay_settings).tokens
        if abs(tokens.now() - now) > TOLERANCE:
            tokens.resync(now)
