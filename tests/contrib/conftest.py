from __future__ import annotations

import pytest

from okpay_gateway.emulator import ipn_sender
from tests.contrib.support import CHANNEL, PLUGIN_PATH
from tests.payments.support import seed_world, use_emulator


@pytest.fixture
def okpay_settings(settings, db):
    settings.PLUGINS = [PLUGIN_PATH]
    settings.OKPAY_HOST_CHANNELS = [CHANNEL]
    settings.OKPAY_EMULATOR = {
        **settings.OKPAY_EMULATOR,
        "IPN_DELIVERY": "sync",
        "IPN_SESSION_FACTORY": "tests.contrib.support.shop_session",
    }
    ipn_sender.set_session_factory(None)
    return use_emulator(settings)


@pytest.fixture
def world(okpay_settings):
    """Emulator wallets (merchant, customer) with one unrelated agreement."""
    return seed_world()


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw")
