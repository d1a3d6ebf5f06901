"""Seed loading: the default seed, a full seed file, and each kind of bad entry."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

from okpay_gateway.emulator import seed
from okpay_gateway.emulator.models import Contract, ContractStatus, Sequence, Wallet

GOOD = {
    "wallets": [
        {
            "wallet_id": "OK500000001",
            "email": "shop@example.com",
            "name": "Seed Shop",
            "password": "shop-pw",
            "api_password": "api-secret",
            "api_enabled": True,
            "balances": {"EUR": "100.00"},
            "ipn_url": "http://127.0.0.1:8000/okpay/ipn/",
        },
        {
            "email": "dave@example.com",
            "password": "dave-pw",
            "balances": {"EUR": "250.50", "usd": "10.00"},
        },
    ],
    "contracts": [
        {
            "id": 700001,
            "receiver": "OK500000001",
            "client": "dave@example.com",
            "title": "Hosting",
            "currency": "EUR",
            "daily_amount": None,
            "weekly_amount": "20.00",
            "monthly_amount": "50.00",
            "end_date": "2027-12-31",
            "client_pays_fee": False,
            "status": "Active",
            "invoice": "agr-1",
        },
        {
            "receiver": "shop@example.com",
            "client": "dave@example.com",
            "title": "Old plan",
            "currency": "EUR",
            "monthly_amount": "5.00",
            "status": "canceled",
        },
    ],
}


def test_load_seed_creates_wallets_and_contracts(db):
    """A good seed creates every wallet, balance and agreement as written."""
    summary = seed.load_seed(GOOD)
    shop = Wallet.objects.get(wallet_id="OK500000001")
    dave = Wallet.objects.get(email="dave@example.com")
    assert shop.api_enabled is True
    assert shop.api_password == "api-secret"
    assert shop.check_password("shop-pw")
    assert shop.ipn_url == "http://127.0.0.1:8000/okpay/ipn/"
    assert shop.balance("EUR") == Decimal("100.00")
    assert dave.balance("EUR") == Decimal("250.50")
    assert dave.balance("USD") == Decimal("10.00")
    assert dave.api_enabled is False
    assert dave.wallet_id.startswith("OK") and dave.wallet_id != shop.wallet_id

    first = Contract.objects.get(pk=700001)
    assert (first.receiver, first.client) == (shop, dave)
    assert first.daily_limit is None
    assert first.weekly_limit == Decimal("20.00")
    assert first.monthly_limit == Decimal("50.00")
    assert first.end_date == date(2027, 12, 31)
    assert first.status == ContractStatus.ACTIVE
    assert first.invoice == "agr-1"
    second = Contract.objects.exclude(pk=700001).get()
    assert second.status == ContractStatus.CANCELED
    assert second.closed_at is not None
    assert summary.contract_ids == (700001, second.id)
    assert summary.wallet("shop@example.com").password == "shop-pw"
    assert "shop-pw" not in repr(summary)
    # Seeded IDs are never handed out again.
    assert Sequence.objects.get(name="contract").last_value >= 700001


def test_create_default_seed_makes_merchant_and_three_customers(db):
    """The default seed has one API merchant and three funded customers."""
    summary = seed.create_default_seed()
    assert [w.email for w in summary.wallets] == [
        "merchant@example.com",
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    merchant = Wallet.objects.get(email="merchant@example.com")
    assert merchant.api_enabled is True
    assert merchant.api_password == seed.DEFAULT_MERCHANT_API_PASSWORD
    for email in ("alice@example.com", "bob@example.com", "carol@example.com"):
        wallet = Wallet.objects.get(email=email)
        assert wallet.check_password(seed.DEFAULT_CUSTOMER_PASSWORD)
        assert {b.currency: b.amount for b in wallet.balances.all()} == {
            "USD": Decimal("1000.00"),
            "EUR": Decimal("1000.00"),
            "GBP": Decimal("1000.00"),
        }
    rows = summary.as_rows()
    assert rows[0]["api_password"] == "merchant-api-pass"
    assert rows[1]["password"] == "customer-pass"


def _bad(path: tuple, value: object) -> dict:
    data = copy.deepcopy(GOOD)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_bad(("wallets", 1, "email"), KeyError), "wallets[1]: email is required"),
        (
            _bad(("wallets", 0, "wallet_id"), "OK12"),
            "wallets[0] (shop@example.com): wallet_id must be OK",
        ),
        (
            _bad(("wallets", 1, "balances"), {"EUR": "lots"}),
            "wallets[1] (dave@example.com): balances.EUR 'lots'",
        ),
        (
            _bad(("wallets", 1, "balances"), {"EUR": 12.5}),
            "wallets[1] (dave@example.com): balances.EUR 12.5",
        ),
        (_bad(("wallets", 1, "balances"), {"JPY": "1.00"}), "balance currency 'JPY'"),
        (
            _bad(("wallets", 0, "api_password"), KeyError),
            "api_enabled needs an api_password",
        ),
        (
            _bad(("wallets", 1, "email"), "shop@example.com"),
            "shop@example.com is already used",
        ),
        (_bad(("wallets", 0, "colour"), "blue"), "unknown key 'colour'"),
        (
            _bad(("contracts", 0, "receiver"), "OK999999999"),
            "contracts[0] (700001): receiver 'OK999999999'",
        ),
        (
            _bad(("contracts", 0, "monthly_amount"), "-5.00"),
            "contracts[0] (700001): monthly_amount '-5.00'",
        ),
        (
            _bad(("contracts", 1, "monthly_amount"), None),
            "contracts[1]: at least one of",
        ),
        (_bad(("contracts", 0, "end_date"), "next year"), "end_date 'next year'"),
        (_bad(("contracts", 0, "status"), "Paused"), "status must be one of"),
        (_bad(("contracts", 0, "currency"), "RUB"), "currency must be one of"),
        (_bad(("contracts", 0, "title"), ""), "title is required"),
        (_bad(("contracts", 0, "id"), "seven"), "id must be a positive integer"),
        ({"wallets": {}}, "wallets must be a list"),
        ([], "the seed must be an object"),
    ],
)
def test_load_seed_bad_entry_raises_naming_it(db, data, problem):
    """Each bad entry is reported with its position and nothing is written."""
    with pytest.raises(seed.SeedError) as info:
        seed.load_seed(data)
    assert any(problem in text for text in info.value.problems), info.value.problems
    assert Wallet.objects.count() == 0


def test_load_seed_whole_number_amount_string_is_accepted(db):
    """An amount string without decimals ("20") is read as 20.00."""
    seed.load_seed(_bad(("contracts", 0, "weekly_amount"), "20"))
    assert Contract.objects.get(pk=700001).weekly_limit == Decimal("20.00")


def test_load_seed_refuses_wallet_already_in_database(db):
    """Loading the same seed twice reports the clashes instead of duplicating."""
    seed.load_seed(GOOD)
    with pytest.raises(seed.SeedError) as info:
        seed.load_seed(GOOD)
    assert (
        "wallets[0] (shop@example.com): shop@example.com is already used"
        in info.value.problems
    )
    assert "contracts[0] (700001): id is already used" in info.value.problems
