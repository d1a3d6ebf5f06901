"""Reading the ``ok_*`` variables a shop sends to the checkout page.

Pure parsing and validation (the receiver lookup is passed in), so the
checkout views and the IPN sender share one reading of a link. Every problem
is collected, not just the first, so the error page can list them all.
Rules follow okpay-ipn-links.md section 1 with assumptions A1-A7.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from okpay_gateway.provider.currencies import (
    CENT,
    MONEY_MAX_LENGTH,
    normalize_currency,
)
from okpay_gateway.provider.fees import FeeSplit, split_payment

# The link rules are the provider's: the emulator reads what the builder writes.
from okpay_gateway.provider.links import (
    ARTICLE_MAX_LENGTH,
    ITEM_TYPE_MAX_LENGTH,
    PAYER_FIELDS,
    QUANTITY_MAX,
    TEXT_MAX_LENGTH,
)

MAX_ITEMS = 100

KIND_PAYMENT = "payment"
KIND_PREAPPROVED = "preapproved"
KIND_SUBSCRIPTION = "subscription"


_WALLET_RE = re.compile(r"OK[0-9]{9}")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_LINK_MONEY_RE = re.compile(
    r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?|[0-9]+(\.[0-9]{1,2})?"
)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ITEM_RE = re.compile(r"ok_item_([0-9]+)_")


@dataclass(frozen=True, slots=True)
class LinkProblem:
    """One thing wrong with the request: the variable and a readable reason."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class LinkItem:
    """One ``ok_item_N_*`` group, with its gross computed as OKPAY did ([S8])."""

    index: int
    name: str
    price: Decimal
    quantity: int = 1
    article: str = ""
    type: str = ""
    handling: Decimal | None = None
    shipping: Decimal | None = None
    shipping2: Decimal | None = None
    tax: Decimal | None = None

    @property
    def gross(self) -> Decimal:
        zero = Decimal("0.00")
        shipping_total = (self.shipping or zero) + (self.shipping2 or zero) * (
            self.quantity - 1
        )
        total = (
            self.price * self.quantity
            + (self.tax or zero)
            + (self.handling or zero)
            + shipping_total
        )
        return total.quantize(CENT)


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A valid checkout request, ready to show and to act on."""

    fields: tuple[tuple[str, str], ...]
    kind: str
    receiver: str
    receiver_wallet_id: str
    currency: str
    invoice: str = ""
    ipn_url: str = ""
    return_success: str = ""
    return_fail: str = ""
    fee_payer: str = "0"
    language: str = ""
    title: str = ""
    daily_amount: Decimal | None = None
    weekly_amount: Decimal | None = None
    monthly_amount: Decimal | None = None
    end_date: date | None = None
    items: tuple[LinkItem, ...] = ()
    payer_prefill: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_preapproved(self) -> bool:
        return self.kind == KIND_PREAPPROVED

    @property
    def buyer_pays_fee(self) -> bool:
        return self.fee_payer == "1"

    @property
    def gross(self) -> Decimal:
        return sum((item.gross for item in self.items), Decimal("0.00"))

    @property
    def fee_split(self) -> FeeSplit:
        return split_payment(self.gross, self.currency, self.fee_payer)

    @property
    def fee(self) -> Decimal:
        return self.fee_split.fee

    @property
    def buyer_total(self) -> Decimal:
        return self.fee_split.client_debit

    def field_dict(self) -> dict[str, str]:
        return dict(self.fields)

    def to_session(self) -> list[list[str]]:
        """JSON-safe form for the session; :func:`parse_checkout_link` reads it back."""
        return [[name, value] for name, value in self.fields]


def parse_money(text: str) -> Decimal | None:
    """A positive link amount (``1,234.50``, ``10``, ``10.5``), or None if malformed."""
    text = text.strip()
    if not _LINK_MONEY_RE.fullmatch(text):
        return None
    digits = text.replace(",", "")
    if len(digits) > MONEY_MAX_LENGTH:
        return None
    try:
        return Decimal(digits).quantize(CENT)
    except InvalidOperation:
        return None


class _Reader:
    """Collects problems while reading values out of the submitted form."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[LinkProblem] = []

    def raw(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        return str(value).strip()

    def problem(self, name: str, message: str) -> None:
        self.problems.append(LinkProblem(name, message))

    def text(self, name: str, label: str, *, max_length: int = TEXT_MAX_LENGTH) -> str:
        value = self.raw(name)
        if _CONTROL_RE.search(value):
            self.problem(
                name, f"{label} must not contain line breaks or control characters."
            )
            return ""
        if len(value) > max_length:
            self.problem(
                name,
                f"{label} is {len(value)} characters long; at most {max_length} are allowed.",
            )
            return ""
        return value

    def money(self, name: str, label: str, *, required: bool = False) -> Decimal | None:
        value = self.raw(name)
        if not value:
            if required:
                self.problem(name, f"{label} is required.")
            return None
        amount = parse_money(value)
        if amount is None:
            self.problem(
                name,
                f"{label} {value!r} is not an amount like 10.00 (digits, a dot, at most "
                "two decimals, no currency symbol).",
            )
            return None
        if amount <= 0:
            self.problem(name, f"{label} must be more than zero.")
            return None
        return amount

    def url(self, name: str, label: str) -> str:
        value = self.raw(name)
        if not value:
            return ""
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme.lower() not in {"http", "https"}
            or not parts.hostname
            or _CONTROL_RE.search(value)
            or " " in value
        ):
            self.problem(name, f"{label} must be an absolute http:// or https:// URL.")
            return ""
        return value


