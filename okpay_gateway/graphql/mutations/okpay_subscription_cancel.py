"""``okpaySubscriptionCancel``: a customer stops renewing their own subscription."""

from __future__ import annotations

from typing import Any

import graphene
from django.utils import timezone

from okpay_gateway.billing import engine
from okpay_gateway.billing.states import SubscriptionEvent
from okpay_gateway.models import Subscription

from ..errors import ErrorItem, OkPayError, not_found, permission_denied
from ..permissions import requestor
from ..types import OkPaySubscription
from ._lookup import find

CANCEL_REASON = "canceled by the customer"


class OkPaySubscriptionCancel(graphene.Mutation):
    """Cancel one of your own subscriptions: no further renewals.

    The agreement with OKPAY stays as it is (other subscriptions may use it).
    """

    class Arguments:
        id = graphene.ID(required=True)

    subscription = graphene.Field(OkPaySubscription)
    errors = graphene.List(graphene.NonNull(OkPayError), required=True)

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> OkPaySubscriptionCancel:
        user = requestor(info)
        if user is None:
            return cls(errors=[permission_denied()])
        subscription = find(Subscription.objects.all(), "OkPaySubscription", data["id"])
        if subscription is None:
            return cls(errors=[not_found("id", "The subscription")])
        if subscription.customer_id != user.pk:
            return cls(errors=[permission_denied("id")])
        ended = engine.end_subscription(
            subscription, SubscriptionEvent.CANCEL, CANCEL_REASON, timezone.now()
        )
        subscription.refresh_from_db()
        if not ended:
            return cls(
                subscription=subscription,
                errors=[
                    ErrorItem(
                        "NOT_ALLOWED", "The subscription has already ended.", "id"
                    )
                ],
            )
        return cls(subscription=subscription, errors=[])
