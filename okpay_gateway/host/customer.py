"""Gateway customer ids in user private metadata (``saleor/payment/utils.py``).

The key is ``"<GATEWAY upper>.customer_id"``. A user object that carries
``private_metadata`` itself (Saleor's ``User``, or a ``CustomerMetadata``) is
used directly; any other Django user gets a :class:`CustomerMetadata` row.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction


def prepare_key_for_gateway_customer_id(gateway_name: str) -> str:
    return gateway_name.strip().upper() + ".customer_id"


def fetch_customer_id(user: Any, gateway: str) -> str | None:
    """The gateway's customer id for ``user``, or ``None``."""
    if not user or not getattr(user, "is_authenticated", True):
        return None
    meta_key = prepare_key_for_gateway_customer_id(gateway)
    if hasattr(user, "private_metadata"):
        return (user.private_metadata or {}).get(meta_key)
    from .models import CustomerMetadata

    metadata = CustomerMetadata.objects.filter(user=user).first()
    return metadata.get_value_from_private_metadata(meta_key) if metadata else None


def store_customer_id(user: Any, gateway: str, customer_id: str) -> None:
    """Remember the gateway's customer id on ``user`` and save it."""
    meta_key = prepare_key_for_gateway_customer_id(gateway)
    if hasattr(user, "private_metadata"):
        _store_on_object(user, {meta_key: customer_id})
        return
    from .models import CustomerMetadata

    # Lock the row: two gateways storing at once must not drop each other's key.
    with transaction.atomic():
        CustomerMetadata.objects.get_or_create(user=user)
        metadata = CustomerMetadata.objects.select_for_update().get(user=user)
        metadata.store_value_in_private_metadata({meta_key: customer_id})
        metadata.save(update_fields=["private_metadata", "updated_at"])


def _store_on_object(obj: Any, items: dict[str, Any]) -> None:
    if hasattr(obj, "store_value_in_private_metadata"):
        obj.store_value_in_private_metadata(items=items)
    else:
        obj.private_metadata = {**(obj.private_metadata or {}), **items}
    update_fields = ["private_metadata"]
    if hasattr(obj, "updated_at"):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)
