"""Every GraphQL document the App sends to Saleor or registers with it.

Kept in one module so the tests can validate each against Saleor's published
schema (``ALL_DOCUMENTS``). Subscription documents are the payloads of the
webhooks in the manifest; the rest are called with the app token.
"""

from __future__ import annotations

_ADDRESS = """
  firstName lastName companyName streetAddress1 streetAddress2 city
  cityArea postalCode country { code } countryArea phone
"""

_USER = """
  user { id email privateMetadata { key value } }
"""

_SOURCE_OBJECT = f"""
  sourceObject {{
    __typename
    ... on Checkout {{
      id email channel {{ id slug }} {_USER}
      billingAddress {{ {_ADDRESS} }}
    }}
    ... on Order {{
      id userEmail channel {{ id slug }} {_USER}
      billingAddress {{ {_ADDRESS} }}
    }}
  }}
"""

_TRANSACTION = "transaction { id token pspReference }"

PAYMENT_GATEWAY_INITIALIZE_SESSION = f"""
subscription PaymentGatewayInitializeSession {{
  event {{
    ... on PaymentGatewayInitializeSession {{
      data
      amount
      {_SOURCE_OBJECT}
    }}
  }}
}}
"""

TRANSACTION_INITIALIZE_SESSION = f"""
subscription TransactionInitializeSession {{
  event {{
    ... on TransactionInitializeSession {{
      data
      merchantReference
      idempotencyKey
      customerIpAddress
      action {{ amount currency actionType }}
      {_TRANSACTION}
      {_SOURCE_OBJECT}
    }}
  }}
}}
"""

TRANSACTION_PROCESS_SESSION = f"""
subscription TransactionProcessSession {{
  event {{
    ... on TransactionProcessSession {{
      data
      merchantReference
      action {{ amount currency actionType }}
      {_TRANSACTION}
      {_SOURCE_OBJECT}
    }}
  }}
}}
"""

TRANSACTION_CHARGE_REQUESTED = (
    "subscription TransactionChargeRequested { event { "
    "... on TransactionChargeRequested { "
    "action { amount currency actionType } "
    "transaction { id token pspReference } } } }"
)

TRANSACTION_REFUND_REQUESTED = (
    "subscription TransactionRefundRequested { event { "
    "... on TransactionRefundRequested { "
    "action { amount currency actionType } "
    "transaction { id token pspReference } } } }"
)

TRANSACTION_CANCELATION_REQUESTED = (
    "subscription TransactionCancelationRequested { event { "
    "... on TransactionCancelationRequested { "
    "action { amount currency actionType } "
    "transaction { id token pspReference } } } }"
)

# What a paid order tells the App about subscriptions (ORDER_FULLY_PAID).
ORDER_SELECTION = f"""
  id number userEmail created
  channel {{ id slug }}
  user {{ id email }}
  total {{ gross {{ amount currency }} }}
  billingAddress {{ {_ADDRESS} }}
  shippingAddress {{ {_ADDRESS} }}
  lines {{
    id quantity productName
    totalPrice {{ gross {{ amount currency }} }}
    variant {{
      id
      metadata {{ key value }}
      product {{ id name metadata {{ key value }} }}
    }}
  }}
"""

ORDER_FULLY_PAID = f"""
subscription OrderFullyPaid {{
  event {{
    ... on OrderFullyPaid {{
      order {{ {ORDER_SELECTION} }}
    }}
  }}
}}
"""

# --- called with the app token ------------------------------------------------

APP_ID = "query AppId { app { id } }"

TRANSACTION_EVENT_REPORT = """
mutation ReportTransactionEvent(
  $id: ID!, $type: TransactionEventTypeEnum!, $amount: PositiveDecimal!,
  $pspReference: String!, $message: String, $externalUrl: String
) {
  transactionEventReport(
    id: $id, type: $type, amount: $amount, pspReference: $pspReference,
    message: $message, externalUrl: $externalUrl
  ) {
    alreadyProcessed
    transactionEvent { id type pspReference }
    errors { field message code }
  }
}
"""

