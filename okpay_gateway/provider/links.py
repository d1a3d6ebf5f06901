"""Checkout links: the ``ok_*`` variables that send a shopper to OKPAY.

The same fields work as a GET query (:attr:`CheckoutLink.url`) or as hidden
fields of an auto-submitted POST form (:meth:`CheckoutLink.as_dict`); OKPAY
accepted both (okpay-ipn-links.md 1.1).

Field order is fixed so links are reproducible and testable:

1. ``ok_receiver``, ``ok_kind``
2. pre-approved only: ``ok_p_title``
3. ``ok_currency``
4. pre-approved only: ``ok_p_daily_amount``, ``ok_p_weekly_amount``,
   ``ok_p_monthly_amount``, ``ok_p_end_date`` (those given)
5. payment only: per item N = 1, 2, ...: ``ok_item_N_name``, ``_article``,
   ``_type``, ``_quantity``, ``_price``, ``_handling``, ``_shipping``,
   ``_shipping2``, ``_tax``, ``_custom_1_title``, ``_custom_1_value``,
   ``_custom_2_title``, ``_custom_2_value`` (those given)
6. ``ok_invoice``, ``ok_fees``, ``ok_language``
7. ``ok_ipn``, ``ok_return_success``, ``ok_return_fail``
8. ``ok_payer_*`` in the order of :data:`PAYER_FIELDS`

Optional values that are None or empty are left out. ``ok_kind`` and
``ok_fees`` are always sent, although OKPAY defaulted them (A1, A4), so the
link does not depend on wallet settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlencode, urlsplit, urlunsplit

from okpay_gateway.exceptions import LinkError
from okpay_gateway.provider.currencies import (
    MONEY_MAX_LENGTH,
    SUPPORTED_CURRENCIES,
    format_money,
    has_cents_only,
    normalize_currency,
)
from okpay_gateway.provider.fees import OkFees

# Assumption A3: 127 characters where OKPAY documents no limit.
TEXT_MAX_LENGTH = 127
ARTICLE_MAX_LENGTH = 40
ITEM_TYPE_MAX_LENGTH = 64
QUANTITY_MAX = 99_999_999  # 8 characters ([S8])

PAYER_FIELDS: tuple[str, ...] = (
    "ok_payer_first_name",
    "ok_payer_last_name",
    "ok_payer_business_name",
    "ok_payer_email",
    "ok_payer_phone",
    "ok_payer_country",
    "ok_payer_country_code",
    "ok_payer_city",
    "ok_payer_state",
    "ok_payer_street",
    "ok_payer_zip",
)

_WALLET_RE = re.compile(r"OK[0-9]{9}")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_LANGUAGE_RE = re.compile(r"[A-Za-z]{2}")
_COUNTRY_CODE_RE = re.compile(r"[A-Za-z]{2}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class LinkKind(StrEnum):
    """Value of ``ok_kind``."""

    PAYMENT = "payment"
    SUBSCRIPTION = "subscription"
    PREAPPROVED = "preapproved"


@dataclass(frozen=True, slots=True)
class LinkItem:
    """One ``ok_item_N_*`` group of a payment link.

    Money is Decimal with at most two decimals; ``type`` is free text such as
    ``digital``, ``service``, ``shipment`` or ``donation``.
    """

    name: str
    price: Decimal
    quantity: int = 1
    article: str | None = None
    type: str | None = None
    handling: Decimal | None = None
    shipping: Decimal | None = None
    shipping2: Decimal | None = None
    tax: Decimal | None = None
    custom_1_title: str | None = None
    custom_1_value: str | None = None
    custom_2_title: str | None = None
    custom_2_value: str | None = None

    @property
    def gross(self) -> Decimal:
        """Item total as OKPAY computes it ([S8]).

        ``price * quantity + tax + handling + shipping + shipping2 * (quantity - 1)``
        """
        zero = Decimal("0")
        shipping_total = (self.shipping or zero) + (self.shipping2 or zero) * (
            self.quantity - 1
        )
        return (
            self.price * self.quantity
            + (self.tax or zero)
            + (self.handling or zero)
            + shipping_total
        )


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    """A checkout hand-off: where to send the browser and which fields to send."""

    action: str
    fields: tuple[tuple[str, str], ...]

    @property
    def url(self) -> str:
        """GET link: ``action`` with the fields urlencoded as (extra) query."""
        parts = urlsplit(self.action)
        encoded = urlencode(self.fields)
        query = f"{parts.query}&{encoded}" if parts.query else encoded
        return urlunsplit(parts._replace(query=query))

    def as_dict(self) -> dict[str, str]:
        """Fields for a POST form, in link order."""
        return dict(self.fields)


# -- validation helpers -------------------------------------------------------


def _text(
    value: object, field: str, label: str, *, max_length: int = TEXT_MAX_LENGTH
) -> str | None:
    """A validated optional free-text value, None when not given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise LinkError(f"{label} must be text.", field=field)
    if value == "":
        return None
    if _CONTROL_RE.search(value):
        raise LinkError(
            f"{label} must not contain line breaks or control characters.",
            field=field,
        )
    if len(value) > max_length:
        raise LinkError(
            f"{label} is {len(value)} characters long; "
            f"OKPAY takes at most {max_length}.",
            field=field,
        )
    return value


