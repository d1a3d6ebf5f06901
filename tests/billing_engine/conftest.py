from __future__ import annotations

import pytest

from okpay_gateway import clients

# Until okpay_gateway's AppConfig/admin import them: the receiver and the admin.
from okpay_gateway.billing import admin as _billing_admin  # noqa: F401
from okpay_gateway.billing import receivers  # noqa: F401
from tests.billing_engine.wiring import gateway_settings


@pytest.fixture
def okpay(settings, transactional_db):
    """The gateway configured against the in-process emulator (real commits)."""
    settings.OKPAY_GATEWAY = gateway_settings()
    clients.reset()
    yield settings
    clients.reset()
