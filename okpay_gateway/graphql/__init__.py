"""GraphQL surface of okpay_gateway (graphene 2.1.9 and 3.x).

* :mod:`.schema`: ``OkPayQuery``/``OkPayMutation`` (OKPAY's own fields) and
  ``CheckoutQuery``/``CheckoutMutation`` (the Saleor-compatible checkout
  subset for the standalone host), mixins a host composes into its schema,
  and ``schema``, the ready schema for our host.
* :mod:`.views` / :mod:`.urls`: a JSON-over-POST endpoint for a schema.
* :mod:`.checkout`: the host-side checkout contract (``CheckoutInfo`` and the
  ``OKPAY_GRAPHQL_CHECKOUT_RESOLVER`` setting).
* :mod:`.compat`: every graphene 2/3 difference.

Importing this package needs graphene (the ``graphql`` extra); the core never
imports it.
"""

from __future__ import annotations
