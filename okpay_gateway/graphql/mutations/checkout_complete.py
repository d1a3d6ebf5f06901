"""``checkoutComplete``: process or confirm the checkout's payment."""

from __future__ import annotations

from typing import Any

import graphene

from ..checkout import complete_checkout, plugins_manager
from ..errors import OkPayError, invalid
from ..types import Checkout, Payment
from ._checkout_args import checkout_arguments, find_checkout


class CheckoutComplete(graphene.Mutation):
    """Pay the checkout with its payment.

    With `confirmationNeeded` the customer has to act first (OKPAY: approve
    the agreement at `redirect_url` of the JSON in `confirmationData`); call
    this again when they are back. The checkout is paid when
    `payment.chargeStatus` is `FULLY_CHARGED`.
    """

    class Arguments:
        id = checkout_arguments()["id"]
        checkout_id = checkout_arguments()["checkout_id"]
        token = checkout_arguments()["token"]
        payment_data = graphene.JSONString(
            description="Extra data for the gateway (an object)."
        )
        redirect_url = graphene.String(
            description="Return URL when the payment has none (an allowed host)."
        )
        store_source = graphene.Boolean(default_value=False)

    checkout = graphene.Field(Checkout)
    payment = graphene.Field(Payment)
    confirmation_needed = graphene.Boolean(required=True)
    confirmation_data = graphene.JSONString()
    errors = graphene.List(graphene.NonNull(OkPayError), required=True)

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> CheckoutComplete:
        checkout, errors = find_checkout(info, data)
        if checkout is None:
            return cls(confirmation_needed=False, errors=errors)
        payment_data = data.get("payment_data")
        if payment_data is not None and not isinstance(payment_data, dict):
            return cls(
                checkout=checkout,
                confirmation_needed=False,
                errors=[invalid("paymentData", "paymentData must be a JSON object.")],
            )
        result = complete_checkout(
            plugins_manager(info.context),
            checkout,
            request=info.context,
            payment_data=payment_data,
            store_source=bool(data.get("store_source")),
            redirect_url=data.get("redirect_url"),
        )
        return cls(
            checkout=checkout,
            payment=result.payment,
            confirmation_needed=result.confirmation_needed,
            confirmation_data=result.confirmation_data,
            errors=result.errors,
        )
