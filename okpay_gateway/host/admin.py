"""Django admin of the standalone host: plugin configuration and customer metadata.

The plugin page is the host's counterpart of Saleor's dashboard plugin page.
The change form is built from the plugin class's ``CONFIG_STRUCTURE`` (the
class is the one ``PluginsManager`` loads for the row's identifier and
channel) and saving goes through ``PluginsManager.save_plugin_configuration``,
so the plugin's ``validate_plugin_configuration`` decides what is stored.

Secrets (``SECRET``, ``SECRET_MULTILINE``, ``PASSWORD``) are write-only here:
their inputs never carry the stored value, a blank input keeps it, and the
page only says whether one is set. The changelist shows no configuration
value at all, and configuration is not searchable (a search would tell an
administrator which rows contain a guessed secret).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from .base_plugin import BasePlugin, ConfigurationTypeField
from .manager import PluginsManager, get_plugins_manager
from .models import CustomerMetadata, PluginConfiguration

SECRET_FIELD_TYPES = (
    ConfigurationTypeField.SECRET,
    ConfigurationTypeField.SECRET_MULTILINE,
    ConfigurationTypeField.PASSWORD,
)
# Suffix of the checkbox that empties a stored secret (a blank input keeps it).
CLEAR_SUFFIX = "__clear"
GLOBAL_SCOPE = "global"

_MANAGER_ATTR = "_okpay_host_admin_plugins_manager"


def admin_plugins_manager(request: HttpRequest) -> PluginsManager:
    """One manager per admin request, reading from the primary database."""
    manager = getattr(request, _MANAGER_ATTR, None)
    if manager is None:
        # The admin writes right after reading: a lagging replica would show
        # the configuration as it was before the last save.
        manager = get_plugins_manager(allow_replica=False)
        setattr(request, _MANAGER_ATTR, manager)
    return manager


def editable_plugin(
    manager: PluginsManager, identifier: str, channel: str | None
) -> BasePlugin | None:
    """The loaded plugin a row with ``identifier``/``channel`` configures.

    ``None`` when the admin cannot edit such a row: the plugin is not in
    ``settings.PLUGINS``, the channel is not configured, the row's scope does
    not match ``CONFIGURATION_PER_CHANNEL``, or the plugin is ``HIDDEN``
    (Saleor's API refuses to update hidden plugins too).
    """
    plugin = manager.get_plugin(identifier, channel or None)
    if plugin is None or plugin.HIDDEN:
        return None
    if bool(channel) != plugin.CONFIGURATION_PER_CHANNEL:
        return None
    return plugin


def unconfigured_plugins(manager: PluginsManager) -> list[BasePlugin]:
    """Loaded plugins (one per channel for per-channel ones) without a row yet."""
    return [
        plugin
        for plugin in manager.get_all_plugins()
        if plugin.db_config is None and not plugin.HIDDEN
    ]


def _is_true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class WriteOnlyTextarea(forms.Textarea):
    """A textarea for multi-line secrets that never renders a value.

    ``PasswordInput`` is single-line and browsers drop the newlines a key
    or certificate needs, so ``SECRET_MULTILINE`` gets this instead.
    """

    def format_value(self, value: Any) -> None:
        return None


class OutputWidget(forms.Widget):
    """Shows an ``OUTPUT`` value as selectable text, not as an input."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        shown = "" if value in (None, "") else str(value)
        return format_html(
            '<div class="readonly okpay-output" data-name="{}">{}</div>', name, shown
        )


def _configuration_fields(plugin: BasePlugin) -> dict[str, forms.Field]:
    current = {item["name"]: item.get("value") for item in plugin.configuration}
    fields: dict[str, forms.Field] = {}
    for name, structure in (plugin.CONFIG_STRUCTURE or {}).items():
        kind = structure.get("type")
        label = structure.get("label") or name
        # The admin renders help_text unescaped; plugin text is not markup.
        help_text = conditional_escape(structure.get("help_text") or "")
        value = current.get(name)
        if kind == ConfigurationTypeField.BOOLEAN:
            fields[name] = forms.BooleanField(
                label=label,
                help_text=help_text,
                required=False,
                initial=_is_true(value),
            )
        elif kind in SECRET_FIELD_TYPES:
            state = "set" if value else "not set"
            widget = (
                WriteOnlyTextarea(attrs={"autocomplete": "off"})
                if kind == ConfigurationTypeField.SECRET_MULTILINE
                # "new-password": browsers would otherwise fill in the
                # administrator's own saved login and overwrite the secret.
                else forms.PasswordInput(
                    render_value=False, attrs={"autocomplete": "new-password"}
                )
            )
            fields[name] = forms.CharField(
                label=label,
                help_text=format_html(
                    '{} Currently: <strong class="okpay-secret-state">{}</strong>. '
                    "Leave blank to keep the stored value.",
                    help_text,
                    state,
                ),
                required=False,
                strip=False,
                widget=widget,
            )
            fields[name + CLEAR_SUFFIX] = forms.BooleanField(
                label=f"Clear {label}",
                help_text="Remove the stored value.",
                required=False,
            )
        elif kind == ConfigurationTypeField.OUTPUT:
            fields[name] = forms.CharField(
                label=label,
                help_text=help_text,
                required=False,
                disabled=True,
                initial=value,
                widget=OutputWidget(),
            )
        else:
            widget = (
                forms.Textarea()
                if kind == ConfigurationTypeField.MULTILINE
                else forms.TextInput(attrs={"class": "vTextField"})
            )
            fields[name] = forms.CharField(
                label=label,
                help_text=help_text,
                required=False,
                initial="" if value is None else str(value),
                widget=widget,
            )
    return fields


class PluginConfigurationForm(forms.ModelForm):
    """Base of the per-plugin forms made by :func:`configuration_form_class`.

    Validation ends with the manager's save: Saleor validates a configuration
    inside ``save_plugin_configuration``, so running it from ``clean()`` is
    the only way its messages reach the form. A rejected configuration is
    rolled back by the manager's own atomic block; ``saved_row`` holds the
    stored row after a successful clean.
    """

    plugin: BasePlugin
    manager: PluginsManager

    class Meta:
        model = PluginConfiguration
        fields = ("active",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saved_row: PluginConfiguration | None = None
        if self.instance.pk is None:
            channel = self.plugin.channel
            self.instance.identifier = self.plugin.PLUGIN_ID
            self.instance.channel = channel.slug if channel is not None else None
            self.instance.name = self.plugin.PLUGIN_NAME
            self.instance.description = self.plugin.PLUGIN_DESCRIPTION
            self.initial["active"] = self.plugin.active

    @property
    def channel_slug(self) -> str | None:
        channel = self.plugin.channel
        return channel.slug if channel is not None else None

    def manager_data(self) -> dict[str, Any]:
        """``cleaned_data`` in the shape ``save_plugin_configuration`` takes."""
        configuration = []
        for name, structure in (self.plugin.CONFIG_STRUCTURE or {}).items():
            kind = structure.get("type")
            if kind == ConfigurationTypeField.OUTPUT:
                continue
            if kind in SECRET_FIELD_TYPES:
                if self.cleaned_data.get(name + CLEAR_SUFFIX):
                    value: Any = ""
                elif self.cleaned_data.get(name):
                    value = self.cleaned_data[name]
                else:
                    continue
            else:
                value = self.cleaned_data.get(name)
            configuration.append({"name": name, "value": value})
        return {
            "active": bool(self.cleaned_data.get("active")),
            "configuration": configuration,
        }

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if self.errors:
            return cleaned_data
        try:
            self.saved_row = self.manager.save_plugin_configuration(
                self.plugin.PLUGIN_ID, self.channel_slug, self.manager_data()
            )
        except ValidationError as error:
            self._add_plugin_errors(error)
            return cleaned_data
        if self.saved_row is None:
            raise ValidationError(
                "The plugin is not available for this channel.", code="unavailable"
            )
        return cleaned_data

    def _add_plugin_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            if name in self.fields:
                self.add_error(name, errors)
                continue
            # A key the form has no field for still reaches the page, named.
            for message in ValidationError(errors).messages:
                self.add_error(None, f"{name}: {message}")


def configuration_form_class(
    plugin: BasePlugin, manager: PluginsManager
) -> type[PluginConfigurationForm]:
    """A form with one field per ``CONFIG_STRUCTURE`` entry of ``plugin``."""
    attrs: dict[str, Any] = {
        "plugin": plugin,
        "manager": manager,
        **_configuration_fields(plugin),
    }
    name = f"{type(plugin).__name__}ConfigurationForm"
    return type(name, (PluginConfigurationForm,), attrs)


class ChannelListFilter(admin.SimpleListFilter):
    title = "channel"
    parameter_name = "channel"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        slugs = (
            PluginConfiguration.objects.exclude(channel__isnull=True)
            .order_by("channel")
            .values_list("channel", flat=True)
            .distinct()
        )
        return [(GLOBAL_SCOPE, GLOBAL_SCOPE), *((slug, slug) for slug in slugs)]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PluginConfiguration]
    ) -> QuerySet[PluginConfiguration]:
        value = self.value()
        if value is None:
            return queryset
        if value == GLOBAL_SCOPE:
            return queryset.filter(channel__isnull=True)
        return queryset.filter(channel=value)


