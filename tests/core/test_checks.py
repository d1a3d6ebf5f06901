"""System checks on OKPAY_GATEWAY, the emulator app and the vendored WSDL."""

from __future__ import annotations

import pytest
from django.core import checks as django_checks

from okpay_gateway import checks
from tests.core import support


def _ids(settings, **gateway) -> list[str]:
    settings.OKPAY_GATEWAY = gateway
    return sorted(message.id for message in checks.check_gateway_mapping(gateway))


def _live(**values) -> dict:
    base = {"WALLET_ID": "OK100000001", "API_PASSWORD": "secret"}
    base.update(values)
    return base


@pytest.fixture
def production(settings):
    """DEBUG off and no escape hatch (the test settings install the emulator)."""
    settings.DEBUG = False
    settings.OKPAY_EMULATOR = {}
    return settings


def test_check_settings_valid_live_configuration_is_clean(production):
    """A complete live configuration produces no messages."""
    assert _ids(production, **_live()) == []


def test_check_settings_registered_under_okpay_gateway_tag(production):
    """apps.ready() registers the checks under the okpay_gateway tag."""
    production.OKPAY_GATEWAY = {"WALLET_ID": "OK1"}

    messages = django_checks.run_checks(tags=[checks.TAG])

    assert sorted(m.id for m in messages) == [
        "okpay_gateway.E002",
        "okpay_gateway.E007",
    ]


def test_check_settings_not_a_dict_is_e001(production):
    """OKPAY_GATEWAY must be a dict."""
    production.OKPAY_EMULATOR = {"ALLOW_WITHOUT_DEBUG": True}
    production.OKPAY_GATEWAY = ["WALLET_ID"]

    messages = checks.check_settings()

    assert [m.id for m in messages] == ["okpay_gateway.E001"]
    assert messages[0].hint


def test_check_settings_missing_credentials_is_e002(production):
    """Standalone settings need WALLET_ID and API_PASSWORD."""
    messages = checks.check_gateway_mapping({"ENVIRONMENT": "live"})

    assert [m.id for m in messages] == ["okpay_gateway.E002"]
    assert "WALLET_ID, API_PASSWORD" in messages[0].msg
    assert "STANDALONE" in messages[0].hint


def test_check_settings_plugins_only_skips_credentials(production):
    """STANDALONE=False (plugin-only shops) with a settings provider needs nothing else."""
    provider = "okpay_gateway.contrib.saleor.channel_settings.for_channel"
    assert _ids(production, STANDALONE=False, SETTINGS_PROVIDER=provider) == []


def test_check_settings_plugins_only_without_provider_warns(production):
    """Plugin-only shops are warned that workers cannot find channel settings."""
    assert _ids(production, STANDALONE=False) == ["okpay_gateway.W002"]


def test_check_settings_absent_setting_warns_w002(production):
    """A shop without OKPAY_GATEWAY is plugins-only: warned that workers lack a provider."""
    production.OKPAY_EMULATOR = {"ALLOW_WITHOUT_DEBUG": True}
    if hasattr(production, "OKPAY_GATEWAY"):
        del production.OKPAY_GATEWAY

    messages = checks.check_settings()

    assert [m.id for m in messages] == ["okpay_gateway.W002"]
    assert "SETTINGS_PROVIDER" in messages[0].hint


def test_check_settings_unknown_environment_is_e003(production):
    """ENVIRONMENT must be live, sandbox or emulator."""
    assert _ids(production, **_live(ENVIRONMENT="staging")) == ["okpay_gateway.E003"]


@pytest.mark.parametrize("value", [0, -1, None, "30", True])
def test_check_settings_bad_timeout_is_e004(production, value):
    """Timeouts must be positive numbers of seconds."""
    assert _ids(production, **_live(READ_TIMEOUT=value)) == ["okpay_gateway.E004"]


def test_check_settings_accept_test_ipn_live_is_e005(production):
    """TEST answers are never acceptable in live mode."""
    assert _ids(production, **_live(ACCEPT_TEST_IPN=True)) == ["okpay_gateway.E005"]


def test_check_settings_emulator_environment_without_debug_is_e006(production):
    """The emulator environment with DEBUG off is an error."""
    assert _ids(production, **_live(ENVIRONMENT="emulator")) == ["okpay_gateway.E006"]


def test_check_settings_emulator_environment_with_debug_is_clean(production):
    """With DEBUG on the emulator environment is fine."""
    production.DEBUG = True

    assert _ids(production, **_live(ENVIRONMENT="emulator")) == []