def _item_indexes(names: Iterable[str]) -> list[int]:
    found = set()
    for name in names:
        match = _ITEM_RE.match(name)
        if match:
            found.add(int(match.group(1)))
    return sorted(found)


def _read_items(reader: _Reader) -> tuple[LinkItem, ...]:
    indexes = _item_indexes(reader.data.keys())
    if not indexes:
        reader.problem(
            "ok_item_1_name", "A payment needs at least one item (name and price)."
        )
        return ()
    if len(indexes) > MAX_ITEMS:
        reader.problem("ok_item_N", f"At most {MAX_ITEMS} items are allowed.")
        return ()
    if indexes != list(range(1, len(indexes) + 1)):
        reader.problem("ok_item_N", "Items must be numbered 1, 2, 3, ... without gaps.")
    items = []
    for index in indexes:
        prefix = f"ok_item_{index}_"
        name = reader.text(prefix + "name", f"Item {index} name")
        if not name and not any(p.field == prefix + "name" for p in reader.problems):
            reader.problem(prefix + "name", f"Item {index} name is required.")
        article = reader.text(
            prefix + "article", f"Item {index} article", max_length=ARTICLE_MAX_LENGTH
        )
        item_type = reader.text(
            prefix + "type", f"Item {index} type", max_length=ITEM_TYPE_MAX_LENGTH
        )
        quantity_text = reader.raw(prefix + "quantity") or "1"
        quantity = int(quantity_text) if quantity_text.isdigit() else 0
        if not 0 < quantity <= QUANTITY_MAX:
            reader.problem(
                prefix + "quantity",
                f"Item {index} quantity must be a whole number from 1 to {QUANTITY_MAX}.",
            )
            quantity = 1
        price = reader.money(prefix + "price", f"Item {index} price", required=True)
        extras = {
            extra: reader.money(prefix + extra, f"Item {index} {extra}")
            for extra in ("handling", "shipping", "shipping2", "tax")
        }
        if name and price is not None:
            items.append(
                LinkItem(
                    index=index,
                    name=name,
                    price=price,
                    quantity=quantity,
                    article=article,
                    type=item_type,
                    **extras,
                )
            )
    return tuple(items)


