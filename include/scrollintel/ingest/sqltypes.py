"""Warehouse types and names as SQL: checked type names, casts and quoted identifiers.

:mod:`scrollintel.ingest.types` maps source types to warehouse type names; this module writes
those names, and the columns that hold them, into the SQL the loader and the quarantine run.
A type name is spliced into SQL only after :func:`type_sql` has checked it: a built-in name
(``integer``, ``numeric(12,2)``, ``bit varying(8)``, ``text[]``), or a type the loader created in
the warehouse, spelt ``"schema"."name"`` (:func:`user_type`) and rebuilt with ``sql.Identifier``.
Either may end in ``[]`` (an array of it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from psycopg import sql


class Named(Protocol):
    """A column with a name (``SourceColumn``; this module imports no connector)."""

    @property
    def name(self) -> str: ...


#: PostgreSQL truncates longer identifiers.
MAX_IDENTIFIER = 63
#: SQL over a ``pg_database`` row: its default collation sorts text by code point (C or POSIX, or the
#: builtin provider), as histograms of text are ordered on both sides of a copy of statistics.
SORTS_BY_CODE_POINT = "(datlocprovider = 'b' OR (datlocprovider = 'c' AND datcollate IN ('C', 'POSIX')))"
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_ ]*(\(\d+(,\d+)?\))?(\[\])*")
_USER_TYPE = re.compile(r'"(?P<schema>(?:[^"\x00]|"")+)"\."(?P<name>(?:[^"\x00]|"")+)"(?P<dims>(?:\[\])*)')


def ident(*parts: str) -> sql.Identifier:
    """A quoted, possibly schema-qualified identifier: ``ident("raw", "t")`` is ``"raw"."t"``."""
    from psycopg import sql

    return sql.Identifier(*parts)


def column_list(columns: Iterable[Named]) -> sql.Composable:
    """The columns' quoted names, comma separated."""
    from psycopg import sql

    return sql.SQL(", ").join(ident(col.name) for col in columns)


def user_type(schema: str, name: str) -> str:
    """How a warehouse type column names a type the loader created: ``"schema"."name"``."""
    return ".".join('"{}"'.format(part.replace('"', '""')) for part in (schema, name))


def split_user_type(pg_type: str) -> tuple[str, str, str]:
    """(schema, name, ``[]`` per dimension) of a created type's name (:func:`user_type`); ValueError otherwise."""
    user = _USER_TYPE.fullmatch(pg_type)
    if user is None:
        raise ValueError(f"not a created type's name: {pg_type!r}")
    return user["schema"].replace('""', '"'), user["name"].replace('""', '"'), user["dims"]


def type_sql(pg_type: str) -> sql.Composable:
    """A warehouse type name as SQL, after checking it is a plain or a created type's name (it is spliced in)."""
    from psycopg import sql

    if _TYPE_NAME.fullmatch(pg_type):
        return sql.SQL(pg_type)
    if _USER_TYPE.fullmatch(pg_type) is None:
        raise ValueError(f"not a plain PostgreSQL type name: {pg_type!r}")
    schema, name, dims = split_user_type(pg_type)
    return sql.Composed([sql.Identifier(schema, name), sql.SQL(dims)])


#: Types whose ``=`` is missing (json, xml, point) or says less than "the same value" (box and
#: circle compare areas, path the number of points): two values are the same when their text is.
_NO_EXACT_EQUALITY = frozenset({"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"})


def comparable(alias: str, name: str, pg_type: str) -> sql.Composable:
    """Column ``name`` of row ``alias`` as a merge compares it: itself, or its text when its type's
    ``=`` cannot tell two values apart (see ``_NO_EXACT_EQUALITY``)."""
    from psycopg import sql

    column = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(name))
    if pg_type.removesuffix("[]") in _NO_EXACT_EQUALITY:
        return sql.SQL("{}::text").format(column)
    return column


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