def test_check_settings_emulator_escape_hatch_allows_it(production):
    """OKPAY_EMULATOR["ALLOW_WITHOUT_DEBUG"] is the one escape hatch for E006 and E007."""
    production.OKPAY_EMULATOR = {"ALLOW_WITHOUT_DEBUG": True}
    production.OKPAY_GATEWAY = support.gateway_settings()

    assert checks.check_settings() == []


def test_check_emulator_app_installed_without_debug_is_e007(production):
    """The emulator app in INSTALLED_APPS with DEBUG off is an error."""
    assert checks.EMULATOR_APP in production.INSTALLED_APPS

    messages = checks.check_emulator_app()

    assert [m.id for m in messages] == ["okpay_gateway.E007"]
    assert "ALLOW_WITHOUT_DEBUG" in messages[0].hint


def test_check_emulator_app_with_debug_is_clean(production):
    """During development the emulator may be installed."""
    production.DEBUG = True

    assert checks.check_emulator_app() == []


def test_check_settings_plain_http_verify_url_live_is_w001(production):
    """A live verify URL over plain http is a warning."""
    messages = checks.check_gateway_mapping(
        _live(VERIFY_URL="http://checkout.okpay.com/ipn-verify")
    )

    assert [(m.id, m.level) for m in messages] == [
        ("okpay_gateway.W001", django_checks.WARNING)
    ]
    assert "VERIFY_URL" in messages[0].msg


def test_check_wsdl_file_missing_is_e008(tmp_path):
    """Without the vendored WSDL the client cannot be built."""
    messages = checks.check_wsdl_file(tmp_path / "OkPayAPI.wsdl")

    assert [m.id for m in messages] == ["okpay_gateway.E008"]


def test_check_wsdl_file_shipped_is_clean():
    """The WSDL is where the client expects it in this checkout."""
    assert checks.WSDL_PATH.is_file()
    assert checks.check_wsdl_file() == []


def test_check_settings_unimportable_session_factory_is_e009(production):
    """A SESSION_FACTORY that cannot be imported is reported."""
    ids = _ids(production, **_live(SESSION_FACTORY="tests.core.support.no_such_thing"))

    assert ids == ["okpay_gateway.E009"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("RENEWAL_BATCH_SIZE", "50"),
        ("RENEWAL_BATCH_SIZE", 0),
        ("RENEWAL_LEASE_SECONDS", -1),
        ("RESOLVER_BACKOFF_SECONDS", []),
        ("REVERIFY_DELAYS", "60,300"),
        ("BILLING_EMAILS", "yes"),
        ("EMAIL_FROM", 42),
    ],
)
def test_check_settings_bad_gateway_option_is_e011(production, key, value):
    """A non-provider option with the wrong type or range is a startup error."""
    ids = _ids(production, **_live(**{key: value}))

    assert ids == ["okpay_gateway.E011"]


def test_check_settings_bad_dunning_ladder_is_e012(production):
    """DUNNING is read by billing's ladder parser at startup, not mid-run."""
    production.OKPAY_GATEWAY = _live(DUNNING={"retry_after_weeks": [1]})

    messages = django_checks.run_checks(tags=[checks.TAG])

    assert "okpay_gateway.E012" in [m.id for m in messages]
    production.OKPAY_GATEWAY = _live(DUNNING={"retry_after_days": [1]})
    messages = django_checks.run_checks(tags=[checks.TAG])
    assert "okpay_gateway.E012" not in [m.id for m in messages]


def test_gateway_options_defaults_and_overrides():
    """GatewayOptions holds every non-provider key with its default, typed."""
    from okpay_gateway.conf import GatewayOptions

    defaults = GatewayOptions.from_mapping({})
    given = GatewayOptions.from_mapping(
        {"RENEWAL_BATCH_SIZE": 7, "RESOLVER_BACKOFF_SECONDS": [5, 10], "X": 1}
    )

    assert defaults == GatewayOptions()
    assert defaults.renewal_batch_size == 50
    assert defaults.sending_grace_seconds == 30.0
    assert given.renewal_batch_size == 7
    assert given.resolver_backoff_seconds == (5.0, 10.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("IPN_MAX_BODY_BYTES", 100),
        ("IPN_MAX_BODY_BYTES", "65536"),
        ("IPN_MAX_BODY_BYTES", True),
        ("IPN_RETENTION_DAYS", -1),
        ("IPN_RETENTION_DAYS", 1.5),
    ],
)
def test_check_settings_bad_ipn_storage_setting_is_e011(production, key, value):
    """A body cap too small for a real IPN, or a retention that is not whole days."""
    assert _ids(production, **_live(**{key: value})) == ["okpay_gateway.E011"]


def test_check_settings_ipn_storage_settings_in_range_are_clean(production):
    assert (
        _ids(production, **_live(IPN_MAX_BODY_BYTES=4096, IPN_RETENTION_DAYS=0)) == []
    )
