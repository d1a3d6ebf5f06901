"""The printed schema is the committed snapshot, under graphene 2 and 3 alike.

Regenerate after an intended change with
``OKPAY_UPDATE_SCHEMA=1 python -m pytest tests/graphql/test_schema.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from okpay_gateway.graphql.compat import print_schema
from okpay_gateway.graphql.schema import schema

SNAPSHOT = Path(__file__).with_name("schema.graphql")


def test_schema_printed_matches_committed_snapshot():
    """The schema printed from introspection equals tests/graphql/schema.graphql."""
    printed = print_schema(schema)
    if os.environ.get("OKPAY_UPDATE_SCHEMA"):
        SNAPSHOT.write_text(printed, encoding="utf-8")
    assert printed == SNAPSHOT.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "line",
    [
        "  okpayContracts(filter: OkPayContractFilterInput, first: Int = 50, offset: Int = 0): [OkPayContract!]",
        "  confirmationData: JSONString",
        "  amount: OkPayDecimal!",
        "  storedPaymentSources(",
    ],
)
def test_schema_snapshot_contains_public_field_line(line):
    """Key public fields keep their exact signatures (money is never a Float)."""
    printed = print_schema(schema)
    assert line in printed.splitlines()
    assert "Float" not in printed


def test_okpay_mixins_compose_into_a_host_schema(db):
    """A host adds OkPayQuery/OkPayMutation to its own root types and keeps its fields."""
    import graphene

    from okpay_gateway.graphql.compat import execute
    from okpay_gateway.graphql.schema import OkPayMutation, OkPayQuery

    class Query(OkPayQuery, graphene.ObjectType):
        shop_name = graphene.String()

        @staticmethod
        def resolve_shop_name(root, info):
            return "Example Shop"

    class Mutation(OkPayMutation, graphene.ObjectType):
        pass

    host_schema = graphene.Schema(query=Query, mutation=Mutation)
    printed = print_schema(host_schema)
    assert "  shopName: String" in printed.splitlines()
    assert "checkoutComplete" not in printed
    assert execute(host_schema, "{ shopName }").data == {"shopName": "Example Shop"}
