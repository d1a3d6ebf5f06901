"""Filling the emulator with wallets and agreements.

Seed format (JSON; amounts are strings, absent limits ``null``)::

    {
      "wallets": [
        {"wallet_id": "OK426375901", "email": "shop@example.com",
         "name": "Example Shop", "password": "...", "api_password": "...",
         "api_enabled": true, "balances": {"EUR": "100.00"},
         "ipn_url": "http://127.0.0.1:8000/okpay/ipn/"}
      ],
      "contracts": [
        {"id": 100001, "receiver": "OK426375901", "client": "alice@example.com",
         "title": "Hosting", "currency": "EUR", "daily_amount": null,
         "weekly_amount": null, "monthly_amount": "50.00",
         "end_date": "2027-12-31", "client_pays_fee": false,
         "status": "Active", "invoice": "agreement-1"}
      ]
    }

Only ``email`` is required for a wallet (``wallet_id`` is generated when left
out) and ``receiver``, ``client``, ``title``, ``currency`` and one limit for a
contract. Everything is checked before anything is written; a bad seed raises
:class:`SeedError` naming every bad entry.

:func:`create_default_seed` makes one merchant with API access and three
customers with the fixed, documented passwords below (this is a local test
double; predictable credentials make scripts and docs simpler).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from okpay_gateway.emulator import clock, operations
from okpay_gateway.emulator.checkout_link import parse_money
from okpay_gateway.emulator.models import Contract, ContractStatus, Sequence, Wallet
from okpay_gateway.emulator.settings import get_settings

DEFAULT_MERCHANT_EMAIL = "merchant@example.com"
DEFAULT_MERCHANT_PASSWORD = "merchant-pass"
DEFAULT_MERCHANT_API_PASSWORD = "merchant-api-pass"
DEFAULT_CUSTOMER_PASSWORD = "customer-pass"
DEFAULT_CUSTOMERS = (
    ("alice@example.com", "Alice Customer"),
    ("bob@example.com", "Bob Customer"),
    ("carol@example.com", "Carol Customer"),
)
DEFAULT_CUSTOMER_BALANCE = Decimal("1000.00")

_WALLET_RE = re.compile(r"OK([0-9]{9})")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_STATUSES = {status.value.lower(): status.value for status in ContractStatus}


class SeedError(ValueError):
    """The seed data is malformed; ``problems`` lists each bad entry."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid seed:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SeededWallet:
    """A wallet as created, with the credentials a developer needs to use it."""

    wallet_id: str
    email: str
    name: str = ""
    password: str = field(default="", repr=False)
    api_password: str = field(default="", repr=False)
    api_enabled: bool = False
    balances: tuple[tuple[str, Decimal], ...] = ()

    def as_row(self) -> dict[str, object]:
        return {
            "wallet_id": self.wallet_id,
            "email": self.email,
            "name": self.name,
            "password": self.password,
            "api_password": self.api_password,
            "api_enabled": self.api_enabled,
            "balances": ", ".join(f"{amount} {code}" for code, amount in self.balances),
        }


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What a seed created."""

    wallets: tuple[SeededWallet, ...] = ()
    contract_ids: tuple[int, ...] = ()

    def as_rows(self) -> list[dict[str, object]]:
        return [wallet.as_row() for wallet in self.wallets]

    def wallet(self, email: str) -> SeededWallet:
        for wallet in self.wallets:
            if wallet.email.lower() == email.lower():
                return wallet
        raise KeyError(email)


# --- validation ------------------------------------------------------------------


def _label(kind: str, index: int, entry: object, key: str) -> str:
    name = entry.get(key) if isinstance(entry, Mapping) else None
    return f"{kind}[{index}]" + (f" ({name})" if name else "")


def _amount(value: object) -> Decimal | None:
    # Strings only: a JSON number may already have lost cents as a float.
    return parse_money(value) if isinstance(value, str) else None


def _check_wallet(
    index: int, entry: object, problems: list[str]
) -> dict[str, Any] | None:
    label = _label("wallets", index, entry, "email")
    if not isinstance(entry, Mapping):
        problems.append(f"{label}: must be an object")
        return None
    bad = len(problems)
    known = {
        "wallet_id",
        "email",
        "name",
        "password",
        "api_password",
        "api_enabled",
        "balances",
        "ipn_url",
        "country_iso",
    }
    for key in sorted(set(entry) - known):
        problems.append(f"{label}: unknown key {key!r}")
    email = entry.get("email")
    if not isinstance(email, str) or not _EMAIL_RE.fullmatch(email):
        problems.append(f"{label}: email is required and must be an e-mail address")
    wallet_id = entry.get("wallet_id")
    if wallet_id is not None and not (
        isinstance(wallet_id, str) and _WALLET_RE.fullmatch(wallet_id)
    ):
        problems.append(f"{label}: wallet_id must be OK followed by 9 digits")
    for key in ("name", "password", "api_password", "ipn_url", "country_iso"):
        if entry.get(key) is not None and not isinstance(entry.get(key), str):
            problems.append(f"{label}: {key} must be a string")
    ipn_url = entry.get("ipn_url") or ""
    if (
        isinstance(ipn_url, str)
        and ipn_url
        and not re.match(r"https?://[^\s/]+", ipn_url)
    ):
        problems.append(f"{label}: ipn_url must be an absolute http(s) URL")
    api_enabled = entry.get("api_enabled", bool(entry.get("api_password")))
    if not isinstance(api_enabled, bool):
        problems.append(f"{label}: api_enabled must be true or false")
    elif api_enabled and not entry.get("api_password"):
        problems.append(f"{label}: api_enabled needs an api_password")
    balances: dict[str, Decimal] = {}
    raw_balances = entry.get("balances") or {}
    if not isinstance(raw_balances, Mapping):
        problems.append(f'{label}: balances must be an object like {{"EUR": "100.00"}}')
        raw_balances = {}
    currencies = get_settings().currencies
    for code, value in raw_balances.items():
        upper = str(code).upper()
        if upper not in currencies:
            problems.append(
                f"{label}: balance currency {code!r} is not one of {', '.join(currencies)}"
            )
            continue
        amount = _amount(value)
        if amount is None:
            problems.append(
                f'{label}: balances.{code} {value!r} is not an amount string like "100.00"'
            )
            continue
        balances[upper] = amount
    if len(problems) > bad:
        return None
    return {
        "wallet_id": wallet_id,
        "email": email,
        "name": entry.get("name") or "",
        "password": entry.get("password") or "",
        "api_password": entry.get("api_password") or "",
        "api_enabled": api_enabled,
        "balances": balances,
        "ipn_url": ipn_url,
        "country_iso": entry.get("country_iso") or "",
    }


def _check_contract(
    index: int,
    entry: object,
    wallet_refs: set[str],
    problems: list[str],
) -> dict[str, Any] | None:
    label = _label("contracts", index, entry, "id")
    if not isinstance(entry, Mapping):
        problems.append(f"{label}: must be an object")
        return None
    bad = len(problems)
    known = {
        "id",
        "receiver",
        "client",
        "title",
        "currency",
        "daily_amount",
        "weekly_amount",
        "monthly_amount",
        "end_date",
        "client_pays_fee",
        "status",
        "invoice",
        "ipn_url",
    }
    for key in sorted(set(entry) - known):
        problems.append(f"{label}: unknown key {key!r}")
    contract_id = entry.get("id")
    if contract_id is not None and (
        isinstance(contract_id, bool)
        or not isinstance(contract_id, int)
        or contract_id <= 0
    ):
        problems.append(f"{label}: id must be a positive integer")
    for role in ("receiver", "client"):
        ref = entry.get(role)
        if not isinstance(ref, str) or not ref:
            problems.append(f"{label}: {role} (wallet ID or e-mail) is required")
        elif ref.lower() not in wallet_refs:
            problems.append(
                f"{label}: {role} {ref!r} is not a wallet of this seed or the database"
            )
    if entry.get("receiver") and entry.get("receiver") == entry.get("client"):
        problems.append(f"{label}: receiver and client must be different wallets")
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 127:
        problems.append(f"{label}: title is required (at most 127 characters)")
    currency = str(entry.get("currency") or "").upper()
    if currency not in get_settings().currencies:
        problems.append(
            f"{label}: currency must be one of {', '.join(get_settings().currencies)}"
        )
    limits: dict[str, Decimal | None] = {}
    for key in ("daily_amount", "weekly_amount", "monthly_amount"):
        value = entry.get(key)
        if value is None:
            limits[key] = None
            continue
        amount = _amount(value)
        if amount is None or amount <= 0:
            problems.append(
                f'{label}: {key} {value!r} must be an amount string like "50.00" or null'
            )
        limits[key] = amount
    if all(value is None for value in limits.values()) and not any(
        entry.get(key) is not None for key in limits
    ):
        problems.append(
            f"{label}: at least one of daily_amount, weekly_amount, monthly_amount is required"
        )
    end_date = None
    if entry.get("end_date") is not None:
        try:
            end_date = date.fromisoformat(str(entry["end_date"]))
        except ValueError:
            problems.append(
                f"{label}: end_date {entry['end_date']!r} is not a date like 2027-12-31"
            )
    client_pays_fee = entry.get("client_pays_fee", False)
    if not isinstance(client_pays_fee, bool):
        problems.append(f"{label}: client_pays_fee must be true or false")
    status = _STATUSES.get(str(entry.get("status") or "Active").lower())
    if status is None:
        problems.append(
            f"{label}: status must be one of {', '.join(_STATUSES.values())}"
        )
    invoice = entry.get("invoice") or ""
    if not isinstance(invoice, str) or len(invoice) > 127:
        problems.append(f"{label}: invoice must be a string of at most 127 characters")
    if len(problems) > bad:
        return None
    return {
        "id": contract_id,
        "receiver": entry["receiver"],
        "client": entry["client"],
        "title": title,
        "currency": currency,
        "daily_limit": limits["daily_amount"],
        "weekly_limit": limits["weekly_amount"],
        "monthly_limit": limits["monthly_amount"],
        "end_date": end_date,
        "client_pays_fee": client_pays_fee,
        "status": status,
        "invoice": invoice,
        "ipn_url": entry.get("ipn_url") or "",
    }


def validate_seed(data: object) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Checked wallet and contract entries; raises :class:`SeedError` listing all problems."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise SeedError(["the seed must be an object with 'wallets' and 'contracts'"])
    for key in sorted(set(data) - {"wallets", "contracts"}):
        problems.append(f"unknown top-level key {key!r}")
    raw_wallets = data.get("wallets", [])
    raw_contracts = data.get("contracts", [])
    raw_wallets = [] if raw_wallets is None else raw_wallets
    raw_contracts = [] if raw_contracts is None else raw_contracts
    if not isinstance(raw_wallets, list):
        problems.append("wallets must be a list")
        raw_wallets = []
    if not isinstance(raw_contracts, list):
        problems.append("contracts must be a list")
        raw_contracts = []
    wallets = []
    seen: set[str] = set()
    for index, entry in enumerate(raw_wallets):
        checked = _check_wallet(index, entry, problems)
        if checked is None:
            continue
        for ref in (checked["email"].lower(), (checked["wallet_id"] or "").lower()):
            if not ref:
                continue
            if ref in seen or _exists(ref):
                problems.append(
                    f"wallets[{index}] ({checked['email']}): {ref} is already used"
                )
            seen.add(ref)
        wallets.append(checked)
    refs = seen | {
        ref.lower()
        for pair in Wallet.objects.values_list("wallet_id", "email")
        for ref in pair
    }
    contracts = []
    contract_ids: set[int] = set()
    for index, entry in enumerate(raw_contracts):
        checked = _check_contract(index, entry, refs, problems)
        if checked is None:
            continue
        if checked["id"] is not None:
            if (
                checked["id"] in contract_ids
                or Contract.objects.filter(pk=checked["id"]).exists()
            ):
                problems.append(
                    f"contracts[{index}] ({checked['id']}): id is already used"
                )
            contract_ids.add(checked["id"])
        contracts.append(checked)
    if problems:
        raise SeedError(problems)
    return wallets, contracts


def _exists(ref: str) -> bool:
    if "@" in ref:
        return Wallet.objects.filter(email__iexact=ref).exists()
    return Wallet.objects.filter(wallet_id__iexact=ref).exists()


# --- loading ----------------------------------------------------------------------


def _bump_sequence(name: str, start: int, used: int) -> None:
    """Make sure ``name`` never hands out ``used`` (or anything below it) again."""
    row = Sequence.objects.select_for_update().filter(name=name).first()
    if row is None:
        Sequence.objects.create(name=name, last_value=max(used, start - 1))
    elif row.last_value < used:
        row.last_value = used
        row.save(update_fields=["last_value"])


def load_seed(data: Mapping[str, Any]) -> SeedSummary:
    """Create the wallets and contracts of ``data`` in one transaction."""
    wallets, contracts = validate_seed(data)
    current = get_settings()
    created: list[SeededWallet] = []
    contract_ids: list[int] = []
    with transaction.atomic():
        given_numbers = [
            int(_WALLET_RE.fullmatch(w["wallet_id"]).group(1))
            for w in wallets
            if w["wallet_id"]
        ]
        if given_numbers:
            _bump_sequence("wallet", current.wallet_number_start, max(given_numbers))
        for entry in wallets:
            wallet = operations.create_wallet(
                email=entry["email"],
                name=entry["name"],
                password=entry["password"] or None,
                api_password=entry["api_password"],
                api_enabled=entry["api_enabled"],
                balances=entry["balances"],
                wallet_id=entry["wallet_id"],
                ipn_url=entry["ipn_url"],
                country_iso=entry["country_iso"],
            )
            created.append(
                SeededWallet(
                    wallet_id=wallet.wallet_id,
                    email=wallet.email,
                    name=wallet.name,
                    password=entry["password"],
                    api_password=entry["api_password"],
                    api_enabled=entry["api_enabled"],
                    balances=tuple(sorted(entry["balances"].items())),
                )
            )
        given_ids = [c["id"] for c in contracts if c["id"] is not None]
        if given_ids:
            _bump_sequence("contract", current.contract_id_start, max(given_ids))
        now = clock.now()
        for entry in contracts:
            status = entry["status"]
            contract = Contract.objects.create(
                id=entry["id"] or operations.next_contract_id(),
                receiver=operations.find_wallet(entry["receiver"]),
                client=operations.find_wallet(entry["client"]),
                title=entry["title"],
                currency=entry["currency"],
                daily_limit=entry["daily_limit"],
                weekly_limit=entry["weekly_limit"],
                monthly_limit=entry["monthly_limit"],
                end_date=entry["end_date"],
                client_pays_fee=entry["client_pays_fee"],
                status=status,
                invoice=entry["invoice"],
                ipn_url=entry["ipn_url"],
                created_at=now,
                closed_at=None if status == ContractStatus.ACTIVE else now,
            )
            contract_ids.append(contract.id)
    return SeedSummary(wallets=tuple(created), contract_ids=tuple(contract_ids))


def default_seed_data() -> dict[str, Any]:
    """The data :func:`create_default_seed` loads (documented credentials)."""
    currencies = get_settings().currencies
    customers = [
        {
            "email": email,
            "name": name,
            "password": DEFAULT_CUSTOMER_PASSWORD,
            "balances": dict.fromkeys(currencies, f"{DEFAULT_CUSTOMER_BALANCE:f}"),
        }
        for email, name in DEFAULT_CUSTOMERS
    ]
    merchant = {
        "email": DEFAULT_MERCHANT_EMAIL,
        "name": "Example Merchant",
        "password": DEFAULT_MERCHANT_PASSWORD,
        "api_password": DEFAULT_MERCHANT_API_PASSWORD,
        "api_enabled": True,
        "balances": dict.fromkeys(currencies, "0.00"),
    }
    return {"wallets": [merchant, *customers], "contracts": []}


def create_default_seed() -> SeedSummary:
    """One merchant with API access and three customers with USD/EUR/GBP balances."""
    return load_seed(default_seed_data())


def describe_wallets() -> list[dict[str, object]]:
    """Rows for the wallets already in the database (login passwords are hashed)."""
    rows = []
    for wallet in Wallet.objects.prefetch_related("balances").order_by("wallet_id"):
        rows.append(
            SeededWallet(
                wallet_id=wallet.wallet_id,
                email=wallet.email,
                name=wallet.name,
                api_password=wallet.api_password if wallet.api_enabled else "",
                api_enabled=wallet.api_enabled,
                balances=tuple((b.currency, b.amount) for b in wallet.balances.all()),
            ).as_row()
        )
    return rows
