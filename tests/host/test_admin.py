"""The host's Django admin: OKPAY plugin configuration per channel, customer metadata."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django import forms
from django.contrib import admin
from django.urls import reverse

from okpay_gateway import conf
from okpay_gateway.contrib.saleor import consts
from okpay_gateway.host.admin import CLEAR_SUFFIX, OutputWidget
from okpay_gateway.host.models import CustomerMetadata, PluginConfiguration

pytestmark = pytest.mark.django_db

PLUGIN_PATH = "okpay_gateway.contrib.saleor.plugin.OkPayGatewayPlugin"
CHANNEL = "default-channel"
SECRET = "s3cret-Api-Pa55word-7781"
WALLET = "OK123456789"
SHOP = "https://shop.example.com"
IPN_URL = f"{SHOP}/plugins/channel/{CHANNEL}/{consts.PLUGIN_ID}/ipn/"
CHANGELIST = "admin:okpay_gateway_host_pluginconfiguration_changelist"
ADD = "admin:okpay_gateway_host_pluginconfiguration_add"
CHANGE = "admin:okpay_gateway_host_pluginconfiguration_change"


@pytest.fixture(autouse=True)
def okpay_host(settings, monkeypatch):
    """One channel and the OKPAY plugin; the plugin's settings registry is per test."""
    settings.PLUGINS = [PLUGIN_PATH]
    settings.OKPAY_HOST_CHANNELS = [CHANNEL]
    # An active plugin registers its settings per channel when it is loaded.
    monkeypatch.setattr(conf, "_channel_settings", {})
    return settings


def _stored(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        consts.WALLET_ID: WALLET,
        consts.API_PASSWORD: SECRET,
        consts.PUBLIC_URL: SHOP,
        consts.SUPPORTED_CURRENCIES: "USD",
        consts.MONTHLY_LIMIT: "500.00",
        consts.CHECK_CREDENTIALS: False,
    }
    values.update(overrides)
    return values


def _row(*, active: bool = True, **overrides: Any) -> PluginConfiguration:
    return PluginConfiguration.objects.create(
        identifier=consts.PLUGIN_ID,
        name=consts.PLUGIN_NAME,
        channel=CHANNEL,
        active=active,
        configuration=[
            {"name": name, "value": value}
            for name, value in _stored(**overrides).items()
        ],
    )


def _values(row: PluginConfiguration) -> dict[str, Any]:
    row.refresh_from_db()
    return {item["name"]: item["value"] for item in row.configuration}


def _post_data(*, active: bool = True, **overrides: Any) -> dict[str, str]:
    """What the browser posts for the form: every field, the password left blank."""
    values: dict[str, Any] = {**consts.DEFAULTS, **_stored()}
    values.update(overrides)
    data = {"_save": "Save"}
    if active:
        data["active"] = "on"
    for name, value in values.items():
        if name in (consts.IPN_URL, consts.API_PASSWORD):
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else str(value)
    if consts.API_PASSWORD in overrides:
        data[consts.API_PASSWORD] = overrides[consts.API_PASSWORD]
    return data


def _change_url(row: PluginConfiguration) -> str:
    return reverse(CHANGE, args=[row.pk])


def test_admin_registration_host_models_registered():
    """Installing okpay_gateway.host registers both models with the default admin site."""
    assert admin.site.is_registered(PluginConfiguration)
    assert admin.site.is_registered(CustomerMetadata)


def test_plugin_changelist_row_listed_without_configuration_values(admin_client):
    """The list shows plugin, identifier, channel and state, never a configured value."""
    _row()
    PluginConfiguration.objects.create(
        identifier="other.plugin", name="Other", channel=None, active=False
    )

    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    html = response.content.decode()
    assert consts.PLUGIN_NAME in html
    assert consts.PLUGIN_ID in html
    assert CHANNEL in html
    assert ">global<" in html
    assert SECRET not in html
    assert WALLET not in html
    assert "500.00" not in html


def test_plugin_changelist_filter_global_lists_global_rows_only(admin_client):
    """The channel filter's "global" choice keeps the rows without a channel."""
    _row()
    PluginConfiguration.objects.create(
        identifier="other.plugin", name="Other", channel=None, active=False
    )

    response = admin_client.get(reverse(CHANGELIST), {"channel": "global"})

    rows = list(response.context["cl"].result_list)
    assert [row.identifier for row in rows] == ["other.plugin"]