@admin.register(PluginConfiguration)
class PluginConfigurationAdmin(admin.ModelAdmin):
    change_list_template = (
        "okpay_gateway/host/admin/pluginconfiguration_change_list.html"
    )
    list_display = ("plugin_name", "identifier", "scope", "active")
    list_display_links = ("plugin_name",)
    list_filter = (ChannelListFilter, "active")
    # Never the configuration: see the module docstring.
    search_fields = ("identifier", "name")
    ordering = ("identifier", "channel")
    readonly_fields = ("plugin_name", "scope")

    @admin.display(description="plugin", ordering="name")
    def plugin_name(self, obj: PluginConfiguration) -> str:
        return obj.name or obj.identifier

    @admin.display(description="channel", ordering="channel")
    def scope(self, obj: PluginConfiguration) -> str:
        return obj.channel or GLOBAL_SCOPE

    # -- which plugin a page is about ----------------------------------------

    def _plugin(
        self, request: HttpRequest, obj: PluginConfiguration | None
    ) -> BasePlugin | None:
        manager = admin_plugins_manager(request)
        if obj is not None:
            return editable_plugin(manager, obj.identifier, obj.channel)
        plugin = editable_plugin(
            manager,
            request.GET.get("identifier", ""),
            request.GET.get("channel") or None,
        )
        if plugin is None or plugin.db_config is not None:
            return None
        return plugin

    def has_change_permission(
        self, request: HttpRequest, obj: PluginConfiguration | None = None
    ) -> bool:
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None:
            return allowed
        # A row the loaded plugins cannot save is shown, not edited.
        return self._plugin(request, obj) is not None

    # -- the change form -------------------------------------------------------

    def get_fieldsets(
        self, request: HttpRequest, obj: PluginConfiguration | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        plugin = self._plugin(request, obj)
        if plugin is None or (
            obj is not None and not self.has_change_permission(request, obj)
        ):
            return [
                (
                    None,
                    {
                        "fields": ["name", "identifier", "scope", "active"],
                        "description": (
                            "Configuration values are shown to administrators "
                            "who can change them, for plugins in "
                            "settings.PLUGINS and channels in OKPAY_HOST_CHANNELS."
                        ),
                    },
                )
            ]
        return [
            (
                None,
                {
                    "fields": ["plugin_name", "scope", "active"],
                    "description": conditional_escape(plugin.PLUGIN_DESCRIPTION),
                },
            ),
            (
                "Configuration",
                {"fields": list(_configuration_fields(plugin))},
            ),
        ]

    def get_form(
        self,
        request: HttpRequest,
        obj: PluginConfiguration | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        plugin = self._plugin(request, obj)
        if plugin is not None:
            return configuration_form_class(plugin, admin_plugins_manager(request))
        if obj is None:
            raise PermissionDenied("Choose a plugin and channel on the plugin list.")
        # View-only page of a row no loaded plugin can save: no inputs at all.
        return forms.modelform_factory(PluginConfiguration, fields=("active",))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # Initial values come from the plugin's defaults, not the query string.
        return {}

    def save_model(
        self,
        request: HttpRequest,
        obj: PluginConfiguration,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        saved = getattr(form, "saved_row", None)
        if saved is None:
            raise PermissionDenied("The configuration was not validated.")
        # The manager stored the row during validation; the admin's copy is
        # stale (writing it would put the old configuration back).
        obj.pk = saved.pk
        obj.refresh_from_db()

    # -- the "add" path: one link per plugin and channel without a row -------

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        manager = admin_plugins_manager(request)
        identifier = request.GET.get("identifier", "")
        channel = request.GET.get("channel") or None
        plugin = editable_plugin(manager, identifier, channel)
        if plugin is None:
            self.message_user(
                request,
                "Choose a plugin and channel from the links on the plugin list.",
                messages.WARNING,
            )
            return HttpResponseRedirect(
                reverse("admin:okpay_gateway_host_pluginconfiguration_changelist")
            )
        if plugin.db_config is not None:
            return HttpResponseRedirect(
                reverse(
                    "admin:okpay_gateway_host_pluginconfiguration_change",
                    args=[plugin.db_config.pk],
                )
            )
        context = {"show_save_and_add_another": False, **(extra_context or {})}
        return super().add_view(request, form_url, context)

    def configure_links(self, request: HttpRequest) -> list[dict[str, str]]:
        """One "Configure <plugin> for <channel>" link per missing row."""
        add_url = reverse("admin:okpay_gateway_host_pluginconfiguration_add")
        links = []
        for plugin in unconfigured_plugins(admin_plugins_manager(request)):
            query = {"identifier": plugin.PLUGIN_ID}
            if plugin.channel is not None:
                query["channel"] = plugin.channel.slug
                label = f"Configure {plugin.PLUGIN_NAME} for {plugin.channel.slug}"
            else:
                label = f"Configure {plugin.PLUGIN_NAME} ({GLOBAL_SCOPE})"
            links.append({"label": label, "url": f"{add_url}?{urlencode(query)}"})
        return links

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        links = (
            self.configure_links(request) if self.has_add_permission(request) else []
        )
        context = {"okpay_configure_links": links, **(extra_context or {})}
        return super().changelist_view(request, context)


def _json_block(value: Any) -> SafeString:
    text = json.dumps(value or {}, indent=2, sort_keys=True, cls=DjangoJSONEncoder)
    return format_html("<pre>{}</pre>", text)


@admin.register(CustomerMetadata)
class CustomerMetadataAdmin(admin.ModelAdmin):
    """Read-only: the keys hold gateway customer ids that plugins maintain."""

    list_display = ("user", "updated_at")
    list_select_related = ("user",)
    fields = ("user", "private_metadata_shown", "metadata_shown", "updated_at")
    readonly_fields = fields
    ordering = ("-updated_at",)

    @admin.display(description="private metadata")
    def private_metadata_shown(self, obj: CustomerMetadata) -> SafeString:
        return _json_block(obj.private_metadata)

    @admin.display(description="metadata")
    def metadata_shown(self, obj: CustomerMetadata) -> SafeString:
        return _json_block(obj.metadata)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (f"user__{get_user_model().USERNAME_FIELD}",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: CustomerMetadata | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: CustomerMetadata | None = None
    ) -> bool:
        return False
