"""Set-based writes on PostgreSQL: many rows in one statement, as one JSON parameter.

The sweep inserts its SLA steps' Events with these, and a re-measure updates its
tickets and inserts their Events: no model instances, nothing for the server to parse
per value, several times faster than ``bulk_create``/``bulk_update``."""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as time_of_day
from typing import Any

import orjson
from django.db import connection


def insert_rows(
    model: Any,
    rows: list[dict[str, Any]],
    *,
    returning: tuple[str, ...],
    conflict: tuple[str, ...] = (),
    conflict_where: str = "",
) -> list[tuple[Any, ...]]:
    """PostgreSQL: insert ``rows`` (column → value) with one ``INSERT … SELECT … FROM
    json_to_recordset(…)``, ``ON CONFLICT (conflict) DO NOTHING`` when given;
    returns the ``returning`` columns of the rows inserted.

    A column a row leaves out gets its field's default, as ``bulk_create`` would give
    it (or the database's own, for a ``db_default``). The rows travel as one JSON text
    parameter: no model instances and nothing for the server to parse per value,
    several times faster than ``bulk_create``."""
    quote = connection.ops.quote_name
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.column in rows[0] or not (f.primary_key or f.has_db_default())
    ]
    payload = [
        {f.column: row[f.column] if f.column in row else f.get_default() for f in fields}
        for row in rows
    ]
    columns = ", ".join(quote(f.column) for f in fields)
    selected = ", ".join(f"r.{quote(f.column)}" for f in fields)
    types = ", ".join(f"{quote(f.column)} {_db_type(f)}" for f in fields)
    table = quote(model._meta.db_table)
    # Identifiers only (from the model, quoted); every value is the one JSON parameter,
    # parsed only for the columns given, each as its column's type.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {selected} "  # noqa: S608
        f"FROM json_to_recordset(%s) AS r({types})"
    )
    if conflict:
        # A partial unique index is inferred only when its predicate is repeated.
        where = f" WHERE {conflict_where}" if conflict_where else ""
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}){where} DO NOTHING"
    sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_dumps(payload)])
        return list(cursor.fetchall())


def update_rows(model: Any, rows: list[dict[str, Any]], *, columns: tuple[str, ...]) -> int:
    """PostgreSQL: ``UPDATE … FROM json_to_recordset(…)``: set ``columns`` of each row (a
    dict with ``id`` and those columns) in one statement; returns the rows updated.
    Only the columns named are parsed from the JSON, each as its column's type."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    by_column = {f.column: f for f in model._meta.concrete_fields}
    types = ", ".join(f"{quote(c)} {_db_type(by_column[c])}" for c in ("id", *columns))
    assignments = ", ".join(f"{quote(c)} = r.{quote(c)}" for c in columns)
    sql = (
        f"UPDATE {table} AS t SET {assignments} "  # noqa: S608 - identifiers from the model
        f"FROM json_to_recordset(%s) AS r({types}) WHERE t.id = r.id"
    )
    payload = [{"id": row["id"], **{c: row[c] for c in columns}} for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(sql, [_dumps(payload)])
        return int(cursor.rowcount)


def _db_type(field: Any) -> str:
    """The column's SQL type, as json_to_recordset needs it (an auto key's underlying
    integer type, not its "serial" creation type)."""
    if field.primary_key:
        return str(field.rel_db_type(connection))
    return str(field.db_type(connection))


def _dumps(payload: list[dict[str, Any]]) -> str:
    """One JSON text: orjson writes datetimes as RFC 3339 with their microseconds, which
    PostgreSQL reads back exactly, at a tenth of the standard encoder's cost."""
    return orjson.dumps(payload, default=_json_value).decode()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    return str(value)  # Decimal, UUID, lazy translations …
