"""Django system checks for the gateway's configuration (tag ``okpay_gateway``).

Registered in :meth:`okpay_gateway.apps.OkPayGatewayConfig.ready`.

=================  =========================================================
id                 problem
=================  =========================================================
okpay_gateway.E001 ``OKPAY_GATEWAY`` is not a dict
okpay_gateway.E002 ``WALLET_ID`` / ``API_PASSWORD`` missing (standalone use)
okpay_gateway.E003 ``ENVIRONMENT`` is not live, sandbox or emulator
okpay_gateway.E004 a timeout is empty, not a number or not positive
okpay_gateway.E005 ``ACCEPT_TEST_IPN`` with the live environment
okpay_gateway.E006 ``ENVIRONMENT`` "emulator" while ``DEBUG`` is off
okpay_gateway.E007 ``okpay_gateway.emulator`` installed while ``DEBUG`` is off
okpay_gateway.E008 the vendored WSDL file is missing
okpay_gateway.E009 ``SESSION_FACTORY`` cannot be imported
okpay_gateway.E010 the settings are refused for another reason
okpay_gateway.E011 a gateway option (``GatewayOptions``) has a wrong type or value,
                   e.g. ``IPN_MAX_BODY_BYTES`` / ``IPN_RETENTION_DAYS`` out of range
okpay_gateway.E012 ``DUNNING`` is not a valid dunning ladder
okpay_gateway.W001 a live URL (verify, API, checkout) is not https
okpay_gateway.W002 ``STANDALONE`` is False (or ``OKPAY_GATEWAY`` is absent) but
                   no ``SETTINGS_PROVIDER`` is set
okpay_gateway.W003 ``EMAIL_BACKEND`` is empty or cannot be imported (billing
                   e-mails cannot be sent; Saleor without ``EMAIL_URL``)
=================  =========================================================

Standalone settings: a shop that configures OKPAY only through plugins
(per-channel configuration in the Saleor plugin) sets
``OKPAY_GATEWAY = {"STANDALONE": False, ...}`` or leaves ``OKPAY_GATEWAY``
out; then the wallet and password are not required here, but W002 asks for
``SETTINGS_PROVIDER`` (also when the setting is absent). Absent timeouts use
the documented defaults (5 s connect, 30 s read and verify).

The one escape hatch for E006 and E007 is ``OKPAY_EMULATOR["ALLOW_WITHOUT_DEBUG"]``
(the emulator's own settings dict): a test suite or demo server that runs
with ``DEBUG = False`` on purpose sets it. Production never should.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core import checks as django_checks
from django.core.checks import CheckMessage, Error
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

from okpay_gateway.conf import (
    MIN_IPN_BODY_BYTES,
    SETTINGS_NAME,
    GatewayOptions,
    settings_from_mapping,
)
from okpay_gateway.exceptions import ConfigurationError
from okpay_gateway.provider.settings import Environment

TAG = "okpay_gateway"
EMULATOR_APP = "okpay_gateway.emulator"
ESCAPE_HATCH = 'OKPAY_EMULATOR["ALLOW_WITHOUT_DEBUG"]'
TIMEOUT_KEYS = ("CONNECT_TIMEOUT", "READ_TIMEOUT", "VERIFY_TIMEOUT")
URL_KEYS = ("VERIFY_URL", "API_URL", "CHECKOUT_URL")
WSDL_PATH = Path(__file__).resolve().parent / "provider" / "wsdl" / "OkPayAPI.wsdl"


def _id(number: str) -> str:
    return f"{TAG}.{number}"


def _emulator_allowed_without_debug() -> bool:
    value = getattr(django_settings, "OKPAY_EMULATOR", None)
    return isinstance(value, Mapping) and bool(value.get("ALLOW_WITHOUT_DEBUG"))


def _is_standalone(values: Mapping[str, Any]) -> bool:
    return bool(values.get("STANDALONE", True))


def _timeout_errors(values: Mapping[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for key in TIMEOUT_KEYS:
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
            errors.append(
                Error(
                    f"{SETTINGS_NAME}[{key!r}] is {value!r}; it must be a positive "
                    "number of seconds.",
                    hint=f"Set {key} to e.g. 5 (connect) or 30 (read), or remove "
                    "it to use the default.",
                    id=_id("E004"),
                )
            )
    return errors


def _environment(
    values: Mapping[str, Any],
) -> tuple[Environment | None, list[CheckMessage]]:
    raw = values.get("ENVIRONMENT", Environment.LIVE)
    try:
        return Environment(raw), []
    except ValueError:
        choices = ", ".join(e.value for e in Environment)
        return None, [
            Error(
                f"{SETTINGS_NAME}['ENVIRONMENT'] is {raw!r}.",
                hint=f"Use one of: {choices}.",
                id=_id("E003"),
            )
        ]


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every check on ``OKPAY_GATEWAY`` and the emulator's presence."""
    messages: list[CheckMessage] = []
    messages += check_emulator_app()
    messages += check_wsdl_file()
    messages += check_email_backend()
    raw = getattr(django_settings, SETTINGS_NAME, None)
    if raw is None:
        # Absent means plugins only (a Saleor install that did only ``pip
        # install``): its workers still need the settings provider.
        raw = {"STANDALONE": False}
    if not isinstance(raw, Mapping):
        messages.append(
            Error(
                f"{SETTINGS_NAME} must be a dict, not {type(raw).__name__}.",
                hint=f'{SETTINGS_NAME} = {{"WALLET_ID": "OK...", "API_PASSWORD": ...}}',
                id=_id("E001"),
            )
        )
        return messages
    messages += check_gateway_mapping(raw)
    return messages


