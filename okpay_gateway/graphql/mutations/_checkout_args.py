"""The checkout identification both checkout mutations take (Saleor's three)."""

from __future__ import annotations

from typing import Any

import graphene

from ..checkout import CheckoutInfo, may_use, resolve_checkout
from ..errors import ErrorItem, invalid, not_found, permission_denied
from ..permissions import requestor


def checkout_arguments() -> dict[str, Any]:
    return {
        "id": graphene.ID(description="The checkout token."),
        "checkout_id": graphene.ID(description="Same as `id` (Saleor's older name)."),
        "token": graphene.String(description="Same as `id`."),
    }


def find_checkout(
    info: Any, data: dict[str, Any]
) -> tuple[CheckoutInfo | None, list[ErrorItem]]:
    """The checkout named by ``id``/``checkoutId``/``token``, if the caller may use it."""
    given = {str(data[key]) for key in ("id", "checkout_id", "token") if data.get(key)}
    if not given:
        return None, [ErrorItem("REQUIRED", "Give the checkout's id or token.", "id")]
    if len(given) > 1:
        return None, [
            invalid("id", "id, checkoutId and token name different checkouts.")
        ]
    checkout = resolve_checkout(given.pop())
    if checkout is None:
        return None, [not_found("id", "The checkout")]
    if not may_use(checkout, requestor(info)):
        return None, [permission_denied("id")]
    return checkout, []