def test_plugin_changelist_channel_without_row_offers_configure_link(admin_client):
    """A configured channel with no row gets a "Configure OKPAY for <channel>" link."""
    response = admin_client.get(reverse(CHANGELIST))

    html = response.content.decode()
    query = urlencode({"identifier": consts.PLUGIN_ID, "channel": CHANNEL})
    assert f"Configure OKPAY for {CHANNEL}" in html
    assert f"{reverse(ADD)}?{query}".replace("&", "&amp;") in html


def test_plugin_changelist_configured_channel_has_no_configure_link(admin_client):
    """Once the channel has a row the configure link is gone."""
    _row()

    response = admin_client.get(reverse(CHANGELIST))

    assert "Configure OKPAY" not in response.content.decode()


def test_plugin_change_page_fields_follow_config_structure(admin_client):
    """Each CONFIG_STRUCTURE entry becomes a field of the matching kind and label."""
    row = _row()

    response = admin_client.get(_change_url(row))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert isinstance(form.fields[consts.AUTOMATIC_CAPTURE], forms.BooleanField)
    assert form.fields[consts.AUTOMATIC_CAPTURE].label == "Automatic capture"
    assert isinstance(form.fields[consts.WALLET_ID].widget, forms.TextInput)
    password_widget = form.fields[consts.API_PASSWORD].widget
    assert isinstance(password_widget, forms.PasswordInput)
    assert password_widget.render_value is False
    assert password_widget.attrs["autocomplete"] == "new-password"
    assert isinstance(
        form.fields[consts.API_PASSWORD + CLEAR_SUFFIX], forms.BooleanField
    )
    assert form.fields[consts.IPN_URL].disabled is True
    assert isinstance(form.fields[consts.IPN_URL].widget, OutputWidget)
    assert form["active"].value() is True
    html = response.content.decode()
    assert f'name="{consts.WALLET_ID}" value="{WALLET}"' in html
    assert "The API password from the wallet&#x27;s integration settings." in html


def test_plugin_change_page_secret_state_shown_as_set(admin_client):
    """The page says whether the API password is set, never what it is."""
    row = _row()

    html = admin_client.get(_change_url(row)).content.decode()

    assert '<strong class="okpay-secret-state">set</strong>' in html
    assert SECRET not in html
    assert SECRET[-4:] not in html


def test_plugin_change_page_empty_secret_shown_as_not_set(admin_client):
    """An empty stored password reads "not set"."""
    row = _row(active=False, api_password="")

    html = admin_client.get(_change_url(row)).content.decode()

    assert '<strong class="okpay-secret-state">not set</strong>' in html


def test_plugin_change_page_output_field_read_only(admin_client):
    """The IPN URL is shown as text and is not an input."""
    row = _row()

    html = admin_client.get(_change_url(row)).content.decode()

    assert (
        f'<div class="readonly okpay-output" data-name="{consts.IPN_URL}">'
        f"{IPN_URL}</div>"
    ) in html
    assert f' name="{consts.IPN_URL}"' not in html


def test_plugin_admin_pages_secret_never_rendered(admin_client):
    """No admin page about the row, including a re-rendered failed save, shows the secret."""
    row = _row()
    typed = "Typed-New-Secret-1234"
    urls = [
        reverse(CHANGELIST),
        _change_url(row),
        reverse("admin:okpay_gateway_host_pluginconfiguration_history", args=[row.pk]),
        reverse("admin:okpay_gateway_host_pluginconfiguration_delete", args=[row.pk]),
    ]
    pages = [admin_client.get(url).content.decode() for url in urls]
    failed = admin_client.post(
        _change_url(row), _post_data(wallet_id="bad", api_password=typed)
    )
    pages.append(failed.content.decode())

    assert failed.status_code == 200
    for html in pages:
        assert SECRET not in html
        assert typed not in html


def test_plugin_changelist_search_by_secret_finds_nothing(admin_client):
    """Searching for the stored password does not reveal which row holds it."""
    _row()

    response = admin_client.get(reverse(CHANGELIST), {"q": SECRET})

    assert list(response.context["cl"].result_list) == []


def test_plugin_save_blank_password_keeps_stored_one(admin_client):
    """Saving with the password input blank keeps the stored password."""
    row = _row()

    response = admin_client.post(
        _change_url(row), _post_data(monthly_limit="750.00", api_password="")
    )

    assert response.status_code == 302
    values = _values(row)
    assert values[consts.API_PASSWORD] == SECRET
    assert values[consts.MONTHLY_LIMIT] == "750.00"