def check_gateway_mapping(values: Mapping[str, Any]) -> list[CheckMessage]:
    """The checks on one ``OKPAY_GATEWAY``-shaped mapping."""
    messages: list[CheckMessage] = []
    environment, env_errors = _environment(values)
    messages += env_errors
    messages += _timeout_errors(values)
    standalone = _is_standalone(values)
    missing = [key for key in ("WALLET_ID", "API_PASSWORD") if not values.get(key)]
    if standalone and missing:
        messages.append(
            Error(
                f"{SETTINGS_NAME} is missing {', '.join(missing)}.",
                hint="Set them (read the password from the environment), or set "
                '"STANDALONE": False when OKPAY is configured only through plugins.',
                id=_id("E002"),
            )
        )
    if not standalone and not values.get("SETTINGS_PROVIDER"):
        messages.append(
            CheckWarning(
                "OKPAY is configured through plugins but SETTINGS_PROVIDER is not "
                "set: renewal workers and okpay_renew cannot find a channel's "
                "wallet unless a plugin was built in the same process.",
                hint='"SETTINGS_PROVIDER": '
                '"okpay_gateway.contrib.saleor.channel_settings.for_channel"',
                id=_id("W002"),
            )
        )
    if environment is Environment.LIVE and values.get("ACCEPT_TEST_IPN"):
        messages.append(
            Error(
                "ACCEPT_TEST_IPN is set with the live environment: simulator "
                "messages could change state.",
                hint="Remove ACCEPT_TEST_IPN, or use the sandbox or emulator environment.",
                id=_id("E005"),
            )
        )
    if (
        environment is Environment.EMULATOR
        and not django_settings.DEBUG
        and not _emulator_allowed_without_debug()
    ):
        messages.append(
            Error(
                "ENVIRONMENT is 'emulator' while DEBUG is False: payments would "
                "go to the stand-in OKPAY.",
                hint=f"Use 'live' in production; a test or demo server may set {ESCAPE_HATCH}.",
                id=_id("E006"),
            )
        )
    if environment is Environment.LIVE:
        for key in URL_KEYS:
            url = values.get(key)
            if url and not str(url).lower().startswith("https://"):
                messages.append(
                    django_checks.Warning(
                        f"{SETTINGS_NAME}[{key!r}] is not an https URL in live mode.",
                        hint="OKPAY's endpoints are https; plain http lets anyone on "
                        "the path forge verify answers or read API calls.",
                        id=_id("W001"),
                    )
                )
    factory = values.get("SESSION_FACTORY")
    if factory:
        try:
            import_string(str(factory))
        except ImportError as exc:
            messages.append(
                Error(
                    f"SESSION_FACTORY {factory!r} cannot be imported: {exc}.",
                    hint="Give the dotted path of a zero-argument callable that "
                    "returns a requests.Session, or remove the key.",
                    id=_id("E009"),
                )
            )
    try:
        options = GatewayOptions.from_mapping(values)
    except ConfigurationError as exc:
        messages.append(
            Error(
                str(exc),
                hint="See GatewayOptions in okpay_gateway/conf.py for each key's type.",
                id=_id("E011"),
            )
        )
    else:
        if options.ipn_max_body_bytes < MIN_IPN_BODY_BYTES:
            messages.append(
                Error(
                    f"{SETTINGS_NAME}['IPN_MAX_BODY_BYTES'] must be at least "
                    f"{MIN_IPN_BODY_BYTES}, not {options.ipn_max_body_bytes}.",
                    hint="It is the IPN body cap in bytes (default 65536); a real "
                    "IPN takes a few KB.",
                    id=_id("E011"),
                )
            )
    specific = {_id(n) for n in ("E002", "E003", "E004", "E005")}
    already_reported = any(m.id in specific for m in messages)
    if standalone and not already_reported:
        try:
            settings_from_mapping(values)
        except ConfigurationError as exc:
            messages.append(
                Error(
                    f"{SETTINGS_NAME} is refused: {exc}",
                    hint="Fix the value named in the message.",
                    id=_id("E010"),
                )
            )
    return messages


