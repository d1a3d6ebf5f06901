"""Writing many rows' changed fields in one ``WITH v AS (VALUES …) UPDATE … FROM v``.

Django's ``bulk_update`` builds one ``CASE WHEN`` expression per field and
row and resolves each through the ORM; for a batch of renewals that costs
more CPU than the rest of the batch together. This writes the same values,
prepared by each field (``get_db_prep_save``), in one plain statement. On
PostgreSQL the first row's values are cast to the columns' types (a
``VALUES`` list takes its types from them); SQLite (3.33+) needs no casts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

__all__ = ["update_rows"]


def update_rows(
    model: type[models.Model], rows: Sequence[models.Model], field_names: Sequence[str]
) -> int:
    """Write ``field_names`` of ``rows`` (saved instances of ``model``); rows updated."""
    if not rows:
        return 0
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    columns = [pk.column, *(f.column for f in fields)]  # type: ignore[union-attr]
    casts = connection.vendor == "postgresql"
    placeholders = []
    params: list[Any] = []
    for index, row in enumerate(rows):
        values = [pk.get_db_prep_save(row.pk, connection)]
        values += [
            f.get_db_prep_save(getattr(row, f.attname), connection)  # type: ignore[union-attr]
            for f in fields
        ]
        if casts and index == 0:
            types = [pk.db_type(connection), *(f.db_type(connection) for f in fields)]  # type: ignore[union-attr]
            placeholders.append(
                "(" + ", ".join(f"CAST(%s AS {t})" for t in types) + ")"
            )
        else:
            placeholders.append("(" + ", ".join(["%s"] * len(values)) + ")")
        params.extend(values)
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns[1:])
    table = quote(meta.db_table)
    sql = (
        f"WITH v({', '.join(map(quote, columns))}) AS (VALUES {', '.join(placeholders)}) "
        f"UPDATE {table} SET {assignments} FROM v "
        f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)
