"""Template tags for storefronts: ``{% load okpay_gateway %}``.

``{% okpay_checkout_button checkout action=url %}`` renders the OKPAY button
as a plain form (it works without JavaScript: the form posts to ``action``,
where the shop runs ``checkoutComplete`` server-side). With ``graphql_url``
set, ``okpay_gateway/js/checkout.js`` takes over the click: it calls the
``checkoutComplete`` mutation and follows ``confirmationData`` to OKPAY.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

DEFAULT_LABEL = "Pay with OKPAY"
# The plugin's PLUGIN_ID (frozen at the first release); spelled out because the
# core app must not import okpay_gateway.contrib.
DEFAULT_GATEWAY = "okpay_gateway.payments.okpay"


def _token_of(checkout: Any) -> str:
    if checkout is None:
        return ""
    if isinstance(checkout, str):
        return checkout
    token = getattr(checkout, "token", None)
    if token is None and isinstance(checkout, dict):
        token = checkout.get("token")
    return "" if token is None else str(token)


@register.inclusion_tag(
    "okpay_gateway/storefront/okpay_button.html", takes_context=True
)
def okpay_checkout_button(
    context: template.Context,
    checkout: Any,
    action: str = "",
    graphql_url: str = "",
    gateway: str = DEFAULT_GATEWAY,
    label: str = DEFAULT_LABEL,
    return_url: str = "",
) -> dict[str, Any]:
    """The OKPAY checkout button for ``checkout`` (an object with a ``token``)."""
    request = context.get("request")
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "checkout_token": _token_of(checkout),
        "action": action,
        "graphql_url": graphql_url,
        "gateway": gateway or DEFAULT_GATEWAY,
        "label": label or DEFAULT_LABEL,
        "return_url": return_url,
    }
