"""The suppression list: keys of erased subjects that ingestion must not load again.

An erasure writes, for each raw table it deleted or redacted rows of, the SHA-256 of the key
values of those rows (subject key, identity columns, linked keys, the row's own primary key) into
``governance.subject_suppression``. The loader calls :func:`drop_suppressed` on each staged batch
before merging it: a staged row whose value in a listed column hashes to a listed value is
removed from the stage, so the source system, which still holds the subject until someone erases
them there, cannot bring them back. Neither function logs or returns a value.

Kept free of the other compliance modules: the ingest loader imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrollintel.warehouse import GOVERNANCE_SCHEMA

if TYPE_CHECKING:
    import psycopg

TABLE = "subject_suppression"
#: SQL of the suppression form of a value (text) held in ``{}``.
HASH_SQL = "encode(sha256(convert_to(CAST({} AS text), 'UTF8')), 'hex')"


def suppressed_columns(conn: psycopg.Connection[Any], source: str, resource: str) -> list[str]:
    """The columns of ``source``/``resource`` with suppressed values (empty before migration 0014)."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{GOVERNANCE_SCHEMA}.{TABLE}",)).fetchone()
    if not found or found[0] is None:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT column_name FROM {GOVERNANCE_SCHEMA}.{TABLE} WHERE source = %s AND resource = %s "
        "ORDER BY column_name",
        (source, resource),
    ).fetchall()
    return [str(row[0]) for row in rows]


def drop_suppressed(
    conn: psycopg.Connection[Any], stage: tuple[str, str], source: str, resource: str, columns: Iterable[str]
) -> int:
    """Delete the staged rows of suppressed subjects from ``stage`` (schema, table); returns how many."""
    from psycopg import sql

    present = set(columns)
    listed = [column for column in suppressed_columns(conn, source, resource) if column in present]
    if not listed:
        return 0
    matches = sql.SQL(" OR ").join(
        sql.SQL(
            HASH_SQL + " IN (SELECT value_sha256 FROM {} WHERE source = {} AND resource = {} AND column_name = {})"
        ).format(
            sql.SQL("s.") + sql.Identifier(column),
            sql.Identifier(GOVERNANCE_SCHEMA, TABLE),
            sql.Literal(source),
            sql.Literal(resource),
            sql.Literal(column),
        )
        for column in listed
    )
    done = conn.execute(sql.SQL("DELETE FROM {} AS s WHERE {}").format(sql.Identifier(*stage), matches))
    return max(done.rowcount, 0)
