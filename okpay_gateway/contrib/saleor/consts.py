"""Identifiers, webhook paths and configuration defaults of the Saleor plugin."""

from __future__ import annotations

# Frozen at the first release: Saleor stores it in PluginConfiguration.identifier,
# Payment.gateway and the customer metadata key.
PLUGIN_ID = "okpay_gateway.payments.okpay"
PLUGIN_NAME = "OKPAY"
PLUGIN_DESCRIPTION = (
    "OKPAY pre-approved payments: the customer approves a billing agreement "
    "once, later payments are charged without another redirect."
)

# Paths after /plugins/channel/<slug>/<PLUGIN_ID>/ (always with a trailing slash).
IPN_PATH = "ipn"
RETURN_PATH = "return"
CANCEL_PATH = "cancel"

# Brand shown for agreements in storedPaymentSources (Saleor needs card info).
SOURCE_BRAND = "okpay"
SOURCE_TYPE = "okpay"

# Key in PaymentData.data (Saleor: checkoutComplete's paymentData) by which the
# storefront asks to replace an agreement that cannot pay with a new one.
NEW_AGREEMENT_KEY = "okpay_new_agreement"

ENVIRONMENTS = ("live", "sandbox", "emulator")
FEE_PAYERS = ("merchant", "client")

# Configuration keys.
WALLET_ID = "wallet_id"
API_PASSWORD = "api_password"
RECEIVER_EMAIL = "receiver_email"
SUPPORTED_CURRENCIES = "supported_currencies"
ENVIRONMENT = "environment"
API_URL = "api_url"
CHECKOUT_URL = "checkout_url"
VERIFY_URL = "verify_url"
EMULATOR_URL = "emulator_url"
PUBLIC_URL = "public_url"
DAILY_LIMIT = "daily_limit"
WEEKLY_LIMIT = "weekly_limit"
MONTHLY_LIMIT = "monthly_limit"
VALIDITY_DAYS = "contract_validity_days"
AGREEMENT_TITLE = "agreement_title"
FEE_PAYER = "fee_payer"
AUTOMATIC_CAPTURE = "automatic_capture"
ACCEPT_TEST_IPN = "accept_test_ipn"
CONNECT_TIMEOUT = "connect_timeout"
READ_TIMEOUT = "read_timeout"
CHECK_CREDENTIALS = "check_credentials"
IPN_URL = "ipn_url"

DEFAULTS: dict[str, object] = {
    WALLET_ID: "",
    API_PASSWORD: "",
    RECEIVER_EMAIL: "",
    SUPPORTED_CURRENCIES: "USD,EUR",
    ENVIRONMENT: "live",
    API_URL: "",
    CHECKOUT_URL: "",
    VERIFY_URL: "",
    EMULATOR_URL: "",
    PUBLIC_URL: "",
    DAILY_LIMIT: "",
    WEEKLY_LIMIT: "",
    MONTHLY_LIMIT: "1000.00",
    VALIDITY_DAYS: "365",
    AGREEMENT_TITLE: "Recurring payments",
    FEE_PAYER: "merchant",
    AUTOMATIC_CAPTURE: True,
    ACCEPT_TEST_IPN: False,
    CONNECT_TIMEOUT: "5",
    READ_TIMEOUT: "30",
    # On: a wrong wallet ID or API password is refused when the settings are
    # saved, not discovered at the first customer's charge.
    CHECK_CREDENTIALS: True,
    IPN_URL: None,
}