def check_emulator_app() -> list[CheckMessage]:
    """E007: the stand-in OKPAY must not be installed in production."""
    if (
        EMULATOR_APP in django_settings.INSTALLED_APPS
        and not django_settings.DEBUG
        and not _emulator_allowed_without_debug()
    ):
        return [
            Error(
                f"{EMULATOR_APP} is in INSTALLED_APPS while DEBUG is False.",
                hint=f"Remove it from production settings; a test or demo server "
                f"may set {ESCAPE_HATCH}.",
                id=_id("E007"),
            )
        ]
    return []


def check_wsdl_file(path: Path | None = None) -> list[CheckMessage]:
    """E008: the client parses the vendored WSDL; without it no call can be made."""
    path = path or WSDL_PATH
    if path.is_file():
        return []
    return [
        Error(
            f"The vendored OKPAY WSDL is missing: {path}.",
            hint="Reinstall okpay-gateway; the wheel must include "
            "okpay_gateway/provider/wsdl/*.wsdl and *.xsd (setup.cfg package_data).",
            id=_id("E008"),
        )
    ]


def email_backend_problem() -> str | None:
    """Why Django cannot send mail with the configured ``EMAIL_BACKEND``, or None."""
    backend = getattr(django_settings, "EMAIL_BACKEND", "")
    if not backend:
        return "EMAIL_BACKEND is empty"
    try:
        import_string(str(backend))
    except ImportError:
        return f"EMAIL_BACKEND {backend!r} cannot be imported"
    return None


def check_email_backend() -> list[CheckMessage]:
    """W003: billing e-mails (renewal reminders, failed charges) need a mail backend."""
    problem = email_backend_problem()
    if problem is None:
        return []
    return [
        CheckWarning(
            f"{problem}: OKPAY billing e-mails to customers will not be sent.",
            hint="In Saleor set the EMAIL_URL environment variable (e.g. "
            "smtp://user:password@smtp.example.com:587/?tls=True, or "
            "console:// while testing); elsewhere set EMAIL_BACKEND.",
            id=_id("W003"),
        )
    ]


__all__ = [
    "TAG",
    "check_email_backend",
    "check_emulator_app",
    "check_gateway_mapping",
    "check_settings",
    "check_wsdl_file",
    "email_backend_problem",
]
