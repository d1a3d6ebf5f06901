"""Driving a real Saleor for the App's tests (``tests/saleor/test_app_*.py``).

The App runs on pytest-django's live server in the test process (with the
in-process emulator as OKPAY); only Saleor is outside. The Saleor instance is
named by the environment variables of ``tests/saleor`` (OKPAY_SALEOR_GRAPHQL_URL,
OKPAY_SALEOR_STAFF_EMAIL, OKPAY_SALEOR_STAFF_PASSWORD); without them the tests
skip. Saleor must be started with ``HTTP_IP_FILTER_ALLOW_LOOPBACK_IPS=True`` to
call an App on 127.0.0.1.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import requests

from okpay_gateway.contrib.saleor_app import documents

ENV = (
    "OKPAY_SALEOR_GRAPHQL_URL",
    "OKPAY_SALEOR_STAFF_EMAIL",
    "OKPAY_SALEOR_STAFF_PASSWORD",
)


def saleor_env() -> dict[str, str]:
    missing = [name for name in ENV if not os.environ.get(name)]
    if missing:
        pytest.skip("no real Saleor: set " + ", ".join(missing) + " (see tests/saleor)")
    return {name: os.environ[name] for name in ENV}


class Saleor:
    """A thin GraphQL client for the test's staff and storefront calls."""

    def __init__(self, api_url: str, token: str = "") -> None:
        self.api_url = api_url
        self.token = token

    def call(self, document: str, variables: dict[str, Any] | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = requests.post(
            self.api_url,
            json={"query": document, "variables": variables or {}},
            headers=headers,
            timeout=(5, 120),
        )
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def mutate(self, document: str, field: str, variables: dict | None = None) -> dict:
        payload = self.call(document, variables)[field]
        assert not payload.get("errors"), payload["errors"]
        return payload


CHANNELS = (
    "query Channels { channels { id slug currencyCode isActive warehouses { id } } }"
)

PRODUCT_TYPE_CREATE = """
mutation TypeCreate($name: String!) {
  productTypeCreate(input: {name: $name, kind: NORMAL, isShippingRequired: false}) {
    productType { id } errors { field message code }
  }
}
"""

CATEGORY_CREATE = """
mutation CategoryCreate($name: String!) {
  categoryCreate(input: {name: $name}) { category { id } errors { field message code } }
}
"""

PRODUCT_CREATE = """
mutation ProductCreate($input: ProductCreateInput!) {
  productCreate(input: $input) { product { id } errors { field message code } }
}
"""

PRODUCT_CHANNEL = """
mutation ProductChannel($id: ID!, $channel: ID!) {
  productChannelListingUpdate(id: $id, input: {updateChannels: [{
    channelId: $channel, isPublished: true, visibleInListings: true,
    isAvailableForPurchase: true}]}) { errors { field message code } }
}
"""

VARIANT_CREATE = """
mutation VariantCreate($input: ProductVariantCreateInput!) {
  productVariantCreate(input: $input) {
    productVariant { id } errors { field message code }
  }
}
"""

VARIANT_CHANNEL = """
mutation VariantChannel($id: ID!, $channel: ID!, $price: PositiveDecimal!) {
  productVariantChannelListingUpdate(id: $id, input: [{channelId: $channel, price: $price}]) {
    errors { field message code }
  }
}
"""

CUSTOMER_CREATE = """
mutation CustomerCreate($input: UserCreateInput!) {
  customerCreate(input: $input) { user { id email } errors { field message code } }
}
"""

CHECKOUT_CREATE = """
mutation CheckoutCreate($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) {
    checkout { id totalPrice { gross { amount currency } } }
    errors { field message code }
  }
}
"""

CHECKOUT_CUSTOMER_ATTACH = """
mutation Attach($id: ID!, $customer: ID!) {
  checkoutCustomerAttach(id: $id, customerId: $customer) { errors { field message code } }
}
"""

GATEWAY_INITIALIZE = """
mutation GatewayInit($id: ID!, $gateway: String!) {
  paymentGatewayInitialize(id: $id, paymentGateways: [{id: $gateway}]) {
    gatewayConfigs { id data errors { field message code } }
    errors { field message code }
  }
}
"""

TRANSACTION_INITIALIZE = """
mutation TxnInit($id: ID!, $gateway: String!, $data: JSON) {
  transactionInitialize(id: $id, paymentGateway: {id: $gateway, data: $data}) {
    transaction { id pspReference }
    transactionEvent { type pspReference message }
    data
    errors { field message code }
  }
}
"""

CHECKOUT_COMPLETE = """
mutation Complete($id: ID!) {
  checkoutComplete(id: $id) { order { id } errors { field message code } }
}
"""

_ORDER_FIELDS = """
  id number status chargeStatus externalReference
  user { id }
  total { gross { amount currency } }
  privateMetadata { key value }
  transactions {
    id pspReference
    chargedAmount { amount } refundedAmount { amount }
    events { type pspReference }
  }
"""

ORDER = f"query Order($id: ID!) {{ order(id: $id) {{ {_ORDER_FIELDS} }} }}"

ORDERS_BY_REFERENCE = f"""
query OrdersByReference($reference: String!) {{
  orders(first: 5, search: $reference) {{ edges {{ node {{ {_ORDER_FIELDS} }} }} }}
}}
"""

ORDER_BY_EXTERNAL_REFERENCE = f"""
query OrderByExternalReference($reference: String!) {{
  order(externalReference: $reference) {{ {_ORDER_FIELDS} }}
}}
"""

ORDER_FOR_SUBSCRIPTIONS = (
    f"query OrderForSubscriptions($id: ID!) {{ order(id: $id) {{ "
    f"{documents.ORDER_SELECTION} }} }}"
)

REFUND_REASON = """
query RefundReason {
  refundSettings { reasonReferenceType { id } }
}
"""

PAGES_OF_TYPE = """
query PagesOfType($type: ID!) {
  pages(first: 1, where: {pageType: {eq: $type}}) { edges { node { id } } }
}
"""

REFUND = """
mutation Refund($id: ID!, $amount: PositiveDecimal!, $reason: ID) {
  transactionRequestAction(
    id: $id, actionType: REFUND, amount: $amount,
    refundReason: "okpay-gateway test", refundReasonReference: $reason
  ) {
    transaction { id refundedAmount { amount } events { type pspReference } }
    errors { field message code }
  }
}
"""

CHARGE = """
mutation Charge($id: ID!, $amount: PositiveDecimal!) {
  transactionRequestAction(id: $id, actionType: CHARGE, amount: $amount) {
    transaction { id chargedAmount { amount } events { type pspReference } }
    errors { field message code }
  }
}
"""

USER_METADATA = (
    "query UserMeta($id: ID!) { user(id: $id) { privateMetadata { key value } } }"
)

APP = """
query App($id: ID!) {
  app(id: $id) { id identifier isActive permissions { code } webhooks { id name isActive } }
}
"""

APP_DELETE = "mutation AppDelete($id: ID!) { appDelete(id: $id) { errors { field message code } } }"

DOCUMENTS = {
    name: value
    for name, value in globals().items()
    if name.isupper()
    and isinstance(value, str)
    and ("query" in value or "mutation" in value)
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def address() -> dict[str, str]:
    return {
        "firstName": "Alice",
        "lastName": "Payer",
        "streetAddress1": "1 Main St",
        "city": "New York",
        "postalCode": "10001",
        "country": "US",
        "countryArea": "NY",
    }
