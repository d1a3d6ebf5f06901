"""One module per mutation; :mod:`okpay_gateway.graphql.schema` mounts them."""

from __future__ import annotations
