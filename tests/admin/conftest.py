from __future__ import annotations

import pytest

from tests.payments.support import seed_world, use_emulator


@pytest.fixture
def okpay_settings(settings, db):
    return use_emulator(settings)


@pytest.fixture
def world(okpay_settings):
    """Emulator wallets and one active agreement; returns its OKPAY id."""
    return seed_world()
