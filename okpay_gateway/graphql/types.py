"""GraphQL object types.

``OkPay*`` types describe the core's records (contracts, their payments and
ledger, subscriptions). The Saleor-named types (``PaymentGateway``,
``PaymentSource``, ``CreditCard``, ``User``, ``Payment``, ``Checkout``) are
the checkout subset our standalone host serves with Saleor's field names.
Money is :class:`OkPayDecimal` (a string on the wire), never a Float.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

import graphene
from django.db.models import Q

from okpay_gateway import clients, exceptions, payments
from okpay_gateway.models import Contract, PaymentEvent

from . import compat
from .enums import (
    ChargeStatusEnum,
    OkPayContractStatus,
    OkPayFeePayer,
    OkPayIntervalUnit,
    OkPayLedgerEventKind,
    OkPayPaymentStatus,
    OkPaySubscriptionStatus,
)
from .errors import OkPayError, error_for
from .ids import to_global_id

logger = logging.getLogger(__name__)


def _parse_decimal(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return compat.INVALID
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return compat.INVALID
    return number if number.is_finite() else compat.INVALID


class OkPayDecimal(graphene.Scalar):
    """A decimal amount written as a string, e.g. "12.50".

    Inputs take a string or a number; numbers are read through their decimal
    text, so 0.1 stays 0.1.
    """

    @staticmethod
    def serialize(value: Any) -> str:
        return str(value if isinstance(value, Decimal) else Decimal(str(value)))

    @staticmethod
    def parse_value(value: Any) -> Any:
        return _parse_decimal(value)

    @staticmethod
    def parse_literal(node: Any, _variables: Any = None) -> Any:
        text = compat.literal_value(node)
        return compat.INVALID if text is None else _parse_decimal(text)


class OkPayMoney(graphene.ObjectType):
    """An amount in a currency."""

    amount = graphene.Field(OkPayDecimal, required=True)
    currency = graphene.String(required=True, description="ISO 4217 code.")


def _choice(attribute: str) -> Any:
    """Resolver of an enum field stored as a model choice.

    A row the core just changed holds a ``TextChoices`` member, which graphene
    3 will not serialize as another enum's value; the plain string it will.
    """

    def resolve(root: Any, info: Any) -> Any:
        return compat.enum_value(getattr(root, attribute))

    return resolve


def money(amount: Any, currency: str) -> dict[str, Any] | None:
    return None if amount is None else {"amount": amount, "currency": currency}


# --- OKPAY records -----------------------------------------------------------------


class OkPayPayment(graphene.ObjectType):
    """One amount charged (or to be charged) on an agreement."""

    id = graphene.ID(required=True)
    invoice = graphene.String(required=True, description="Our idempotency key.")
    amount = graphene.Field(OkPayDecimal, required=True)
    currency = graphene.String(required=True)
    status = graphene.Field(
        OkPayPaymentStatus, required=True, resolver=_choice("status")
    )
    okpay_transaction_id = graphene.String(description="OKPAY's transaction ID.")
    fee = graphene.Field(OkPayDecimal)
    refunded_amount = graphene.Field(OkPayDecimal, required=True)
    decline_code = graphene.String()
    description = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)
    completed_at = graphene.DateTime()

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return to_global_id("OkPayPayment", root.pk)

    @staticmethod
    def resolve_okpay_transaction_id(root: Any, info: Any) -> str | None:
        return str(root.okpay_txn_id) if root.okpay_txn_id else None

    @staticmethod
    def resolve_decline_code(root: Any, info: Any) -> str | None:
        return root.decline_code or None


class OkPayLedgerEntry(graphene.ObjectType):
    """One row of the append-only ledger of an agreement and its payments."""

    id = graphene.ID(required=True)
    kind = graphene.Field(OkPayLedgerEventKind, required=True, resolver=_choice("kind"))
    amount = graphene.Field(OkPayDecimal)
    currency = graphene.String()
    okpay_transaction_id = graphene.String()
    invoice = graphene.String()
    comment = graphene.String()
    payment_invoice = graphene.String(description="Invoice of the payment, if any.")
    created_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return to_global_id("OkPayLedgerEntry", root.pk)

    @staticmethod
    def resolve_okpay_transaction_id(root: Any, info: Any) -> str | None:
        return str(root.okpay_txn_id) if root.okpay_txn_id else None

    @staticmethod
    def resolve_currency(root: Any, info: Any) -> str | None:
        return root.currency or None

    @staticmethod
    def resolve_invoice(root: Any, info: Any) -> str | None:
        return root.invoice or None

    @staticmethod
    def resolve_comment(root: Any, info: Any) -> str | None:
        return root.comment or None

    @staticmethod
    def resolve_payment_invoice(root: Any, info: Any) -> str | None:
        return root.payment.invoice if root.payment_id else None


class OkPayProviderOperation(graphene.ObjectType):
    """A transaction OKPAY lists for the agreement (PreapprovedPayment_Get_Operations)."""

    id = graphene.String(required=True, description="OKPAY's transaction ID.")
    operation_name = graphene.String()
    status = graphene.String()
    amount = graphene.Field(OkPayDecimal, required=True)
    fees = graphene.Field(OkPayDecimal, required=True)
    net = graphene.Field(OkPayDecimal, required=True)
    currency = graphene.String()
    invoice = graphene.String()
    comment = graphene.String()
    date = graphene.DateTime()

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return str(root.id)

    @staticmethod
    def resolve_status(root: Any, info: Any) -> str | None:
        return None if root.status is None else str(compat.enum_value(root.status))


class ContractOperations:
    """The ledger and OKPAY's own list for one contract (OKPAY asked at most once)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    @cached_property
    def ledger(self) -> Any:
        contract = self.contract
        return (
            PaymentEvent.objects.filter(
                Q(contract=contract) | Q(payment__contract=contract)
            )
            .select_related("payment")
            .order_by("created_at", "pk")
        )

    @cached_property
    def fetched(self) -> tuple[list[Any] | None, Any]:
        contract = self.contract
        if contract.okpay_id is None:
            return None, None
        try:
            okpay_settings = payments.settings_for_channel(contract.channel)
            client = clients.client_for(okpay_settings)
            operations = client.preapproved_payment_get_operations(contract.okpay_id)
        except exceptions.OkPayError as exc:
            logger.warning(
                "OKPAY operations of contract %s unavailable: %s",
                contract.okpay_id,
                exc.code,
            )
            return None, error_for(exc)
        return list(operations), None


