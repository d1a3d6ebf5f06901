"""``checkoutPaymentCreate``: choose the gateway for a checkout (no gateway call)."""

from __future__ import annotations

from typing import Any

import graphene

from .. import compat
from ..checkout import create_payment, plugins_manager
from ..enums import StorePaymentMethodEnum
from ..errors import OkPayError
from ..types import Checkout, OkPayDecimal, Payment
from ._checkout_args import checkout_arguments, find_checkout


class PaymentInput(graphene.InputObjectType):
    """How the checkout is to be paid."""

    gateway = graphene.String(required=True, description="A `paymentGateways` id.")
    token = graphene.String(description="A gateway token, for gateways that need one.")
    amount = OkPayDecimal(description="Must equal the checkout total (default).")
    return_url = graphene.String(
        description="Where the gateway sends the customer back (an allowed host)."
    )
    store_payment_method = StorePaymentMethodEnum()


class CheckoutPaymentCreate(graphene.Mutation):
    """Record the payment of a checkout with a gateway."""

    class Arguments:
        id = checkout_arguments()["id"]
        checkout_id = checkout_arguments()["checkout_id"]
        token = checkout_arguments()["token"]
        input = PaymentInput(required=True)

    checkout = graphene.Field(Checkout)
    payment = graphene.Field(Payment)
    errors = graphene.List(graphene.NonNull(OkPayError), required=True)

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> CheckoutPaymentCreate:
        checkout, errors = find_checkout(info, data)
        if checkout is None:
            return cls(errors=errors)
        payment_input = data["input"]
        store = payment_input.get("store_payment_method")
        payment, errors = create_payment(
            plugins_manager(info.context),
            checkout,
            gateway=payment_input["gateway"],
            amount=payment_input.get("amount"),
            token=payment_input.get("token"),
            return_url=payment_input.get("return_url"),
            store_payment_method=compat.enum_value(store) if store else None,
        )
        return cls(checkout=checkout, payment=payment, errors=errors)
