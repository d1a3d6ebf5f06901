"""Emulator settings, read lazily from ``settings.OKPAY_EMULATOR`` (a dict).

Every key is optional. The values below are the documented assumptions of the
emulator (okpay-soap-api.md §7, okpay-ipn-links.md §8); each one can be
changed per project or per test with ``override_settings``. Reading is lazy so
that ``override_settings(OKPAY_EMULATOR=...)`` takes effect at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings

from okpay_gateway.exceptions import ConfigurationError

# .NET's decimal.MaxValue: what PreapprovedPayment.AvailableAmount reports for
# an agreement that caps no window (A12 says at least one limit is given, so
# this only shows up for contracts made by hand).
DOTNET_DECIMAL_MAX = Decimal("79228162514264337593543950335")

DEFAULTS: dict[str, Any] = {
    # G3: accept the token of the current UTC hour and this many hours around it.
    "TOKEN_HOURS_BEFORE": 1,
    "TOKEN_HOURS_AFTER": 1,
    # G4: compare the hex digest case-insensitively unless this is True.
    "TOKEN_CASE_SENSITIVE": False,
    # PreapprovedPayment_Charge has no Invoice parameter: the client sends the
    # invoice as the first word of the comment, and OKPAY files no invoice on
    # the charge (Transaction_Get by Invoice does not find it, a repeated
    # request is charged again). True is an opt-in, looser-than-OKPAY mode
    # that files the first word as the Invoice and refuses a repeat with
    # Duplicate_Payment; it can hide a re-sent charge, so exactly-once tests
    # must not use it.
    "CHARGE_COMMENT_IS_INVOICE": False,
    # G10: largest Transaction_History page.
    "HISTORY_MAX_PAGE_SIZE": 50,
    # AvailableAmount of an Active contract without any limit.
    "UNLIMITED_AVAILABLE_AMOUNT": DOTNET_DECIMAL_MAX,
    # First identifiers handed out (they only need to look like OKPAY's).
    "CONTRACT_ID_START": 100001,
    "TRANSACTION_ID_START": 5000001,
    "IPN_ID_START": 9000001,
    "ACCOUNT_ID_START": 100000001,
    "WALLET_NUMBER_START": 426375901,
    # Whether the per-wallet IP allow-list is enforced on SOAP calls.
    "ENFORCE_IP_ALLOW_LIST": True,
    # Currencies wallets may hold (okpay-ipn-links.md A16 applies one fee rule to all).
    "CURRENCIES": ("USD", "EUR", "GBP"),
    # Never let an injected delay block longer than this (seconds) on a real server.
    "MAX_INJECTED_DELAY": Decimal("120"),
}


@dataclass(frozen=True, slots=True)
class EmulatorSettings:
    """The emulator-core view of ``OKPAY_EMULATOR`` with defaults applied."""

    token_hours_before: int
    token_hours_after: int
    token_case_sensitive: bool
    charge_comment_is_invoice: bool
    history_max_page_size: int
    unlimited_available_amount: Decimal
    contract_id_start: int
    transaction_id_start: int
    ipn_id_start: int
    account_id_start: int
    wallet_number_start: int
    enforce_ip_allow_list: bool
    currencies: tuple[str, ...]
    max_injected_delay: Decimal
    raw: Mapping[str, Any] = field(repr=False)


def _configured() -> Mapping[str, Any]:
    value = getattr(django_settings, "OKPAY_EMULATOR", None) or {}
    if not isinstance(value, Mapping):
        raise ConfigurationError("settings.OKPAY_EMULATOR must be a dict")
    return value


def setting(name: str, default: Any = None) -> Any:
    """One key of ``OKPAY_EMULATOR``, falling back to :data:`DEFAULTS`, then ``default``.

    The web half of the emulator reads its own keys (IPN retry delays, ...)
    through this function too.
    """
    configured = _configured()
    if name in configured:
        return configured[name]
    return DEFAULTS.get(name, default)


def get_settings() -> EmulatorSettings:
    """The current settings; cheap enough to call on every request."""
    values = {**DEFAULTS, **_configured()}
    try:
        return EmulatorSettings(
            token_hours_before=int(values["TOKEN_HOURS_BEFORE"]),
            token_hours_after=int(values["TOKEN_HOURS_AFTER"]),
            token_case_sensitive=bool(values["TOKEN_CASE_SENSITIVE"]),
            charge_comment_is_invoice=bool(values["CHARGE_COMMENT_IS_INVOICE"]),
            history_max_page_size=int(values["HISTORY_MAX_PAGE_SIZE"]),
            unlimited_available_amount=Decimal(
                str(values["UNLIMITED_AVAILABLE_AMOUNT"])
            ),
            contract_id_start=int(values["CONTRACT_ID_START"]),
            transaction_id_start=int(values["TRANSACTION_ID_START"]),
            ipn_id_start=int(values["IPN_ID_START"]),
            account_id_start=int(values["ACCOUNT_ID_START"]),
            wallet_number_start=int(values["WALLET_NUMBER_START"]),
            enforce_ip_allow_list=bool(values["ENFORCE_IP_ALLOW_LIST"]),
            currencies=tuple(str(c).upper() for c in values["CURRENCIES"]),
            max_injected_delay=Decimal(str(values["MAX_INJECTED_DELAY"])),
            raw=dict(values),
        )
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ConfigurationError(f"invalid OKPAY_EMULATOR setting: {exc}") from exc
