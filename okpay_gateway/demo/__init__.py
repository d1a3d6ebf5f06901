"""The demo shop: a small Django project selling subscription plans through OKPAY.

``okpay-gateway demo`` (see :mod:`.cli`) runs it with the emulator mounted at
``/okpay-emulator/`` on the same server, so a visitor can buy a plan, approve
the agreement on the emulated OKPAY page and watch renewals happen.
"""

from __future__ import annotations
