"""Enums of PostgreSQL sources, created in the warehouse so enum columns keep their type.

A source enum ``<schema>.<type>`` becomes ``raw_types."<source>__<type>"``
(:func:`scrollintel.ingest.types.warehouse_enum`), with the source's labels in the source's
order. A label added at the source is added to the warehouse enum at its place (``ADD VALUE
... BEFORE`` the next label the warehouse has, else at the end); a label the source no longer
has stays in the warehouse (rows may hold it). The schema registry records the
change of labels as drift (``relabelled``).

:func:`ensure_enums` runs in its own transaction before the load's: PostgreSQL refuses a label
added in a transaction to be used in that transaction, and a label added without a load is
harmless (every value the raw table holds stays valid).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrollintel.ingest.errors import IngestError
from scrollintel.ingest.sqltypes import split_user_type, type_sql, user_type

if TYPE_CHECKING:
    import psycopg

    from scrollintel.ingest.connectors.base import SourceColumn


def ensure_enums(conn: psycopg.Connection[Any], columns: Iterable[SourceColumn]) -> None:
    """Create the warehouse enums the columns use, or add the labels they miss (the caller commits)."""
    wanted: dict[str, tuple[str, ...]] = {}
    for col in columns:
        if col.labels:
            schema, name, _ = split_user_type(col.pg_type)  # the enum, or the enum of an array
            wanted[user_type(schema, name)] = col.labels
    for pg_type, labels in wanted.items():
        _ensure_enum(conn, pg_type, labels)


def _ensure_enum(conn: psycopg.Connection[Any], pg_type: str, labels: tuple[str, ...]) -> None:
    from psycopg import sql

    # one load at a time creates or extends a given enum (two resources may share it)
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"scrollintel.ingest.enum:{pg_type}",))
    row = conn.execute("SELECT t.oid, t.typtype FROM pg_type t WHERE t.oid = to_regtype(%s)", (pg_type,)).fetchone()
    name = type_sql(pg_type)
    if row is None:
        conn.execute(sql.SQL("CREATE TYPE {} AS ENUM ({})").format(name, sql.SQL(", ").join(map(sql.Literal, labels))))
        return
    if row[1] != "e":
        schema, type_name, _ = split_user_type(pg_type)
        raise IngestError(f"{schema}.{type_name} exists in the warehouse and is not an enum; it was created by hand")
    existing = [
        label
        for (label,) in conn.execute(
            "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = %s ORDER BY enumsortorder", (row[0],)
        ).fetchall()
    ]
    for index, label in enumerate(labels):
        if label in existing:
            continue
        following = next((later for later in labels[index + 1 :] if later in existing), None)
        # at its place before the next label the warehouse has, else at the end
        place = sql.SQL(" BEFORE {}").format(sql.Literal(following)) if following is not None else sql.SQL("")
        conn.execute(sql.SQL("ALTER TYPE {} ADD VALUE {}{}").format(name, sql.Literal(label), place))
        existing.append(label)
