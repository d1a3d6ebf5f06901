"""Global object IDs in Saleor's form: base64 of ``"<Type>:<pk>"``.

``User:<pk>`` is what the OKPAY plugin reads from
``PaymentData.graphql_customer_id``. Lookups also take a bare primary key,
which is handy for server-rendered pages that know only the row.
"""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, pk: object) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(value: str | None, type_name: str) -> int | None:
    """The primary key in ``value`` when it names a ``type_name``; else None."""
    text = str(value or "").strip()
    if text.isdigit():
        return int(text)
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        kind, _, pk = decoded.decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(pk) if kind == type_name and pk.isdigit() else None