class OkPayContractOperations(graphene.ObjectType):
    """What happened on an agreement: our ledger, and OKPAY's list when reachable."""

    ledger = graphene.List(graphene.NonNull(OkPayLedgerEntry), required=True)
    provider = graphene.List(
        graphene.NonNull(OkPayProviderOperation),
        description="OKPAY's operations; null when OKPAY could not be asked.",
    )
    provider_error = graphene.Field(
        OkPayError, description="Why `provider` is null, when OKPAY failed."
    )

    @staticmethod
    def resolve_ledger(root: ContractOperations, info: Any) -> Any:
        return root.ledger

    @staticmethod
    def resolve_provider(root: ContractOperations, info: Any) -> Any:
        return root.fetched[0]

    @staticmethod
    def resolve_provider_error(root: ContractOperations, info: Any) -> Any:
        return root.fetched[1]


class OkPaySubscription(graphene.ObjectType):
    """A recurring charge on an agreement."""

    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    amount = graphene.Field(OkPayDecimal, required=True)
    currency = graphene.String(required=True)
    status = graphene.Field(
        OkPaySubscriptionStatus, required=True, resolver=_choice("status")
    )
    interval_unit = graphene.Field(
        OkPayIntervalUnit, required=True, resolver=_choice("interval_unit")
    )
    interval_count = graphene.Int(required=True)
    next_charge_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    ended_at = graphene.DateTime()
    end_reason = graphene.String()
    created_at = graphene.DateTime(required=True)
    contract = graphene.Field(lambda: OkPayContract, required=True)

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return to_global_id("OkPaySubscription", root.pk)

    @staticmethod
    def resolve_end_reason(root: Any, info: Any) -> str | None:
        return root.end_reason or None


