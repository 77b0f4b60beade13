"""Warehouse types and names as SQL: checked type names, casts and quoted identifiers.

:mod:`scrollintel.ingest.types` maps source types to warehouse type names; this module writes
those names, and the columns that hold them, into the SQL the loader and the quarantine run.
A type name is spliced into SQL as it is, so :func:`type_sql` checks it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg import sql

    from scrollintel.ingest.connectors.base import SourceColumn

#: PostgreSQL truncates longer identifiers.
MAX_IDENTIFIER = 63
_TYPE_NAME = re.compile(r"[a-z][a-z0-9 ]*(\(\d+(,\d+)?\))?")


def ident(*parts: str) -> sql.Identifier:
    """A quoted, possibly schema-qualified identifier: ``ident("raw", "t")`` is ``"raw"."t"``."""
    from psycopg import sql

    return sql.Identifier(*parts)


def column_list(columns: Iterable[SourceColumn]) -> sql.Composable:
    """The columns' quoted names, comma separated."""
    from psycopg import sql

    return sql.SQL(", ").join(ident(col.name) for col in columns)


def type_sql(pg_type: str) -> sql.SQL:
    """A warehouse type name as SQL, after checking it is a plain type name (it is spliced in)."""
    from psycopg import sql

    if not _TYPE_NAME.fullmatch(pg_type):
        raise ValueError(f"not a plain PostgreSQL type name: {pg_type!r}")
    return sql.SQL(pg_type)


def cast(name: str, pg_type: str) -> sql.Composable:
    """``"name"::type`` (no cast for text columns)."""
    from psycopg import sql

    column = sql.Identifier(name)
    if pg_type == "text":
        return column
    return sql.SQL("{}::{}").format(column, type_sql(pg_type))


def parsed(name: str, pg_type: str) -> sql.Composable:
    """A text column as its warehouse type, NULL when it does not parse (never an error)."""
    from psycopg import sql

    if pg_type == "text":
        return sql.Identifier(name)
    return sql.SQL("CASE WHEN pg_input_is_valid({0}, {1}) THEN {2} END").format(
        sql.Identifier(name), sql.Literal(pg_type), cast(name, pg_type)
    )