def parse_checkout_link(
    data: Mapping[str, Any],
    *,
    today: date,
    find_receiver: Callable[[str], str | None],
    currencies: Iterable[str] | None = None,
) -> tuple[CheckoutRequest | None, list[LinkProblem]]:
    """Validate the submitted ``ok_*`` variables.

    ``find_receiver`` maps the ``ok_receiver`` value (wallet ID or e-mail) to
    the receiving wallet's ID, or None when no such wallet exists.
    ``currencies`` are the ones the emulator's wallets can hold. Returns the
    request or None, and the list of problems (empty when valid).
    """
    reader = _Reader(data)
    fields = tuple(
        (str(name), reader.raw(name)) for name in data if str(name).startswith("ok_")
    )

    receiver = reader.raw("ok_receiver")
    receiver_wallet_id = ""
    if not receiver:
        reader.problem("ok_receiver", "The receiver (wallet ID or e-mail) is required.")
    elif not (_WALLET_RE.fullmatch(receiver) or _EMAIL_RE.fullmatch(receiver)):
        reader.problem(
            "ok_receiver",
            f"{receiver!r} is neither a wallet ID (OK and 9 digits) nor an e-mail address.",
        )
    else:
        receiver_wallet_id = find_receiver(receiver) or ""
        if not receiver_wallet_id:
            reader.problem("ok_receiver", f"There is no OKPAY wallet {receiver!r}.")

    kind = (reader.raw("ok_kind") or KIND_PAYMENT).lower()  # A1
    if kind == KIND_SUBSCRIPTION:
        reader.problem(
            "ok_kind", "Subscriptions are not emulated; use payment or preapproved."
        )
    elif kind not in {KIND_PAYMENT, KIND_PREAPPROVED}:
        reader.problem("ok_kind", f"Unknown kind {kind!r}; use payment or preapproved.")

    currency_text = reader.raw("ok_currency")
    currency = normalize_currency(currency_text) or ""  # A2
    allowed = tuple(c.upper() for c in currencies) if currencies is not None else None
    if not currency_text:
        reader.problem("ok_currency", "The currency is required.")
    elif not currency:
        reader.problem(
            "ok_currency", f"{currency_text!r} is not a currency OKPAY accepts."
        )
    elif allowed is not None and currency not in allowed:
        reader.problem(
            "ok_currency",
            f"The emulator's wallets only hold {', '.join(allowed)}, not {currency}.",
        )
        currency = ""

    fee_payer = reader.raw("ok_fees") or "0"  # A4
    if fee_payer not in {"0", "1"}:
        reader.problem(
            "ok_fees", "Must be 0 (the merchant pays the fee) or 1 (the buyer pays)."
        )
        fee_payer = "0"

    invoice = reader.text("ok_invoice", "The invoice")
    language = reader.raw("ok_language")
    if language and not re.fullmatch(r"[A-Za-z]{2}", language):
        reader.problem(
            "ok_language", "The language must be a two-letter code such as EN."
        )
    ipn_url = reader.url("ok_ipn", "The IPN URL")
    return_success = reader.url("ok_return_success", "The success return URL")
    return_fail = reader.url("ok_return_fail", "The failure return URL")
    payer_prefill = tuple(
        (name, reader.text(name, name)) for name in PAYER_FIELDS if reader.raw(name)
    )

    preapproved: dict[str, Any] = {}
    items: tuple[LinkItem, ...] = ()
    if kind == KIND_PREAPPROVED:
        title = reader.text("ok_p_title", "The agreement title")
        if not title and not any(p.field == "ok_p_title" for p in reader.problems):
            reader.problem("ok_p_title", "The agreement title is required.")  # A5
        limits = {
            "daily_amount": reader.money("ok_p_daily_amount", "The daily limit"),
            "weekly_amount": reader.money("ok_p_weekly_amount", "The weekly limit"),
            "monthly_amount": reader.money("ok_p_monthly_amount", "The monthly limit"),
        }
        given = [
            name
            for name in (
                "ok_p_daily_amount",
                "ok_p_weekly_amount",
                "ok_p_monthly_amount",
            )
            if reader.raw(name)
        ]
        if not given:
            reader.problem(
                "ok_p_daily_amount",
                "At least one limit is required (ok_p_daily_amount, ok_p_weekly_amount "
                "or ok_p_monthly_amount).",
            )  # A12
        end_date = None
        end_text = reader.raw("ok_p_end_date")
        if end_text:  # A6: optional
            try:
                end_date = (
                    date.fromisoformat(end_text)
                    if _DATE_RE.fullmatch(end_text)
                    else None
                )
            except ValueError:
                end_date = None
            if end_date is None:
                reader.problem(
                    "ok_p_end_date", f"{end_text!r} is not a date like 2026-12-31."
                )
            elif end_date < today:
                reader.problem(
                    "ok_p_end_date",
                    f"The end date {end_text} is in the past (today is {today}).",
                )
                end_date = None
        preapproved = {"title": title, "end_date": end_date, **limits}
        if _item_indexes(reader.data.keys()):
            # What the merchant charges right after approval, shown on the
            # approval page (assumption, see provider.links).
            items = _read_items(reader)
    elif kind == KIND_PAYMENT:
        items = _read_items(reader)

    if reader.problems:
        return None, reader.problems
    request = CheckoutRequest(
        fields=fields,
        kind=kind,
        receiver=receiver,
        receiver_wallet_id=receiver_wallet_id,
        currency=currency,
        invoice=invoice,
        ipn_url=ipn_url,
        return_success=return_success,
        return_fail=return_fail,
        fee_payer=fee_payer,
        language=language.upper(),
        items=items,
        payer_prefill=payer_prefill,
        **preapproved,
    )
    return request, []
