"""System checks of the App's settings, and the admin never showing the token."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from okpay_gateway.contrib.saleor_app import checks, token_store
from okpay_gateway.contrib.saleor_app.models import Installation


def _ids(settings, **values):
    settings.OKPAY_SALEOR_APP = values
    return sorted(error.id for error in checks.check_app_settings())


def test_good_settings_pass(settings):
    assert (
        _ids(
            settings,
            APP_URL="https://app.example.com/okpay/",
            ALLOWED_SALEOR_URLS=["https://shop.example.com/graphql/"],
            TOKEN_KEY=Fernet.generate_key().decode(),
        )
        == []
    )


def test_bad_settings_are_errors(settings):
    assert _ids(
        settings,
        APP_URL="/okpay/",
        ALLOWED_SALEOR_URLS=[],
        TOKEN_KEY="short",
        READ_TIMEOUT=0,
    ) == [
        "okpay_saleor_app.E101",
        "okpay_saleor_app.E102",
        "okpay_saleor_app.E103",
        "okpay_saleor_app.E104",
    ]


def test_allow_list_patterns(settings):
    from okpay_gateway.contrib.saleor_app import conf

    settings.OKPAY_SALEOR_APP = {
        "ALLOWED_SALEOR_URLS": ["https://*.shops.example.com/graphql/"]
    }
    assert conf.saleor_url_allowed("https://a.shops.example.com/graphql/")
    assert not conf.saleor_url_allowed("https://evil.example.org/graphql/")
    assert not conf.saleor_url_allowed("")


def test_token_key_setting_encrypts_and_a_changed_key_is_a_clear_error(settings):
    from okpay_gateway.exceptions import ConfigurationError

    settings.OKPAY_SALEOR_APP = {"TOKEN_KEY": Fernet.generate_key().decode()}
    ciphertext = token_store.encrypt("secret-token")
    assert token_store.decrypt(ciphertext) == "secret-token"
    settings.OKPAY_SALEOR_APP = {"TOKEN_KEY": Fernet.generate_key().decode()}
    with pytest.raises(ConfigurationError, match="reinstall"):
        token_store.decrypt(ciphertext)


@pytest.mark.django_db
def test_admin_pages_never_show_the_token(admin_client):
    installation = Installation(saleor_api_url="https://shop.example.com/graphql/")
    installation.set_token("token-in-admin-test")
    installation.save()
    pages = [
        "/admin/okpay_saleor_app/installation/",
        f"/admin/okpay_saleor_app/installation/{installation.pk}/change/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "shop.example.com" in body
        assert "token-in-admin-test" not in body
        assert installation.token_ciphertext not in body
