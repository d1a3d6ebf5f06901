"""Currency codes OKPAY checkout accepts, and the wire format of money.

OKPAY writes money as a plain decimal with exactly two places, ``.`` as the
separator, no symbol and no thousands separator (``1.00``, ``68.71``,
``-5.00`` for refunds). Links and IPNs use the same format
(okpay-ipn-links.md 1.3 and 2.2).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# The 20 codes of OKPAY's own checkout module (okpay-ipn-links.md 1.2). A later
# third-party list has a few more; they are left out because no OKPAY source
# confirms them.
SUPPORTED_CURRENCIES: tuple[str, ...] = (
    "EUR",
    "USD",
    "GBP",
    "HKD",
    "CHF",
    "AUD",
    "PLN",
    "JPY",
    "SEK",
    "DKK",
    "CAD",
    "RUB",
    "CZK",
    "HRK",
    "HUF",
    "NOK",
    "NZD",
    "RON",
    "TRY",
    "ZAR",
)

CENT = Decimal("0.01")

# Longest money value a link or IPN field may hold ([S8]: 15 characters).
MONEY_MAX_LENGTH = 15

_MONEY_RE = re.compile(r"-?[0-9]+\.[0-9]{2}")
_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")


def normalize_currency(code: str) -> str | None:
    """``code`` upper-cased if it is one of :data:`SUPPORTED_CURRENCIES`, else None.

    Input is case-insensitive because plugins were seen sending ``usd``
    (assumption A2).
    """
    if not isinstance(code, str) or not _CURRENCY_RE.fullmatch(code):
        return None
    upper = code.upper()
    return upper if upper in SUPPORTED_CURRENCIES else None


def is_currency_code(text: str) -> bool:
    """Whether ``text`` looks like an ISO 4217 code (three letters, any case)."""
    return bool(_CURRENCY_RE.fullmatch(text))


def has_cents_only(amount: Decimal) -> bool:
    """Whether ``amount`` is finite and has no digits beyond the second decimal."""
    if not amount.is_finite():
        return False
    try:
        return amount == amount.quantize(CENT)
    except InvalidOperation:  # too many digits for the decimal context
        return False


def format_money(amount: Decimal) -> str:
    """``amount`` as OKPAY writes it: two decimals, ``.``, no exponent.

    ``amount`` must already be a whole number of cents; anything finer is a
    bug in the caller (fees are rounded before they are formatted).
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    if not has_cents_only(amount):
        raise ValueError(f"{amount!r} is not a whole number of cents")
    text = f"{amount.quantize(CENT):f}"
    return "0.00" if text == "-0.00" else text


def parse_money(text: str) -> Decimal:
    """The Decimal that OKPAY money text stands for.

    Raises ValueError unless ``text`` is exactly ``[-]digits.dd`` and at most
    :data:`MONEY_MAX_LENGTH` characters long (the sign not counted).
    """
    if not _MONEY_RE.fullmatch(text) or len(text.lstrip("-")) > MONEY_MAX_LENGTH:
        raise ValueError(f"{text!r} is not money in the form 123.45")
    return Decimal(text)