class OkPayContract(graphene.ObjectType):
    """An OKPAY pre-approved payment agreement (billing agreement)."""

    id = graphene.ID(required=True)
    okpay_id = graphene.String(description="OKPAY's agreement ID once granted.")
    invoice = graphene.String(required=True)
    title = graphene.String(required=True)
    status = graphene.Field(
        OkPayContractStatus, required=True, resolver=_choice("status")
    )
    currency = graphene.String(required=True)
    channel = graphene.String(required=True)
    daily_limit = graphene.Field(OkPayDecimal)
    weekly_limit = graphene.Field(OkPayDecimal)
    monthly_limit = graphene.Field(OkPayDecimal)
    available_amount = graphene.Field(
        OkPayDecimal, description="What OKPAY last said is left to charge."
    )
    end_date = graphene.Date()
    fee_payer = graphene.Field(
        OkPayFeePayer, required=True, resolver=_choice("fee_payer")
    )
    client_email = graphene.String()
    client_wallet = graphene.String()
    customer_id = graphene.ID(description="Global ID of the shop's customer.")
    created_at = graphene.DateTime(required=True)
    granted_at = graphene.DateTime()
    closed_at = graphene.DateTime()
    payments = graphene.List(graphene.NonNull(OkPayPayment), required=True)
    subscriptions = graphene.List(graphene.NonNull(OkPaySubscription), required=True)
    operations = graphene.Field(OkPayContractOperations, required=True)

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return to_global_id("OkPayContract", root.pk)

    @staticmethod
    def resolve_okpay_id(root: Any, info: Any) -> str | None:
        return None if root.okpay_id is None else str(root.okpay_id)

    @staticmethod
    def resolve_daily_limit(root: Any, info: Any) -> Any:
        return root.daily_amount

    @staticmethod
    def resolve_weekly_limit(root: Any, info: Any) -> Any:
        return root.weekly_amount

    @staticmethod
    def resolve_monthly_limit(root: Any, info: Any) -> Any:
        return root.monthly_amount

    @staticmethod
    def resolve_client_email(root: Any, info: Any) -> str | None:
        return root.client_email or None

    @staticmethod
    def resolve_client_wallet(root: Any, info: Any) -> str | None:
        return root.client_wallet or None

    @staticmethod
    def resolve_customer_id(root: Any, info: Any) -> str | None:
        return to_global_id("User", root.customer_id) if root.customer_id else None

    @staticmethod
    def resolve_payments(root: Any, info: Any) -> Any:
        return root.payments.order_by("-created_at", "-pk")

    @staticmethod
    def resolve_subscriptions(root: Any, info: Any) -> Any:
        return root.subscriptions.order_by("pk")

    @staticmethod
    def resolve_operations(root: Any, info: Any) -> ContractOperations:
        return ContractOperations(root)


# --- the Saleor-compatible checkout subset ------------------------------------------


class GatewayConfigLine(graphene.ObjectType):
    """One public configuration value of a gateway."""

    field = graphene.String(required=True)
    value = graphene.String()

    @staticmethod
    def resolve_value(root: Any, info: Any) -> str | None:
        value = root.get("value")
        # Stringified here, not by the String scalar: graphene 2 writes
        # True as "True", graphene 3 as "true".
        if isinstance(value, bool):
            return "true" if value else "false"
        return None if value is None else str(value)

    @staticmethod
    def resolve_field(root: Any, info: Any) -> str:
        return root["field"]


class PaymentGateway(graphene.ObjectType):
    """A payment gateway available to a checkout."""

    name = graphene.String(required=True)
    id = graphene.ID(required=True)
    config = graphene.List(graphene.NonNull(GatewayConfigLine), required=True)
    currencies = graphene.List(graphene.NonNull(graphene.String), required=True)


class CreditCard(graphene.ObjectType):
    """Card-shaped details of a stored source (an OKPAY agreement's brand is okpay)."""

    brand = graphene.String(required=True)
    first_digits = graphene.String()
    last_digits = graphene.String(required=True)
    exp_month = graphene.Int()
    exp_year = graphene.Int()

    @staticmethod
    def resolve_brand(root: Any, info: Any) -> str:
        return root.brand or ""

    @staticmethod
    def resolve_first_digits(root: Any, info: Any) -> str | None:
        return root.first_4

    @staticmethod
    def resolve_last_digits(root: Any, info: Any) -> str:
        return root.last_4 or ""


