from __future__ import annotations

import pytest

from okpay_gateway.contrib.saleor_app import saleor_api
from okpay_gateway.emulator import ipn_sender
from tests.payments.support import seed_world, use_emulator
from tests.saleor_app.standin import APP_TOKEN, SaleorStandIn
from tests.saleor_app.support import saleor_schema


@pytest.fixture(scope="session")
def schema():
    return saleor_schema()


@pytest.fixture
def standin(schema):
    server = SaleorStandIn(validate_with=schema).start()
    yield server
    server.stop()
    assert server.invalid_documents == [], "the App sent documents Saleor would refuse"


@pytest.fixture
def app(settings, live_server, standin):
    """The App on a live server, Saleor's stand-in, the emulator in-process."""
    settings.ROOT_URLCONF = "tests.saleor_app.urls"
    settings.OKPAY_SALEOR_APP = {
        "APP_URL": live_server.url + "/okpay-app/",
        "ALLOWED_SALEOR_URLS": [standin.api_url],
        "SUPPORTED_CURRENCIES": ["USD"],
        "MONTHLY_LIMIT": "300.00",
        "AGREEMENT_TITLE": "Example Shop subscription",
        "CONNECT_TIMEOUT": 2,
        "READ_TIMEOUT": 10,
        "RETRY_DELAYS": [0],
        "JWKS_MIN_REFRESH_SECONDS": 0,
    }
    settings.OKPAY_EMULATOR = {**settings.OKPAY_EMULATOR, "IPN_DELIVERY": "sync"}
    ipn_sender.set_session_factory(None)
    saleor_api.reset()
    use_emulator(settings)
    settings.OKPAY_GATEWAY = {**settings.OKPAY_GATEWAY, "ACCEPT_TEST_IPN": True}
    seed_world()
    yield live_server.url + "/okpay-app/"
    saleor_api.reset()


@pytest.fixture
def installed(app, standin):
    """The App installed by Saleor's install flow (token posted to register/)."""
    import requests

    response = requests.post(
        app + "register/",
        json={"auth_token": APP_TOKEN},
        headers={
            "Saleor-Api-Url": standin.api_url,
            "Saleor-Domain": standin.base_url.split("//")[1],
        },
        timeout=(5, 30),
    )
    assert response.status_code == 200, response.text
    from okpay_gateway.contrib.saleor_app.models import Installation

    return Installation.objects.get(saleor_api_url=standin.api_url)
