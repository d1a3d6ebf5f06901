"""The HTTP session the demo shop talks to OKPAY with.

Requests to the emulator's URL on this very server are answered in-process by
:class:`okpay_gateway.emulator.adapter.EmulatorAdapter`: in the calling thread
and on its database connection. Going through the socket instead would make a
server thread that holds SQLite's write lock wait for another thread that
needs it; the browser and the emulator's IPN sender still use real HTTP.
"""

from __future__ import annotations

import requests
from django.conf import settings


def emulator_session() -> requests.Session:
    """A session with the emulator mounted at ``settings.EMULATOR_URL``."""
    from okpay_gateway.emulator.adapter import emulator_session as mount

    return mount(settings.EMULATOR_URL, prefix="/" + settings.EMULATOR_PREFIX)