def _required_text(value: object, field: str, label: str, **kwargs: int) -> str:
    text = _text(value, field, label, **kwargs)
    if text is None or not text.strip():
        raise LinkError(f"{label} is required.", field=field)
    return text


def _receiver(value: object) -> str:
    field = "ok_receiver"
    if not isinstance(value, str) or not value:
        raise LinkError(
            "The receiver (OKPAY wallet ID or e-mail) is required.", field=field
        )
    if _WALLET_RE.fullmatch(value):
        return value
    if len(value) <= TEXT_MAX_LENGTH and _EMAIL_RE.fullmatch(value):
        return value
    raise LinkError(
        f"The receiver {value!r} is neither an OKPAY wallet ID (OK followed by 9 "
        "digits, e.g. OK426375940) nor an e-mail address.",
        field=field,
    )


def _currency(value: object) -> str:
    code = normalize_currency(value) if isinstance(value, str) else None
    if code is None:
        raise LinkError(
            f"OKPAY does not accept the currency {value!r}; use one of "
            f"{', '.join(SUPPORTED_CURRENCIES)}.",
            field="ok_currency",
        )
    return code


def _money(value: object, field: str, label: str) -> str:
    if isinstance(value, float):
        raise LinkError(
            f"{label} was given as a float ({value!r}); pass a Decimal so no cents "
            "are lost.",
            field=field,
        )
    if not isinstance(value, Decimal):
        raise LinkError(
            f"{label} must be a Decimal, not {type(value).__name__}.", field=field
        )
    if not value.is_finite() or value <= 0:
        raise LinkError(f"{label} must be more than zero (got {value}).", field=field)
    if not has_cents_only(value):
        raise LinkError(
            f"{label} has more than two decimal places ({value}).", field=field
        )
    text = format_money(value)
    if len(text) > MONEY_MAX_LENGTH:
        raise LinkError(
            f"{label} is too large: OKPAY takes at most {MONEY_MAX_LENGTH} characters.",
            field=field,
        )
    return text


def _optional_money(value: object, field: str, label: str) -> str | None:
    return None if value is None else _money(value, field, label)


