"""End to end against a Saleor the user already runs, with okpay-gateway installed in it.

Named by environment variables (all required, else every live test is skipped
with the list of what is missing, also under ``CI=true``: CI has no Saleor)::

    OKPAY_SALEOR_GRAPHQL_URL     http://127.0.0.1:8000/graphql/
    OKPAY_SALEOR_PYTHON          the python of Saleor's virtualenv
    OKPAY_SALEOR_MANAGE_PY       Saleor's manage.py
    OKPAY_SALEOR_SETTINGS        DJANGO_SETTINGS_MODULE for manage.py and Celery
    OKPAY_SALEOR_STAFF_EMAIL     a staff user with all permissions
    OKPAY_SALEOR_STAFF_PASSWORD
    OKPAY_SALEOR_EMULATOR_URL    the OKPAY emulator Saleor can reach, e.g. http://127.0.0.1:8765/

Optional: ``OKPAY_SALEOR_CHANNEL`` (default ``default-channel``). The
subprocesses (``manage.py``, Celery) inherit this process's environment, so
run pytest with Saleor's own variables (``DATABASE_URL``, ``SECRET_KEY``,
``CELERY_BROKER_URL``, ...) exported, exactly as for ``manage.py``.

The suite talks to Saleor only through its public GraphQL API and HTTP routes
(as a storefront, a customer's browser and a staff user would) and to the
emulator only through its HTTP surfaces (checkout pages, control API). It
configures the plugin on the channel with a fresh merchant wallet, and moves
the emulator's clock (reset at the start and the end of the session).
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.saleor import documents

PLUGIN_ID = "okpay_gateway.payments.okpay"
METADATA_KEY = PLUGIN_ID.upper() + ".customer_id"
TIMEOUT = (5, 60)
REQUIRED = (
    "OKPAY_SALEOR_GRAPHQL_URL",
    "OKPAY_SALEOR_PYTHON",
    "OKPAY_SALEOR_MANAGE_PY",
    "OKPAY_SALEOR_SETTINGS",
    "OKPAY_SALEOR_STAFF_EMAIL",
    "OKPAY_SALEOR_STAFF_PASSWORD",
    "OKPAY_SALEOR_EMULATOR_URL",
)
# One merchant wallet for every session: renewals of subscriptions bought in
# earlier sessions charge agreements that belong to it.
MERCHANT_EMAIL = "okpay-e2e-shop@example.com"
API_PASSWORD = "e2e-shop-api-pass"
CUSTOMER_PASSWORD = "e2e-Customer-pass-1"
# Where the storefront wants the customer back (host in ALLOWED_CLIENT_HOSTS).
RETURN_URL = "http://localhost:3000/checkout/okpay-return"
ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "streetAddress1": "1600 Amphitheatre Pkwy",
    "city": "MOUNTAIN VIEW",
    "postalCode": "94043",
    "country": "US",
    "countryArea": "CA",
    "phone": "+16505550100",
}


@dataclass(frozen=True)
class SaleorTarget:
    graphql_url: str
    python: str
    manage_py: str
    settings: str
    staff_email: str
    staff_password: str
    emulator_url: str
    channel: str

    @property
    def base_url(self) -> str:
        parts = urlsplit(self.graphql_url)
        return f"{parts.scheme}://{parts.netloc}"

    def plugin_url(self, path: str) -> str:
        return f"{self.base_url}/plugins/channel/{self.channel}/{PLUGIN_ID}/{path}"

    def subprocess_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = self.settings
        return env


def saleor_target() -> SaleorTarget:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        pytest.skip(
            "no Saleor to test against: set " + ", ".join(missing) + " (see README, "
            "'Installing into Saleor'); skipped under CI=true too, CI has no Saleor"
        )
    emulator = os.environ["OKPAY_SALEOR_EMULATOR_URL"]
    return SaleorTarget(
        graphql_url=os.environ["OKPAY_SALEOR_GRAPHQL_URL"],
        python=os.environ["OKPAY_SALEOR_PYTHON"],
        manage_py=os.environ["OKPAY_SALEOR_MANAGE_PY"],
        settings=os.environ["OKPAY_SALEOR_SETTINGS"],
        staff_email=os.environ["OKPAY_SALEOR_STAFF_EMAIL"],
        staff_password=os.environ["OKPAY_SALEOR_STAFF_PASSWORD"],
        emulator_url=emulator if emulator.endswith("/") else emulator + "/",
        channel=os.environ.get("OKPAY_SALEOR_CHANNEL", "default-channel"),
    )


class GraphQLError(AssertionError):
    pass


class SaleorGraphQL:
    """POSTs documents to Saleor's /graphql/ as an anonymous or logged-in client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def __call__(
        self, document: str, variables: dict[str, Any] | None = None, *, token: str = ""
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.session.post(
            self.url,
            json={"query": document, "variables": variables or {}},
            headers=headers,
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text[:2000]
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(json.dumps(body["errors"])[:2000])
        return body["data"]

    def mutate(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str = "",
        allow_errors: bool = False,
    ) -> dict[str, Any]:
        """The payload of the one mutation in ``document``; its ``errors`` must be empty."""
        (payload,) = self(document, variables, token=token).values()
        if not allow_errors:
            assert payload["errors"] == [], payload["errors"]
        return payload

    def token(self, email: str, password: str) -> str:
        payload = self.mutate(
            documents.TOKEN_CREATE, {"email": email, "password": password}
        )
        return payload["token"]


class Emulator:
    """The emulator's HTTP surfaces: control API and the customer's checkout pages."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def api(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        url = self.base_url + "control/api/" + path
        if payload is None:
            response = self.session.get(url, timeout=TIMEOUT)
        else:
            response = self.session.post(url, json=payload, timeout=TIMEOUT)
        assert response.status_code in (200, 201), response.text[:2000]
        return response.json()

    def now(self) -> str:
        return self.api("clock")["now"]

    def move_clock(self, **delta: float) -> str:
        return self.api("clock", {"action": "advance", **delta})["now"]

    def reset_clock(self) -> None:
        self.api("clock", {"action": "reset"})

    def seed_wallet(self, email: str, **values: Any) -> str:
        answer = self.api("seed", {"wallets": [{"email": email, **values}]})
        return answer["wallets"][0]["wallet_id"]

    def ledger(self) -> dict[str, Any]:
        return self.api("ledger")

    def transactions(self, **match: Any) -> list[dict[str, Any]]:
        return [
            txn
            for txn in self.ledger()["transactions"]
            if all(txn.get(key) == value for key, value in match.items())
        ]

    def contract(self, invoice: str) -> dict[str, Any]:
        (found,) = [c for c in self.ledger()["contracts"] if c["invoice"] == invoice]
        return found

    def ipns(self, **match: Any) -> list[dict[str, Any]]:
        return [
            message
            for message in self.api("ipn")["messages"]
            if all(message.get(key) == value for key, value in match.items())
        ]

    def add_fault(self, **rule: Any) -> None:
        self.api("faults", rule)

    def clear_faults(self) -> None:
        self.api("faults/clear", {})

    def deliver_ipns(self) -> None:
        self.api("ipn/deliver", {})

    def revoke(self, contract_id: int) -> None:
        self.api(f"contracts/{contract_id}/revoke", {})

    def decide(
        self, confirmation: dict[str, Any], email: str, password: str, *, approve: bool
    ) -> tuple[str, list[tuple[str, str]]]:
        """The customer's browser on OKPAY's page: sign in, approve or decline.

        Returns where OKPAY's page posts the customer back to, and the fields.
        """
        browser = requests.Session()
        page = browser.get(confirmation["redirect_url"], timeout=TIMEOUT)
        assert page.status_code == 200, page.text[:2000]
        checkout_url = page.url if page.url.endswith("/") else page.url + "/"
        signed_in = browser.post(
            checkout_url + "sign-in",
            data={
                "email": email,
                "password": password,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            timeout=TIMEOUT,
        )
        assert f"Signed in as {email}" in signed_in.text, signed_in.text[:2000]
        decided = browser.post(
            checkout_url + ("approve" if approve else "decline"),
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            timeout=TIMEOUT,
        )
        assert decided.status_code == 200, decided.text[:2000]
        action = re.search(
            r'<form id="okpay-return" method="post" action="([^"]+)"', decided.text
        )
        assert action, decided.text[:2000]
        fields = re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', decided.text
        )
        return html.unescape(action.group(1)), [
            (html.unescape(n), html.unescape(v)) for n, v in fields
        ]


@dataclass
class Customer:
    email: str
    wallet_id: str
    token: str = ""
    user_id: str = ""


@dataclass
class Shop:
    """The Saleor under test, prepared for OKPAY: plugin configured, products chosen."""

    target: SaleorTarget
    gql: SaleorGraphQL
    emulator: Emulator
    staff_token: str
    channel_id: str
    currency: str
    merchant_wallet: str
    variant_id: str
    subscription_variant_id: str
    config: dict[str, str] = field(default_factory=dict)

    # --- staff ----------------------------------------------------------------

    def update_plugin(
        self, *, allow_errors: bool = False, active: bool = True, **values: str
    ) -> dict[str, Any]:
        payload = self.gql.mutate(
            documents.PLUGIN_UPDATE,
            {
                "id": PLUGIN_ID,
                "channelId": self.channel_id,
                "input": {
                    "active": active,
                    "configuration": [
                        {"name": name, "value": value} for name, value in values.items()
                    ],
                },
            },
            token=self.staff_token,
            allow_errors=allow_errors,
        )
        if not payload["errors"]:
            self.config.update(values)
        return payload

    def customer_private_metadata(self, email: str) -> dict[str, str]:
        user = self.gql(
            documents.CUSTOMER_BY_EMAIL, {"email": email}, token=self.staff_token
        )["user"]
        return {item["key"]: item["value"] for item in user["privateMetadata"]}

    def order(self, order_id: str) -> dict[str, Any]:
        return self.gql(documents.ORDER, {"id": order_id}, token=self.staff_token)[
            "order"
        ]

    # --- customers --------------------------------------------------------------

    def new_customer(self) -> Customer:
        """A registered Saleor customer with an OKPAY wallet of the same e-mail."""
        email = f"okpay-e2e-{secrets.token_hex(5)}@example.com"
        wallet_id = self.emulator.seed_wallet(
            email,
            password=CUSTOMER_PASSWORD,
            balances={self.currency: "5000.00"},
        )
        self.gql.mutate(
            documents.ACCOUNT_REGISTER,
            {
                "input": {
                    "email": email,
                    "password": CUSTOMER_PASSWORD,
                    "channel": self.target.channel,
                }
            },
        )
        customer = Customer(email=email, wallet_id=wallet_id)
        customer.token = self.gql.token(email, CUSTOMER_PASSWORD)
        return customer

    def payment_sources(self, customer: Customer) -> list[dict[str, Any]]:
        me = self.gql(
            documents.ME_PAYMENT_SOURCES,
            {"channel": self.target.channel},
            token=customer.token,
        )["me"]
        return me["storedPaymentSources"]

    # --- storefront -------------------------------------------------------------

    def start_checkout(
        self, customer: Customer, *, variant_id: str | None = None, quantity: int = 1
    ) -> tuple[str, Decimal]:
        """checkoutCreate, delivery method, checkoutPaymentCreate: (checkout id, total)."""
        created = self.gql.mutate(
            documents.CHECKOUT_CREATE,
            {
                "input": {
                    "channel": self.target.channel,
                    "email": customer.email,
                    "lines": [
                        {
                            "variantId": variant_id or self.variant_id,
                            "quantity": quantity,
                        }
                    ],
                    "shippingAddress": ADDRESS,
                    "billingAddress": ADDRESS,
                }
            },
            token=customer.token,
        )["checkout"]
        checkout_id = created["id"]
        if created["shippingMethods"]:
            self.gql.mutate(
                documents.CHECKOUT_DELIVERY,
                {
                    "id": checkout_id,
                    "deliveryMethodId": created["shippingMethods"][0]["id"],
                },
                token=customer.token,
            )
        total = self._checkout_total(checkout_id, customer)
        self.gql.mutate(
            documents.CHECKOUT_PAYMENT_CREATE,
            {
                "id": checkout_id,
                "input": {
                    "gateway": PLUGIN_ID,
                    "amount": str(total),
                    "returnUrl": RETURN_URL,
                },
            },
            token=customer.token,
        )
        return checkout_id, total

    def _checkout_total(self, checkout_id: str, customer: Customer) -> Decimal:
        checkout = self.gql(
            documents.CHECKOUT_TOTAL, {"id": checkout_id}, token=customer.token
        )["checkout"]
        return Decimal(str(checkout["totalPrice"]["gross"]["amount"]))

    def complete(self, checkout_id: str, customer: Customer) -> dict[str, Any]:
        return self.gql.mutate(
            documents.CHECKOUT_COMPLETE,
            {"id": checkout_id},
            token=customer.token,
            allow_errors=True,
        )

    def buy_first_time(
        self, customer: Customer, *, variant_id: str | None = None
    ) -> dict[str, Any]:
        """Checkout → OKPAY approval → IPNs → back to the shop → paid order."""
        checkout_id, _total = self.start_checkout(customer, variant_id=variant_id)
        first = self.complete(checkout_id, customer)
        assert first["confirmationNeeded"] is True, first
        confirmation = json.loads(first["confirmationData"])
        action, fields = self.emulator.decide(
            confirmation, customer.email, CUSTOMER_PASSWORD, approve=True
        )
        returned = requests.post(
            action, data=fields, allow_redirects=False, timeout=TIMEOUT
        )
        assert returned.status_code == 302, returned.text[:2000]
        assert returned.headers["Location"] == RETURN_URL
        second = self.complete(checkout_id, customer)
        assert second["errors"] == [] and second["order"], second
        return {
            "order": second["order"],
            "confirmation": confirmation,
            "checkout_id": checkout_id,
        }

    def wait_for_ipns(self, contract_invoice: str, count: int) -> list[dict[str, Any]]:
        """The emulator's IPNs about one agreement, once ``count`` were delivered."""
        deadline = time.monotonic() + 60
        while True:
            messages = [
                m
                for m in self.emulator.ipns()
                if dict(m["fields"]).get("ok_invoice") == contract_invoice
                or any(
                    name == "ok_p_invoice" and value == contract_invoice
                    for name, value in m["fields"]
                )
            ]
            delivered = [m for m in messages if m["status"] == "Sent"]
            if len(delivered) >= count or time.monotonic() > deadline:
                return messages
            time.sleep(0.5)


def run_saleor(
    target: SaleorTarget, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``python manage.py ...`` of the Saleor under test, in a new process."""
    return subprocess.run(
        [target.python, target.manage_py, *args],
        cwd=str(Path(target.manage_py).parent),
        env=target.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _first_purchasable_variants(
    gql: SaleorGraphQL, channel: str, token: str
) -> list[str]:
    products = gql(documents.PRODUCT_VARIANTS, {"channel": channel}, token=token)[
        "products"
    ]["edges"]
    found = []
    for edge in products:
        product = edge["node"]
        if not product["isAvailableForPurchase"]:
            continue
        for variant in product["variants"] or []:
            price = (variant.get("pricing") or {}).get("price")
            in_stock = (variant["quantityAvailable"] or 0) >= 20
            if price and in_stock and Decimal(str(price["gross"]["amount"])) > 0:
                found.append((product["id"], variant["id"]))
                break
    return found


@pytest.fixture(scope="session")
def shop() -> Iterator[Shop]:
    target = saleor_target()
    gql = SaleorGraphQL(target.graphql_url)
    emulator = Emulator(target.emulator_url)
    staff_token = gql.token(target.staff_email, target.staff_password)
    channel = gql(documents.CHANNEL, {"slug": target.channel}, token=staff_token)[
        "channel"
    ]
    assert channel, f"no channel {target.channel!r} in this Saleor"
    emulator.reset_clock()
    emulator.clear_faults()
    known = [w for w in emulator.ledger()["wallets"] if w["email"] == MERCHANT_EMAIL]
    merchant_wallet = (
        known[0]["wallet_id"]
        if known
        else emulator.seed_wallet(
            MERCHANT_EMAIL,
            password="e2e-shop-pass",
            api_password=API_PASSWORD,
            balances={channel["currencyCode"]: "1000.00"},
        )
    )
    gql.mutate(documents.SHOP_ALLOW_UNCONFIRMED_ACCOUNTS, token=staff_token)
    variants = _first_purchasable_variants(gql, target.channel, staff_token)
    assert len(variants) >= 2, "the channel needs two products in stock with a price"
    (_plain_product, plain_variant), (plan_product, plan_variant) = variants[:2]
    gql.mutate(
        documents.UPDATE_METADATA,
        {"id": plan_product, "input": [{"key": "okpay.interval", "value": "month"}]},
        token=staff_token,
    )
    prepared = Shop(
        target=target,
        gql=gql,
        emulator=emulator,
        staff_token=staff_token,
        channel_id=channel["id"],
        currency=channel["currencyCode"],
        merchant_wallet=merchant_wallet,
        variant_id=plain_variant,
        subscription_variant_id=plan_variant,
    )
    prepared.update_plugin(
        wallet_id=merchant_wallet,
        api_password=API_PASSWORD,
        receiver_email=MERCHANT_EMAIL,
        supported_currencies=channel["currencyCode"],
        environment="emulator",
        emulator_url=target.emulator_url,
        public_url=target.base_url + "/",
        monthly_limit="2000.00",
        automatic_capture="true",
        check_credentials="true",
    )
    yield prepared
    emulator.clear_faults()
    emulator.reset_clock()
