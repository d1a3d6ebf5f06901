"""Every GraphQL document of the App is valid against Saleor 3.24's schema."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from okpay_gateway.contrib.saleor_app import documents
from okpay_gateway.contrib.saleor_app.manifest import WEBHOOKS, webhook_definitions
from tests.saleor_app.support import saleor_schema


@pytest.fixture(scope="module")
def required_schema():
    return saleor_schema(required=True)


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_document_validates_against_saleor_schema(required_schema, name):
    """Queries, mutations and webhook subscriptions parse and validate."""
    errors = validate(required_schema, parse(documents.ALL_DOCUMENTS[name]))
    assert [error.message for error in errors] == []


def test_manifest_registers_a_validated_subscription_for_every_webhook(
    required_schema, settings
):
    """Each manifest webhook carries one of the validated subscription documents."""
    settings.OKPAY_SALEOR_APP = {
        "APP_URL": "https://app.example.com/okpay/",
        "ALLOWED_SALEOR_URLS": ["https://shop.example.com/graphql/"],
    }
    definitions = webhook_definitions()
    assert len(definitions) == len(WEBHOOKS)
    for definition in definitions:
        assert not validate(required_schema, parse(definition["query"]))
        event = (definition["syncEvents"] or definition["asyncEvents"])[0]
        assert definition["query"] == documents.SUBSCRIPTIONS[event].strip()


def test_schema_validation_catches_a_wrong_field(required_schema):
    """The check can fail: a field Saleor does not have is reported."""
    errors = validate(required_schema, parse("query Bad { app { id noSuchField } }"))
    assert errors


def test_real_saleor_test_documents_validate(required_schema):
    """The documents the real-Saleor tests send are valid too (checked before Saleor runs)."""
    from tests.saleor.app_support import DOCUMENTS

    assert len(DOCUMENTS) >= 15
    for name, document in DOCUMENTS.items():
        errors = validate(required_schema, parse(document))
        assert [error.message for error in errors] == [], name
