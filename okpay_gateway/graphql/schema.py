"""Query and mutation mixins, and the ready schema of the standalone host.

A host composes the mixins into its own root types::

    from okpay_gateway.graphql.schema import OkPayMutation, OkPayQuery

    class Query(OkPayQuery, MyShopQuery, graphene.ObjectType): ...
    class Mutation(OkPayMutation, MyShopMutation, graphene.ObjectType): ...

* ``OkPayQuery``/``OkPayMutation``: OKPAY's own fields (``okpayContracts``,
  ``okpayContract``, ``okpaySubscriptions``, ``okpayContractCancel``,
  ``okpayContractCharge``, ``okpaySubscriptionCancel``). Usable in any
  graphene 2/3 schema.
* ``CheckoutQuery``/``CheckoutMutation``: the Saleor-compatible checkout
  subset (``paymentGateways``, ``checkout``, ``me``,
  ``checkoutPaymentCreate``, ``checkoutComplete``) for a shop running our
  plugin host instead of Saleor (Saleor has these fields itself).
* ``schema``: all of them, what :mod:`okpay_gateway.graphql.urls` serves.
"""

from __future__ import annotations

from typing import Any

import graphene

from okpay_gateway.models import Contract, Subscription

from .checkout import default_channel, list_gateways, plugins_manager, resolve_checkout
from .checkout import may_use as may_use_checkout
from .filters import (
    OkPayContractFilterInput,
    OkPaySubscriptionFilterInput,
    filter_contracts,
    filter_subscriptions,
    page,
)
from .ids import from_global_id
from .mutations.checkout_complete import CheckoutComplete
from .mutations.checkout_payment_create import CheckoutPaymentCreate
from .mutations.okpay_contract_cancel import OkPayContractCancel
from .mutations.okpay_contract_charge import OkPayContractCharge
from .mutations.okpay_subscription_cancel import OkPaySubscriptionCancel
from .permissions import requestor, require_user, visible
from .types import (
    Checkout,
    OkPayContract,
    OkPaySubscription,
    PaymentGateway,
    User,
)

__all__ = [
    "CheckoutMutation",
    "CheckoutQuery",
    "Mutation",
    "OkPayMutation",
    "OkPayQuery",
    "Query",
    "schema",
]


class OkPayQuery(graphene.ObjectType):
    """OKPAY agreements and subscriptions: staff see all, customers their own."""

    okpay_contracts = graphene.List(
        graphene.NonNull(OkPayContract),
        filter=OkPayContractFilterInput(),
        first=graphene.Int(default_value=50),
        offset=graphene.Int(default_value=0),
        description="Agreements, newest first.",
    )
    okpay_contract = graphene.Field(
        OkPayContract, id=graphene.ID(required=True), description="One agreement."
    )
    okpay_subscriptions = graphene.List(
        graphene.NonNull(OkPaySubscription),
        filter=OkPaySubscriptionFilterInput(),
        first=graphene.Int(default_value=50),
        offset=graphene.Int(default_value=0),
        description="Subscriptions, newest first.",
    )

    @staticmethod
    def resolve_okpay_contracts(
        root: Any, info: Any, first: int, offset: int, **data: Any
    ) -> Any:
        user = require_user(info)
        queryset = visible(Contract.objects.all(), user)
        queryset = filter_contracts(queryset, data.get("filter"))
        return page(queryset.order_by("-created_at", "-pk"), first, offset)

    @staticmethod
    def resolve_okpay_contract(root: Any, info: Any, id: str) -> Any:
        user = require_user(info)
        pk = from_global_id(id, "OkPayContract")
        if pk is None:
            return None
        return visible(Contract.objects.all(), user).filter(pk=pk).first()

    @staticmethod
    def resolve_okpay_subscriptions(
        root: Any, info: Any, first: int, offset: int, **data: Any
    ) -> Any:
        user = require_user(info)
        queryset = visible(Subscription.objects.all(), user)
        queryset = filter_subscriptions(queryset, data.get("filter"))
        return page(queryset.order_by("-created_at", "-pk"), first, offset)


class OkPayMutation(graphene.ObjectType):
    okpay_contract_cancel = OkPayContractCancel.Field()
    okpay_contract_charge = OkPayContractCharge.Field()
    okpay_subscription_cancel = OkPaySubscriptionCancel.Field()


class CheckoutQuery(graphene.ObjectType):
    """Saleor's checkout-payment queries, for the standalone host."""

    payment_gateways = graphene.List(
        graphene.NonNull(PaymentGateway),
        required=True,
        currency=graphene.String(description="Only gateways taking this currency."),
        channel=graphene.String(description="Channel slug; default: the first."),
        description="Gateways a checkout can pay with.",
    )
    checkout = graphene.Field(
        Checkout,
        id=graphene.ID(),
        token=graphene.String(),
        description="A checkout by its token.",
    )
    me = graphene.Field(User, description="The signed-in customer.")

    @staticmethod
    def resolve_payment_gateways(
        root: Any, info: Any, currency: str | None = None, channel: str | None = None
    ) -> Any:
        return list_gateways(
            plugins_manager(info.context),
            currency=currency,
            channel=channel or default_channel(),
        )

    @staticmethod
    def resolve_checkout(
        root: Any, info: Any, id: str | None = None, token: str | None = None
    ) -> Any:
        checkout = resolve_checkout(id or token)
        if checkout is None or not may_use_checkout(checkout, requestor(info)):
            return None
        return checkout

    @staticmethod
    def resolve_me(root: Any, info: Any) -> Any:
        return requestor(info)


class CheckoutMutation(graphene.ObjectType):
    checkout_payment_create = CheckoutPaymentCreate.Field()
    checkout_complete = CheckoutComplete.Field()


class Query(OkPayQuery, CheckoutQuery, graphene.ObjectType):
    pass


class Mutation(OkPayMutation, CheckoutMutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
