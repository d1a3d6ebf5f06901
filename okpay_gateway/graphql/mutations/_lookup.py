"""Finding the row a mutation is about, with the caller's visibility applied."""

from __future__ import annotations

from typing import Any

from ..ids import from_global_id


def find(queryset: Any, type_name: str, value: Any) -> Any:
    """The row whose global ID (or bare pk) is ``value``, or None."""
    pk = from_global_id(value, type_name)
    return None if pk is None else queryset.filter(pk=pk).first()