def test_plugin_save_valid_configuration_updates_row(admin_client):
    """A valid save stores the new values, password and booleans included."""
    row = _row(active=False)

    response = admin_client.post(
        _change_url(row),
        _post_data(
            active=True,
            api_password="new-password-42",
            wallet_id="OK987654321",
            supported_currencies="USD,EUR",
            automatic_capture=False,
            daily_limit="50.00",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST)
    row.refresh_from_db()
    assert row.active is True
    values = _values(row)
    assert values[consts.API_PASSWORD] == "new-password-42"
    assert values[consts.WALLET_ID] == "OK987654321"
    assert values[consts.SUPPORTED_CURRENCIES] == "USD,EUR"
    assert values[consts.AUTOMATIC_CAPTURE] is False
    assert values[consts.DAILY_LIMIT] == "50.00"


def test_plugin_save_invalid_wallet_shows_message_and_keeps_row(admin_client):
    """The plugin's validation message appears on the field and nothing is stored."""
    row = _row()
    before = (row.active, _values(row))

    response = admin_client.post(
        _change_url(row), _post_data(wallet_id="wallet-1", monthly_limit="999.00")
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors[consts.WALLET_ID] == [
        "The wallet ID must be OK followed by 9 digits, e.g. OK123456789."
    ]
    assert "The wallet ID must be OK followed by 9 digits" in response.content.decode()
    row.refresh_from_db()
    assert (row.active, _values(row)) == before


def test_plugin_activate_without_wallet_shows_required_message(admin_client):
    """Activating without a wallet ID is refused with the plugin's message."""
    row = _row(active=False, wallet_id="")

    response = admin_client.post(
        _change_url(row), _post_data(active=True, wallet_id="")
    )

    form = response.context["adminform"].form
    assert form.errors[consts.WALLET_ID] == [
        "The OKPAY wallet ID is required to activate the plugin."
    ]
    row.refresh_from_db()
    assert row.active is False


def test_plugin_save_several_errors_each_on_its_field(admin_client):
    """Every field the plugin names gets its own message."""
    row = _row()

    response = admin_client.post(
        _change_url(row), _post_data(fee_payer="nobody", read_timeout="0")
    )

    errors = response.context["adminform"].form.errors
    assert errors[consts.FEE_PAYER] == ["The fee payer must be merchant or client."]
    assert errors[consts.READ_TIMEOUT] == [
        "The timeout must be a positive number of seconds."
    ]


def test_plugin_save_posted_output_value_ignored(admin_client):
    """A posted IPN URL is not stored: OUTPUT fields are read-only."""
    row = _row()

    admin_client.post(
        _change_url(row), _post_data(ipn_url="https://attacker.example/ipn/")
    )

    assert _values(row).get(consts.IPN_URL) != "https://attacker.example/ipn/"
    html = admin_client.get(_change_url(row)).content.decode()
    assert "attacker.example" not in html
    assert IPN_URL in html


def test_plugin_save_clear_checkbox_empties_secret(admin_client):
    """The clear checkbox removes the stored password of an inactive plugin."""
    row = _row(active=False)
    data = _post_data(active=False)
    data[consts.API_PASSWORD + CLEAR_SUFFIX] = "on"

    response = admin_client.post(_change_url(row), data)

    assert response.status_code == 302
    assert _values(row)[consts.API_PASSWORD] == ""


def test_plugin_add_page_prefilled_with_default_configuration(admin_client):
    """The configure link opens a form with DEFAULT_CONFIGURATION and DEFAULT_ACTIVE."""
    response = admin_client.get(
        reverse(ADD), {"identifier": consts.PLUGIN_ID, "channel": CHANNEL}
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form[consts.MONTHLY_LIMIT].value() == "1000.00"
    assert form[consts.ENVIRONMENT].value() == "live"
    assert form["active"].value() is False
    assert PluginConfiguration.objects.count() == 0


def test_plugin_add_save_creates_row_through_manager(admin_client):
    """Saving the add form creates the channel's row with the posted values."""
    url = (
        reverse(ADD)
        + "?"
        + urlencode({"identifier": consts.PLUGIN_ID, "channel": CHANNEL})
    )
    data = _post_data(active=False, wallet_id="", api_password="")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    row = PluginConfiguration.objects.get()
    assert (row.identifier, row.channel, row.name, row.active) == (
        consts.PLUGIN_ID,
        CHANNEL,
        consts.PLUGIN_NAME,
        False,
    )
    values = _values(row)
    assert values[consts.MONTHLY_LIMIT] == "500.00"
    assert values[consts.PUBLIC_URL] == SHOP
    assert values[consts.API_PASSWORD] == ""


def test_plugin_add_invalid_configuration_creates_nothing(admin_client):
    """An add rejected by the plugin shows the message and leaves no row."""
    url = (
        reverse(ADD)
        + "?"
        + urlencode({"identifier": consts.PLUGIN_ID, "channel": CHANNEL})
    )

    response = admin_client.post(url, _post_data(active=True, wallet_id=""))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[consts.API_PASSWORD] == [
        "The API password is required to activate the plugin."
    ]
    assert PluginConfiguration.objects.count() == 0


def test_plugin_add_existing_row_redirects_to_change_page(admin_client):
    """Configuring a channel that already has a row opens that row."""
    row = _row()

    response = admin_client.get(
        reverse(ADD), {"identifier": consts.PLUGIN_ID, "channel": CHANNEL}
    )

    assert response.status_code == 302
    assert response["Location"] == _change_url(row)


def test_plugin_add_unknown_channel_redirects_to_list(admin_client):
    """A channel outside OKPAY_HOST_CHANNELS cannot be configured."""
    response = admin_client.get(
        reverse(ADD), {"identifier": consts.PLUGIN_ID, "channel": "elsewhere"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST)
    assert PluginConfiguration.objects.count() == 0


def test_plugin_global_plugin_configured_without_channel(admin_client, settings):
    """A global plugin gets one "(global)" link and a row with no channel."""
    settings.PLUGINS = [PLUGIN_PATH, "tests.host.sample_plugins.GlobalPlugin"]
    listing = admin_client.get(reverse(CHANGELIST)).content.decode()
    url = reverse(ADD) + "?" + urlencode({"identifier": "test.global"})

    page = admin_client.get(url)
    response = admin_client.post(url, {"active": "on", "password": "", "_save": "1"})

    assert "Configure Global plugin (global)" in listing
    assert page.context["adminform"].form["active"].value() is True
    assert "hunter2" not in page.content.decode()
    assert response.status_code == 302
    row = PluginConfiguration.objects.get(identifier="test.global")
    assert (row.channel, row.active) == (None, True)
    assert _values(row) == {"password": "hunter2"}


def test_plugin_row_of_unloaded_plugin_view_only(admin_client):
    """A row no plugin in settings.PLUGINS can save is shown without values and not saved."""
    row = PluginConfiguration.objects.create(
        identifier="removed.plugin",
        name="Removed",
        channel=CHANNEL,
        active=True,
        configuration=[{"name": "token", "value": SECRET}],
    )

    page = admin_client.get(_change_url(row))
    post = admin_client.post(_change_url(row), {"active": ""})

    assert page.status_code == 200
    assert SECRET not in page.content.decode()
    assert "Removed" in page.content.decode()
    assert post.status_code == 403
    row.refresh_from_db()
    assert row.active is True


def test_customer_metadata_admin_read_only(admin_client, django_user_model):
    """Customer metadata is listed and shown, but cannot be added, changed or deleted."""
    user = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    entry = CustomerMetadata.objects.create(
        user=user,
        private_metadata={"OKPAY_GATEWAY.PAYMENTS.OKPAY.customer_id": "cust-17"},
    )
    change_url = reverse(
        "admin:okpay_gateway_host_customermetadata_change", args=[entry.pk]
    )

    listing = admin_client.get(
        reverse("admin:okpay_gateway_host_customermetadata_changelist")
    )
    page = admin_client.get(change_url)
    post = admin_client.post(change_url, {"private_metadata": "{}"})
    add = admin_client.get(reverse("admin:okpay_gateway_host_customermetadata_add"))

    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    assert page.status_code == 200
    assert "cust-17" in page.content.decode()
    assert post.status_code == 403
    assert add.status_code == 403
    entry.refresh_from_db()
    assert entry.private_metadata == {
        "OKPAY_GATEWAY.PAYMENTS.OKPAY.customer_id": "cust-17"
    }