def _url(value: object, field: str, label: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LinkError(f"{label} must be text.", field=field)
    if _CONTROL_RE.search(value) or " " in value:
        raise LinkError(
            f"{label} must not contain spaces or control characters.", field=field
        )
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise LinkError(f"{label} is not a valid URL ({exc}).", field=field) from exc
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise LinkError(
            f"{label} must be an absolute http:// or https:// URL (got {value!r}).",
            field=field,
        )
    return value


def _language(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _LANGUAGE_RE.fullmatch(value):
        raise LinkError(
            "The checkout language must be a two-letter code such as EN "
            f"(got {value!r}).",
            field="ok_language",
        )
    return value.upper()


def _fee_payer(value: object) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return OkFees(value).value
    except ValueError:
        raise LinkError(
            "Who pays the fee must be OkFees.MERCHANT or OkFees.CLIENT "
            f"(got {value!r}).",
            field="ok_fees",
        ) from None


def _payer_fields(payer: Mapping[str, str] | None) -> list[tuple[str, str]]:
    if not payer:
        return []
    if not isinstance(payer, Mapping):
        raise LinkError(
            "Payer details must be a mapping of ok_payer_* names.", field="ok_payer"
        )
    for key in payer:
        if key not in PAYER_FIELDS:
            raise LinkError(
                f"{key!r} is not a payer field OKPAY knows; use one of "
                f"{', '.join(PAYER_FIELDS)}.",
                field=str(key),
            )
    result: list[tuple[str, str]] = []
    for key in PAYER_FIELDS:
        label = "The payer's " + key.removeprefix("ok_payer_").replace("_", " ")
        value = _text(payer.get(key), key, label)
        if value is None:
            continue
        if key == "ok_payer_email" and not _EMAIL_RE.fullmatch(value):
            raise LinkError(f"{label} {value!r} is not an e-mail address.", field=key)
        if key == "ok_payer_country_code":
            if not _COUNTRY_CODE_RE.fullmatch(value):
                raise LinkError(
                    f"{label} must be a two-letter ISO 3166 code (got {value!r}).",
                    field=key,
                )
            value = value.upper()
        result.append((key, value))
    return result


def _item_fields(index: int, item: object) -> list[tuple[str, str]]:
    prefix = f"ok_item_{index}_"
    if not isinstance(item, LinkItem):
        raise LinkError(f"Item {index} must be a LinkItem.", field=prefix + "name")
    fields = [
        (
            prefix + "name",
            _required_text(item.name, prefix + "name", f"Item {index} name"),
        )
    ]
    article = _text(
        item.article,
        prefix + "article",
        f"Item {index} article",
        max_length=ARTICLE_MAX_LENGTH,
    )
    if article is not None:
        fields.append((prefix + "article", article))
    item_type = _text(
        item.type,
        prefix + "type",
        f"Item {index} type",
        max_length=ITEM_TYPE_MAX_LENGTH,
    )
    if item_type is not None:
        fields.append((prefix + "type", item_type))
    quantity = item.quantity
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 < quantity <= QUANTITY_MAX
    ):
        raise LinkError(
            f"Item {index} quantity must be a whole number from 1 to {QUANTITY_MAX} "
            f"(got {quantity!r}).",
            field=prefix + "quantity",
        )
    fields.append((prefix + "quantity", str(quantity)))
    fields.append(
        (prefix + "price", _money(item.price, prefix + "price", f"Item {index} price"))
    )
    for name in ("handling", "shipping", "shipping2", "tax"):
        text = _optional_money(
            getattr(item, name), prefix + name, f"Item {index} {name}"
        )
        if text is not None:
            fields.append((prefix + name, text))
    for name in (
        "custom_1_title",
        "custom_1_value",
        "custom_2_title",
        "custom_2_value",
    ):
        label = f"Item {index} {name.replace('_', ' ')}"
        text = _text(getattr(item, name), prefix + name, label)
        if text is not None:
            fields.append((prefix + name, text))
    return fields


def _common_tail(
    *,
    invoice: str | None,
    fee_payer: OkFees | str,
    language: str | None,
    ipn_url: str | None,
    return_success: str | None,
    return_fail: str | None,
    payer: Mapping[str, str] | None,
) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    invoice_text = _text(invoice, "ok_invoice", "The invoice")
    if invoice_text is not None:
        fields.append(("ok_invoice", invoice_text))
    fields.append(("ok_fees", _fee_payer(fee_payer)))
    language_code = _language(language)
    if language_code is not None:
        fields.append(("ok_language", language_code))
    for name, value, label in (
        ("ok_ipn", ipn_url, "The IPN URL"),
        ("ok_return_success", return_success, "The success return URL"),
        ("ok_return_fail", return_fail, "The failure return URL"),
    ):
        url = _url(value, name, label)
        if url is not None:
            fields.append((name, url))
    fields.extend(_payer_fields(payer))
    return fields


def _first_payment_fields(
    items: Sequence[LinkItem],
    limits: Sequence[tuple[str, Decimal | None, str]],
) -> list[tuple[str, str]]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise LinkError(
            "The first payment must be a sequence of items.", field="ok_item_1_name"
        )
    fields: list[tuple[str, str]] = []
    for index, item in enumerate(items, start=1):
        fields.extend(_item_fields(index, item))
    if items:
        total = sum((item.gross for item in items), Decimal("0.00"))
        for name, limit, label in limits:
            if limit is not None and total > limit:
                raise LinkError(
                    f"{label} {limit} is below the first payment {total}.", field=name
                )
    return fields


def _action(checkout_url: object) -> str:
    url = _url(checkout_url, "checkout_url", "The checkout URL")
    if url is None:
        raise LinkError("The checkout URL is required.", field="checkout_url")
    return url


# -- builders -------------------------------------------------------------------


def build_preapproved_link(
    *,
    checkout_url: str,
    receiver: str,
    title: str,
    currency: str,
    daily_amount: Decimal | None = None,
    weekly_amount: Decimal | None = None,
    monthly_amount: Decimal | None = None,
    end_date: date | None = None,
    invoice: str | None = None,
    ipn_url: str | None = None,
    return_success: str | None = None,
    return_fail: str | None = None,
    fee_payer: OkFees | str = OkFees.MERCHANT,
    language: str | None = None,
    payer: Mapping[str, str] | None = None,
    first_payment: Sequence[LinkItem] = (),
    today: date,
) -> CheckoutLink:
    """Link asking the shopper to approve a billing agreement (``ok_kind=preapproved``).

    At least one limit is required (A12); ``end_date`` is inclusive and must not
    be before ``today`` (A13). ``first_payment``: what the merchant charges
    under the agreement as soon as it is approved, sent as ``ok_item_N_*`` so
    that the approval page can show it (an assumption: OKPAY's guide names no
    variable for it; the charge itself is still ``PreapprovedPayment_Charge``);
    its total must fit every limit given. Raises :class:`LinkError` naming the
    ``ok_*`` field at fault.
    """
    action = _action(checkout_url)
    fields: list[tuple[str, str]] = [
        ("ok_receiver", _receiver(receiver)),
        ("ok_kind", LinkKind.PREAPPROVED.value),
        ("ok_p_title", _required_text(title, "ok_p_title", "The agreement title")),
        ("ok_currency", _currency(currency)),
    ]
    limits = (
        ("ok_p_daily_amount", daily_amount, "The daily limit"),
        ("ok_p_weekly_amount", weekly_amount, "The weekly limit"),
        ("ok_p_monthly_amount", monthly_amount, "The monthly limit"),
    )
    if all(value is None for _, value, _ in limits):
        raise LinkError(
            "Give at least one limit: daily, weekly or monthly amount.",
            field="ok_p_daily_amount",
        )
    for name, value, label in limits:
        text = _optional_money(value, name, label)
        if text is not None:
            fields.append((name, text))
    if end_date is not None:
        if isinstance(end_date, datetime) or not isinstance(end_date, date):
            raise LinkError(
                f"The end date must be a date (got {type(end_date).__name__}).",
                field="ok_p_end_date",
            )
        if end_date < today:
            raise LinkError(
                f"The end date {end_date.isoformat()} is in the past "
                f"(today is {today.isoformat()}).",
                field="ok_p_end_date",
            )
        fields.append(("ok_p_end_date", end_date.isoformat()))
    fields.extend(_first_payment_fields(first_payment, limits))
    fields.extend(
        _common_tail(
            invoice=invoice,
            fee_payer=fee_payer,
            language=language,
            ipn_url=ipn_url,
            return_success=return_success,
            return_fail=return_fail,
            payer=payer,
        )
    )
    return CheckoutLink(action=action, fields=tuple(fields))


def build_payment_link(
    *,
    checkout_url: str,
    receiver: str,
    currency: str,
    items: Sequence[LinkItem],
    invoice: str | None = None,
    ipn_url: str | None = None,
    return_success: str | None = None,
    return_fail: str | None = None,
    fee_payer: OkFees | str = OkFees.MERCHANT,
    language: str | None = None,
    payer: Mapping[str, str] | None = None,
) -> CheckoutLink:
    """Link for a one-off payment of ``items`` (``ok_kind=payment``).

    Raises :class:`LinkError` naming the ``ok_*`` field at fault.
    """
    action = _action(checkout_url)
    fields: list[tuple[str, str]] = [
        ("ok_receiver", _receiver(receiver)),
        ("ok_kind", LinkKind.PAYMENT.value),
        ("ok_currency", _currency(currency)),
    ]
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise LinkError(
            "A payment link needs at least one item.", field="ok_item_1_name"
        )
    for index, item in enumerate(items, start=1):
        fields.extend(_item_fields(index, item))
    fields.extend(
        _common_tail(
            invoice=invoice,
            fee_payer=fee_payer,
            language=language,
            ipn_url=ipn_url,
            return_success=return_success,
            return_fail=return_fail,
            payer=payer,
        )
    )
    return CheckoutLink(action=action, fields=tuple(fields))
