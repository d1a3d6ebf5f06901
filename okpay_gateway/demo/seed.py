"""The demo's starting data: wallets, shop users, plans and the plugin settings.

:func:`seed_if_empty` runs once per data directory; :func:`configure_plugin`
runs on every start because the server's URL (its port) may change.

Every credential here is a published demo secret for a local test double, on
purpose: the banner prints them so a visitor can sign in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from okpay_gateway.demo.models import Interval, Plan

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-demo"
MERCHANT_WALLET_PASSWORD = "merchant-demo"


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    """A shop account and the OKPAY wallet of the same person."""

    username: str
    email: str
    name: str
    password: str = field(repr=False)
    wallet_id: str
    balances: tuple[tuple[str, str], ...]
    story: str


# Alice can pay for years; Bob's EUR balance runs dry after a renewal or two,
# so the clock control shows declines and dunning; Carol pays in GBP.
CUSTOMERS = (
    DemoCustomer(
        username="alice",
        email="alice@okpay-demo.test",
        name="Alice Example",
        password="alice-demo",
        wallet_id="OK200000001",
        balances=(("EUR", "1000.00"), ("USD", "1000.00"), ("GBP", "1000.00")),
        story="plenty of money in every currency",
    ),
    DemoCustomer(
        username="bob",
        email="bob@okpay-demo.test",
        name="Bob Example",
        password="bob-demo",
        wallet_id="OK200000002",
        balances=(("EUR", "25.00"), ("USD", "15.00")),
        story="little money: renewals soon decline (dunning)",
    ),
    DemoCustomer(
        username="carol",
        email="carol@okpay-demo.test",
        name="Carol Example",
        password="carol-demo",
        wallet_id="OK200000003",
        balances=(("GBP", "300.00"), ("EUR", "50.00")),
        story="pays in GBP",
    ),
)

PLANS: tuple[dict[str, Any], ...] = (
    {
        "slug": "starter-eur",
        "name": "Starter",
        "description": "One project, community support.",
        "amount": "9.90",
        "currency": "EUR",
    },
    {
        "slug": "pro-eur",
        "name": "Pro",
        "description": "Ten projects, e-mail support.",
        "amount": "29.00",
        "currency": "EUR",
    },
    {
        "slug": "starter-usd",
        "name": "Starter",
        "description": "One project, community support.",
        "amount": "10.90",
        "currency": "USD",
    },
    {
        "slug": "pro-usd",
        "name": "Pro",
        "description": "Ten projects, e-mail support.",
        "amount": "32.00",
        "currency": "USD",
    },
    {
        "slug": "starter-gbp",
        "name": "Starter",
        "description": "One project, community support.",
        "amount": "8.50",
        "currency": "GBP",
    },
    {
        "slug": "weekly-eur",
        "name": "Weekly pass",
        "description": "Billed every week: renewals show up quickly.",
        "amount": "2.50",
        "currency": "EUR",
        "interval": Interval.WEEK,
    },
)

# The agreement the plugin asks for; the customer may lower it on OKPAY's page.
AGREEMENT_TITLE = "OKPAY demo shop subscriptions"
MONTHLY_LIMIT = "100.00"
VALIDITY_DAYS = "365"


def _wallet_seed(base_url: str) -> dict[str, Any]:
    wallets: list[dict[str, Any]] = [
        {
            "wallet_id": settings.MERCHANT_WALLET_ID,
            "email": settings.MERCHANT_EMAIL,
            "name": "OKPAY demo shop",
            "password": MERCHANT_WALLET_PASSWORD,
            "api_password": settings.MERCHANT_API_PASSWORD,
            "api_enabled": True,
            "balances": {"EUR": "0.00", "USD": "0.00", "GBP": "0.00"},
            "ipn_url": ipn_url(base_url),
        }
    ]
    for customer in CUSTOMERS:
        wallets.append(
            {
                "wallet_id": customer.wallet_id,
                "email": customer.email,
                "name": customer.name,
                "password": customer.password,
                "api_enabled": False,
                "balances": dict(customer.balances),
            }
        )
    return {"wallets": wallets, "contracts": []}


def ipn_url(base_url: str) -> str:
    """The plugin's IPN URL for the demo channel below ``base_url``."""
    from okpay_gateway.contrib.saleor.consts import IPN_PATH, PLUGIN_ID

    return (
        f"{base_url.rstrip('/')}/plugins/channel/{settings.CHANNEL_SLUG}/"
        f"{PLUGIN_ID}/{IPN_PATH}/"
    )


