from __future__ import annotations

import pytest

from okpay_gateway.emulator import ipn_sender
from tests.contrib.support import CHANNEL, PLUGIN_PATH, configure_plugin
from tests.payments.support import seed_world, use_emulator

from . import shop
from .support import GraphQLClient


@pytest.fixture
def okpay(settings, db):
    """The OKPAY plugin on channel "default" against the in-process emulator."""
    settings.PLUGINS = [PLUGIN_PATH]
    settings.OKPAY_HOST_CHANNELS = [CHANNEL]
    settings.ROOT_URLCONF = "tests.graphql.urls"
    settings.OKPAY_GRAPHQL_ALLOWED_CLIENT_HOSTS = ["shop.example"]
    settings.OKPAY_GRAPHQL_CHECKOUT_RESOLVER = "tests.graphql.shop.resolve_checkout"
    settings.OKPAY_EMULATOR = {
        **settings.OKPAY_EMULATOR,
        "IPN_DELIVERY": "sync",
        "IPN_SESSION_FACTORY": "tests.contrib.support.shop_session",
    }
    ipn_sender.set_session_factory(None)
    use_emulator(settings)
    seeded_contract = seed_world()
    configure_plugin()
    shop.CHECKOUTS.clear()
    yield seeded_contract
    shop.CHECKOUTS.clear()


@pytest.fixture
def gql(okpay, client):
    return GraphQLClient(client)


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def other_customer(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "merchant", "merchant@example.com", "pw", is_staff=True
    )
