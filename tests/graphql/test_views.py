"""The GraphQL endpoint: methods, bodies, errors and CSRF."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from .support import GRAPHQL_URL

pytestmark = pytest.mark.django_db

ME = "{ me { email } }"


def test_graphql_view_get_is_method_not_allowed(gql):
    """GET is refused with 405 and an Allow header."""
    response = gql.client.get(GRAPHQL_URL, {"query": ME})
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_graphql_view_broken_json_is_bad_request(gql):
    """A body that is not a JSON object is a 400."""
    response = gql.client.post(
        GRAPHQL_URL, data="{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_graphql_view_syntax_error_is_bad_request(gql):
    """A document that does not parse: 400, data null, an error message."""
    response = gql.raw("{ me { email ")
    assert response.status_code == 400
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["message"]


def test_graphql_view_form_body_is_accepted(gql, customer):
    """A form-encoded body with query and variables runs like JSON."""
    gql.login(customer)
    response = gql.client.post(
        GRAPHQL_URL,
        {
            "query": "query ($c: String) { paymentGateways(currency: $c) { id } }",
            "variables": json.dumps({"c": "EUR"}),
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"paymentGateways": []}}


def test_graphql_view_session_without_csrf_token_is_forbidden(okpay, customer):
    """A signed-in browser session must send the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    response = client.post(
        GRAPHQL_URL, data=json.dumps({"query": ME}), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_FAILED"


def test_graphql_view_session_with_csrf_token_runs(okpay, customer):
    """With the CSRF cookie and header the signed-in query runs."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    client.get("/admin/login/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        GRAPHQL_URL,
        data=json.dumps({"query": ME}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"email": "alice@example.com"}}}


def test_graphql_view_anonymous_without_csrf_runs(okpay):
    """Without a session there is nothing to forge: no token needed."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        GRAPHQL_URL, data=json.dumps({"query": ME}), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}