class MetadataItem(graphene.ObjectType):
    key = graphene.String(required=True)
    value = graphene.String(required=True)


class PaymentSource(graphene.ObjectType):
    """A payment method the gateway keeps for the customer."""

    gateway = graphene.String(required=True)
    payment_method_id = graphene.String()
    credit_card_info = graphene.Field(CreditCard)
    metadata = graphene.List(graphene.NonNull(MetadataItem), required=True)

    @staticmethod
    def resolve_payment_method_id(root: Any, info: Any) -> str:
        return root.id

    @staticmethod
    def resolve_metadata(root: Any, info: Any) -> list[dict[str, str]]:
        return [
            {"key": str(key), "value": str(value)}
            for key, value in sorted((root.metadata or {}).items())
        ]


class Payment(graphene.ObjectType):
    """The host's record of a checkout payment."""

    id = graphene.ID(required=True)
    gateway = graphene.String(required=True)
    is_active = graphene.Boolean(required=True)
    created = graphene.DateTime(required=True)
    modified = graphene.DateTime(required=True)
    checkout_token = graphene.String(required=True)
    charge_status = graphene.Field(
        ChargeStatusEnum, required=True, resolver=_choice("charge_status")
    )
    total = graphene.Field(OkPayMoney, required=True)
    captured_amount = graphene.Field(OkPayMoney, required=True)
    return_url = graphene.String()
    psp_reference = graphene.String()

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return to_global_id("Payment", root.pk)

    @staticmethod
    def resolve_created(root: Any, info: Any) -> Any:
        return root.created_at

    @staticmethod
    def resolve_modified(root: Any, info: Any) -> Any:
        return root.updated_at

    @staticmethod
    def resolve_total(root: Any, info: Any) -> Any:
        return money(root.total, root.currency)

    @staticmethod
    def resolve_captured_amount(root: Any, info: Any) -> Any:
        return money(root.captured_amount, root.currency)

    @staticmethod
    def resolve_return_url(root: Any, info: Any) -> str | None:
        return root.return_url or None

    @staticmethod
    def resolve_psp_reference(root: Any, info: Any) -> str | None:
        return root.psp_reference or None


class CheckoutLine(graphene.ObjectType):
    """One thing being bought (a plan and its billing interval)."""

    plan_id = graphene.String(required=True)
    title = graphene.String(required=True)
    interval = graphene.String(required=True)
    quantity = graphene.Int(required=True)
    amount = graphene.Field(OkPayDecimal)


class Checkout(graphene.ObjectType):
    """A shop checkout, as the shop's checkout resolver describes it."""

    id = graphene.ID(required=True, description="The checkout token.")
    token = graphene.String(required=True)
    email = graphene.String()
    channel = graphene.String(required=True)
    total = graphene.Field(OkPayMoney, required=True)
    lines = graphene.List(graphene.NonNull(CheckoutLine), required=True)

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return root.token

    @staticmethod
    def resolve_email(root: Any, info: Any) -> str | None:
        return root.email or None

    @staticmethod
    def resolve_total(root: Any, info: Any) -> Any:
        return money(root.amount, root.currency)


class User(graphene.ObjectType):
    """The signed-in customer (``me``)."""

    id = graphene.ID(required=True)
    email = graphene.String(required=True)
    stored_payment_sources = graphene.List(
        graphene.NonNull(PaymentSource),
        channel=graphene.String(description="Channel slug; default: the first."),
        description="Payment methods the gateways keep for this customer.",
    )

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return to_global_id("User", root.pk)

    @staticmethod
    def resolve_email(root: Any, info: Any) -> str:
        return getattr(root, root.get_email_field_name(), "") or ""

    @staticmethod
    def resolve_stored_payment_sources(
        root: Any, info: Any, channel: str | None = None
    ) -> Any:
        from .checkout import default_channel, plugins_manager, stored_payment_sources

        return stored_payment_sources(
            plugins_manager(info.context), root, channel or default_channel()
        )
