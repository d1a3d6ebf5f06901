"""Legacy Payment API dataclasses with Saleor's field names, order and defaults.

Mirrors ``saleor/payment/interface.py``. They are plain (mutable) dataclasses
like Saleor's, not frozen ones: Saleor core code and plugins assign to their
fields, and one plugin class must behave the same under both hosts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any

JSONType = dict[str, Any] | list[Any] | str | int | float | bool | None


class StorePaymentMethodEnum(str, Enum):  # noqa: UP042 - Saleor's base classes
    # The values equal the names (saleor/payment/interface.py); the model
    # stores the lowercase form, see payment.StorePaymentMethod.
    NONE = "NONE"
    ON_SESSION = "ON_SESSION"
    OFF_SESSION = "OFF_SESSION"


@dataclass
class PaymentGateway:
    id: str
    name: str
    currencies: list[str]
    config: list[dict[str, Any]]


@dataclass
class PaymentMethodInfo:
    """Card or payment-method details reported by a gateway."""

    first_4: str | None = None
    last_4: str | None = None
    exp_year: int | None = None
    exp_month: int | None = None
    brand: str | None = None
    name: str | None = None
    type: str | None = None


@dataclass
class GatewayResponse:
    """What a legacy gateway hook returns."""

    is_success: bool
    action_required: bool
    kind: str
    amount: Decimal
    currency: str
    transaction_id: str
    error: str | None
    customer_id: str | None = None
    payment_method_info: PaymentMethodInfo | None = None
    raw_response: dict[str, str] | None = None
    action_required_data: JSONType | None = None
    transaction_already_processed: bool = False
    psp_reference: str | None = None


@dataclass
class AddressData:
    first_name: str
    last_name: str
    company_name: str
    street_address_1: str
    street_address_2: str
    city: str
    city_area: str
    postal_code: str
    country: str
    country_area: str
    phone: str
    metadata: dict | None
    private_metadata: dict | None
    validation_skipped: bool = False


@dataclass
class PaymentLineData:
    amount: Decimal
    variant_id: int
    product_name: str
    product_sku: str | None
    quantity: int


@dataclass
class PaymentLinesData:
    shipping_amount: Decimal
    voucher_amount: Decimal
    lines: list[PaymentLineData]


@dataclass
class RefundData:
    order_lines_to_refund: list[Any] = field(default_factory=list)
    fulfillment_lines_to_refund: list[Any] = field(default_factory=list)
    refund_shipping_costs: bool = False
    refund_amount_is_automatically_calculated: bool = True


@dataclass
class TransactionData:
    token: str
    is_success: bool
    kind: str
    gateway_response: JSONType
    amount: dict[str, str]


@dataclass
class PaymentData:
    """Everything a gateway hook is told about one payment operation.

    ``order_id`` is the literal string ``"None"`` during checkout, as in
    Saleor; there is no ``return_url`` field.
    """

    gateway: str
    amount: Decimal
    currency: str
    billing: AddressData | None
    shipping: AddressData | None
    payment_id: int
    graphql_payment_id: str
    order_id: str | None
    customer_ip_address: str | None
    customer_email: str
    order_channel_slug: str | None = None
    token: str | None = None
    customer_id: str | None = None
    reuse_source: bool = False
    data: dict | None = None
    graphql_customer_id: str | None = None
    checkout_token: str | None = None
    checkout_metadata: dict | None = None
    store_payment_method: StorePaymentMethodEnum = StorePaymentMethodEnum.NONE
    payment_metadata: dict[str, str] = field(default_factory=dict)
    psp_reference: str | None = None
    refund_data: RefundData | None = None
    transactions: list[TransactionData] = field(default_factory=list)
    _resolve_lines_data: InitVar[Callable[[], PaymentLinesData] | None] = None

    def __post_init__(
        self, _resolve_lines_data: Callable[[], PaymentLinesData] | None
    ) -> None:
        self.__resolve_lines_data = _resolve_lines_data

    @cached_property
    def lines_data(self) -> PaymentLinesData:
        if self.__resolve_lines_data is None:
            raise AttributeError("PaymentData was built without a lines resolver")
        return self.__resolve_lines_data()


@dataclass
class TokenConfig:
    customer_id: str | None = None


@dataclass
class GatewayConfig:
    gateway_name: str
    auto_capture: bool
    supported_currencies: str  # comma-separated, as Saleor stores it
    connection_params: dict[str, Any]
    store_customer: bool = False
    require_3d_secure: bool = False


@dataclass
class CustomerSource:
    """A payment source stored at the gateway for one customer."""

    id: str
    gateway: str
    # Saleor's storedPaymentSources crashes on None here; fill it for non-cards.
    credit_card_info: PaymentMethodInfo | None = None
    metadata: dict[str, str] | None = None


@dataclass
class InitializedPaymentResponse:
    gateway: str
    name: str
    data: JSONType | None = None
