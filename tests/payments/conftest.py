from __future__ import annotations

import pytest

from tests.payments.support import use_emulator


@pytest.fixture
def okpay_settings(settings, db):
    """Provider settings pointing at the in-process emulator."""
    return use_emulator(settings)