UPDATE_PRIVATE_METADATA = """
mutation UpdatePrivateMetadata($id: ID!, $input: [MetadataInput!]!) {
  updatePrivateMetadata(id: $id, input: $input) {
    errors { field message code }
  }
}
"""

ORDER_BY_REFERENCE = """
query OrderByReference($reference: String!) {
  order(externalReference: $reference) {
    id number status chargeStatus
    privateMetadata { key value }
    transactions { id pspReference }
  }
}
"""

ORDERS_BY_PSP_REFERENCE = """
query OrdersByPspReference($psp: String!) {
  orders(first: 10, where: {transactions: [{pspReference: {eq: $psp}}]}) {
    edges {
      node {
        id number status chargeStatus
        privateMetadata { key value }
        transactions { id pspReference }
      }
    }
  }
}
"""

DRAFT_ORDER_CREATE = """
mutation RenewalDraftCreate($input: DraftOrderCreateInput!) {
  draftOrderCreate(input: $input) {
    order { id number status }
    errors { field message code }
  }
}
"""

DRAFT_ORDER_COMPLETE = """
mutation RenewalDraftComplete($id: ID!) {
  draftOrderComplete(id: $id) {
    order { id number status chargeStatus }
    errors { field message code }
  }
}
"""

TRANSACTION_CREATE = """
mutation RenewalTransactionCreate($id: ID!, $transaction: TransactionCreateInput!) {
  transactionCreate(id: $id, transaction: $transaction) {
    transaction { id pspReference }
    errors { field message code }
  }
}
"""

# For local set-ups without Saleor's install flow (staff token, then app token).
APP_CREATE = """
mutation OkPayAppCreate($input: AppInput!) {
  appCreate(input: $input) {
    authToken
    app { id identifier }
    errors { field message code }
  }
}
"""

WEBHOOK_CREATE = """
mutation OkPayWebhookCreate($input: WebhookCreateInput!) {
  webhookCreate(input: $input) {
    webhook { id }
    errors { field message code }
  }
}
"""

TOKEN_CREATE = """
mutation StaffToken($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) {
    token
    errors { field message code }
  }
}
"""

SUBSCRIPTIONS = {
    "PAYMENT_GATEWAY_INITIALIZE_SESSION": PAYMENT_GATEWAY_INITIALIZE_SESSION,
    "TRANSACTION_INITIALIZE_SESSION": TRANSACTION_INITIALIZE_SESSION,
    "TRANSACTION_PROCESS_SESSION": TRANSACTION_PROCESS_SESSION,
    "TRANSACTION_CHARGE_REQUESTED": TRANSACTION_CHARGE_REQUESTED,
    "TRANSACTION_REFUND_REQUESTED": TRANSACTION_REFUND_REQUESTED,
    "TRANSACTION_CANCELATION_REQUESTED": TRANSACTION_CANCELATION_REQUESTED,
    "ORDER_FULLY_PAID": ORDER_FULLY_PAID,
}

ALL_DOCUMENTS = {
    **SUBSCRIPTIONS,
    "APP_ID": APP_ID,
    "TRANSACTION_EVENT_REPORT": TRANSACTION_EVENT_REPORT,
    "UPDATE_PRIVATE_METADATA": UPDATE_PRIVATE_METADATA,
    "ORDER_BY_REFERENCE": ORDER_BY_REFERENCE,
    "ORDERS_BY_PSP_REFERENCE": ORDERS_BY_PSP_REFERENCE,
    "DRAFT_ORDER_CREATE": DRAFT_ORDER_CREATE,
    "DRAFT_ORDER_COMPLETE": DRAFT_ORDER_COMPLETE,
    "TRANSACTION_CREATE": TRANSACTION_CREATE,
    "APP_CREATE": APP_CREATE,
    "WEBHOOK_CREATE": WEBHOOK_CREATE,
    "TOKEN_CREATE": TOKEN_CREATE,
}
