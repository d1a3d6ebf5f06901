"""Every GraphQL document the Saleor suite sends, in one place.

``test_documents.py`` validates each of them against Saleor 3.24's published
schema (no live Saleor needed), so a document that Saleor would refuse fails
in CI instead of against a shop. Modules that add documents (the Saleor App
tests) list theirs in their own ``DOCUMENTS`` tuple and add the module to
``test_documents.DOCUMENT_MODULES``.
"""

from __future__ import annotations

TOKEN_CREATE = """
mutation TokenCreate($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) {
    token
    errors { field code message }
  }
}
"""

SHOP_ALLOW_UNCONFIRMED_ACCOUNTS = """
mutation ShopAllowUnconfirmed {
  shopSettingsUpdate(input: {enableAccountConfirmationByEmail: false}) {
    shop { enableAccountConfirmationByEmail }
    errors { field code message }
  }
}
"""

PLUGIN = """
query Plugin($id: ID!) {
  plugin(id: $id) {
    id
    name
    channelConfigurations {
      active
      channel { id slug }
      configuration { name value type }
    }
  }
}
"""

PLUGIN_UPDATE = """
mutation PluginUpdate($id: ID!, $channelId: ID, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, channelId: $channelId, input: $input) {
    plugin {
      channelConfigurations {
        active
        channel { slug }
        configuration { name value type }
      }
    }
    errors { field code message }
  }
}
"""

CHANNEL = """
query Channel($slug: String!) {
  channel(slug: $slug) { id slug currencyCode isActive }
}
"""

PRODUCT_VARIANTS = """
query ProductVariants($channel: String!) {
  products(first: 40, channel: $channel, where: {isAvailable: true}) {
    edges {
      node {
        id
        name
        isAvailableForPurchase
        productType { isShippingRequired }
        variants {
          id
          quantityAvailable
          pricing { price { gross { amount currency } } }
        }
      }
    }
  }
}
"""

UPDATE_METADATA = """
mutation UpdateMetadata($id: ID!, $input: [MetadataInput!]!) {
  updateMetadata(id: $id, input: $input) {
    errors { field code message }
  }
}
"""

ACCOUNT_REGISTER = """
mutation AccountRegister($input: AccountRegisterInput!) {
  accountRegister(input: $input) {
    requiresConfirmation
    user { id email isActive }
    errors { field code message }
  }
}
"""

CUSTOMER_BY_EMAIL = """
query CustomerByEmail($email: String!) {
  user(email: $email) {
    id
    email
    privateMetadata { key value }
  }
}
"""

ME_PAYMENT_SOURCES = """
query MePaymentSources($channel: String!) {
  me {
    email
    storedPaymentSources(channel: $channel) {
      gateway
      paymentMethodId
      creditCardInfo { brand lastDigits }
    }
  }
}
"""

CHECKOUT_CREATE = """
mutation CheckoutCreate($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) {
    checkout {
      id
      totalPrice { gross { amount currency } }
      shippingMethods { id name price { amount } }
    }
    errors { field code message }
  }
}
"""

CHECKOUT_DELIVERY = """
mutation CheckoutDelivery($id: ID!, $deliveryMethodId: ID!) {
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $deliveryMethodId) {
    checkout { id totalPrice { gross { amount currency } } }
    errors { field code message }
  }
}
"""

CHECKOUT_TOTAL = """
query CheckoutTotal($id: ID!) {
  checkout(id: $id) { id totalPrice { gross { amount currency } } }
}
"""

CHECKOUT_PAYMENT_CREATE = """
mutation CheckoutPaymentCreate($id: ID!, $input: PaymentInput!) {
  checkoutPaymentCreate(id: $id, input: $input) {
    payment { id gateway chargeStatus total { amount currency } }
    errors { field code message }
  }
}
"""

CHECKOUT_COMPLETE = """
mutation CheckoutComplete($id: ID!) {
  checkoutComplete(id: $id) {
    order { id number status chargeStatus isPaid }
    confirmationNeeded
    confirmationData
    errors { field code message }
  }
}
"""

ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    id
    number
    status
    chargeStatus
    paymentStatus
    isPaid
    totalCharged { amount currency }
    totalRefunded { amount currency }
    payments {
      id
      gateway
      isActive
      chargeStatus
      pspReference
      capturedAmount { amount }
    }
  }
}
"""

ORDER_CAPTURE = """
mutation OrderCapture($id: ID!, $amount: PositiveDecimal!) {
  orderCapture(id: $id, amount: $amount) {
    order { id chargeStatus paymentStatus totalCharged { amount } }
    errors { field code message }
  }
}
"""

ORDER_VOID = """
mutation OrderVoid($id: ID!) {
  orderVoid(id: $id) {
    order { id chargeStatus paymentStatus }
    errors { field code message }
  }
}
"""

ORDER_REFUND = """
mutation OrderRefund($id: ID!, $amount: PositiveDecimal!) {
  orderRefund(id: $id, amount: $amount) {
    order { id paymentStatus totalRefunded { amount } }
    errors { field code message }
  }
}
"""

DOCUMENTS = (
    TOKEN_CREATE,
    SHOP_ALLOW_UNCONFIRMED_ACCOUNTS,
    PLUGIN,
    PLUGIN_UPDATE,
    CHANNEL,
    PRODUCT_VARIANTS,
    UPDATE_METADATA,
    ACCOUNT_REGISTER,
    CUSTOMER_BY_EMAIL,
    ME_PAYMENT_SOURCES,
    CHECKOUT_CREATE,
    CHECKOUT_DELIVERY,
    CHECKOUT_TOTAL,
    CHECKOUT_PAYMENT_CREATE,
    CHECKOUT_COMPLETE,
    ORDER,
    ORDER_CAPTURE,
    ORDER_VOID,
    ORDER_REFUND,
)
