"""``{% okpay_checkout_button %}``: an accessible form that works without JavaScript."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

from django.template import Context, Template
from django.test import RequestFactory

TEMPLATE = Template(
    "{% load okpay_gateway %}"
    "{% okpay_checkout_button checkout action=action graphql_url=graphql_url "
    "return_url=return_url %}"
)


def _render(**context) -> str:
    request = RequestFactory().get("/")
    return TEMPLATE.render(Context({"request": request, **context}))


def test_button_tag_without_graphql_renders_plain_post_form():
    """The form posts to the shop's action with the CSRF token and carries the checkout token."""
    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    html = _render(
        checkout=SimpleNamespace(token=token),
        action="/orders/x/pay/",
        graphql_url="",
        return_url="",
        csrf_token="csrf-value",
    )
    form = re.search(r"<form[^>]*>", html, re.S).group(0)
    assert 'method="post"' in form
    assert 'action="/orders/x/pay/"' in form
    assert f'data-okpay-checkout-token="{token}"' in form
    assert 'data-okpay-gateway="okpay_gateway.payments.okpay"' in form
    assert "data-okpay-graphql-url" not in form
    assert '<input type="hidden" name="csrfmiddlewaretoken" value="csrf-value">' in html


def test_button_tag_is_a_labelled_button_with_image_alt_text():
    """A real <button> (keyboard-operable) whose image has alt text, plus a live status region."""
    html = _render(
        checkout={"token": "abc"},
        action="/pay/",
        graphql_url="/graphql/",
        return_url="http://127.0.0.1:8000/orders/abc/",
    )
    assert re.search(
        r'<button type="submit" class="okpay-button" title="Pay with OKPAY[^"]*">', html
    )
    assert re.search(
        r'<img src="/static/okpay_gateway/img/okpay-button\.svg" alt="Pay with OKPAY"',
        html,
    )
    assert 'role="status" aria-live="polite"' in html
    assert 'data-okpay-graphql-url="/graphql/"' in html
    assert 'data-okpay-return-url="http://127.0.0.1:8000/orders/abc/"' in html
    assert 'data-okpay-checkout-token="abc"' in html