def plugin_configuration(base_url: str) -> list[dict[str, Any]]:
    """The OKPAY plugin's settings for the demo channel."""
    from okpay_gateway.contrib.saleor import consts

    values = {
        consts.WALLET_ID: settings.MERCHANT_WALLET_ID,
        consts.API_PASSWORD: settings.MERCHANT_API_PASSWORD,
        consts.RECEIVER_EMAIL: settings.MERCHANT_EMAIL,
        consts.SUPPORTED_CURRENCIES: "EUR,USD,GBP",
        consts.ENVIRONMENT: "emulator",
        consts.EMULATOR_URL: base_url.rstrip("/") + "/" + settings.EMULATOR_PREFIX,
        consts.PUBLIC_URL: base_url.rstrip("/"),
        consts.MONTHLY_LIMIT: MONTHLY_LIMIT,
        consts.VALIDITY_DAYS: VALIDITY_DAYS,
        consts.AGREEMENT_TITLE: AGREEMENT_TITLE,
        consts.FEE_PAYER: "merchant",
        consts.AUTOMATIC_CAPTURE: True,
        consts.ACCEPT_TEST_IPN: True,
    }
    return [{"name": name, "value": value} for name, value in values.items()]


def configure_plugin(base_url: str) -> None:
    """Activate the plugin for the demo channel, pointing at ``base_url``."""
    from okpay_gateway.contrib.saleor.consts import PLUGIN_ID
    from okpay_gateway.emulator.models import Wallet
    from okpay_gateway.host.manager import get_plugins_manager

    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        PLUGIN_ID,
        settings.CHANNEL_SLUG,
        {"active": True, "configuration": plugin_configuration(base_url)},
    )
    # Loading the plugin registers its provider settings for the channel
    # (renewals and IPNs look them up); the manager above loaded the old ones.
    get_plugins_manager(allow_replica=False).get_plugins(
        channel_slug=settings.CHANNEL_SLUG
    )
    Wallet.objects.filter(wallet_id=settings.MERCHANT_WALLET_ID).update(
        ipn_url=ipn_url(base_url)
    )
    _move_urls(base_url)


def _move_urls(base_url: str) -> None:
    """Point stored IPN and return URLs at this run's address (``--port 0``)."""
    from django.db.models import Value
    from django.db.models.functions import Replace

    from okpay_gateway.emulator.models import Contract, IpnMessage, IpnStatus

    marker = settings.DATA_DIR / "base_url"
    previous = marker.read_text(encoding="utf-8").strip() if marker.exists() else ""
    if previous and previous != base_url:
        old, new = Value(previous), Value(base_url)
        Contract.objects.filter(ipn_url__startswith=previous).update(
            ipn_url=Replace("ipn_url", old, new),
            return_success_url=Replace("return_success_url", old, new),
            return_fail_url=Replace("return_fail_url", old, new),
        )
        IpnMessage.objects.filter(
            url__startswith=previous,
            status__in=[IpnStatus.QUEUED, IpnStatus.RETRYING],
        ).update(url=Replace("url", old, new))
    marker.write_text(base_url, encoding="utf-8")


def _create_users() -> None:
    users = get_user_model()
    if not users.objects.filter(username=ADMIN_USERNAME).exists():
        users.objects.create_superuser(
            ADMIN_USERNAME, "admin@okpay-demo.test", ADMIN_PASSWORD
        )
    for customer in CUSTOMERS:
        if users.objects.filter(username=customer.username).exists():
            continue
        first, _, last = customer.name.partition(" ")
        users.objects.create_user(
            customer.username,
            customer.email,
            customer.password,
            first_name=first,
            last_name=last,
        )


def _create_plans() -> None:
    for position, values in enumerate(PLANS):
        Plan.objects.get_or_create(
            slug=values["slug"],
            defaults={
                "name": values["name"],
                "description": values["description"],
                "amount": Decimal(values["amount"]),
                "currency": values["currency"],
                "interval": values.get("interval", Interval.MONTH),
                "position": position,
            },
        )


def is_seeded() -> bool:
    from okpay_gateway.emulator.models import Wallet

    return Wallet.objects.filter(wallet_id=settings.MERCHANT_WALLET_ID).exists()


def seed_if_empty(base_url: str) -> bool:
    """Create wallets, users and plans in a fresh database; True when it did."""
    from okpay_gateway.emulator.seed import load_seed

    if is_seeded():
        return False
    with transaction.atomic():
        load_seed(_wallet_seed(base_url))
        _create_users()
        _create_plans()
    return True


def credentials() -> list[dict[str, str]]:
    """What the banner and the about page print: who can sign in where."""
    rows = [
        {
            "who": "Merchant admin",
            "where": "/admin/",
            "login": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "note": "contracts, IPN log, renewals",
        },
        {
            "who": "Merchant wallet",
            "where": "/okpay-emulator/merchant/",
            "login": settings.MERCHANT_EMAIL,
            "password": MERCHANT_WALLET_PASSWORD,
            "note": f"wallet {settings.MERCHANT_WALLET_ID}, "
            f"API password {settings.MERCHANT_API_PASSWORD}",
        },
    ]
    for customer in CUSTOMERS:
        rows.append(
            {
                "who": customer.name,
                "where": "shop and OKPAY wallet",
                "login": f"{customer.username} / {customer.email}",
                "password": customer.password,
                "note": f"wallet {customer.wallet_id}, {customer.story}",
            }
        )
    return rows
