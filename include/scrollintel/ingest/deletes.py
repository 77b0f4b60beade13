"""Delete detection of incremental database tables: the raw table's keys reconciled with the source's.

A cursor sees inserts and updates, never deletes. When ``delete_detection`` is set on a source
table, a load that finds the last reconcile at least ``every`` old reads every primary key of
the source table (a key-only ``COPY``: a scan of the table or of its primary key index, no
other column), streams them into a temporary table of the warehouse and anti-joins the raw
table with it. What the source no longer has is deleted (``hard``) or marked with
``_deleted_at`` (``soft``; a key found again is unmarked, and the merge unmarks every row a batch
brings back). It runs after the batch is merged, in the load's transaction and under its lock:
the deletes, the load-run row counting them (``deleted_rows``) and the time of the reconcile
in the cursor state commit together or not at all.

The keys are read after the batch: a key in the raw table came from a read of the source, so
one missing from the later key read was deleted in between. A row deleted after the key read
is found by the next reconcile.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from scrollintel.ingest.errors import ResourceConfigError
from scrollintel.ingest.merge import DELETED_AT
from scrollintel.ingest.prefetch import Prefetch
from scrollintel.ingest.sqltypes import ident, parsed
from scrollintel.ingest.stage import PREFETCH_CHUNKS

if TYPE_CHECKING:
    import psycopg

    from scrollintel.ingest.connectors.base import Chunk, Connector, DiscoveredSchema
    from scrollintel.ingest.spec import ResourceSpec

log = logging.getLogger(__name__)

#: The source's keys during a reconcile: a temporary table of text columns, so a key that does not
#: parse as its warehouse type (its row is in quarantine, never in the raw table) cannot fail the load.
SOURCE_KEYS = "_scrollintel_source_keys"


@runtime_checkable
class KeyExtractor(Protocol):
    """Optional connector extension: every primary key of a table as CSV chunks (no other column)."""

    def extract_keys(
        self, resource: str, schema: DiscoveredSchema, primary_key: Sequence[str], *, chunk_rows: int
    ) -> Iterator[Chunk]: ...


def is_due(last: datetime | None, now: datetime, every: timedelta) -> bool:
    """True when no reconcile ran yet or the last one is at least ``every`` old."""
    return last is None or now - last >= every


def reconcile(
    conn: psycopg.Connection[Any],
    connector: Connector,
    spec: ResourceSpec,
    schema: DiscoveredSchema,
    raw: tuple[str, str],
    *,
    run_id: str,
    chunk_rows: int,
) -> int:
    """Delete (``hard``) or mark (``soft``) the rows of ``raw`` whose key the source no longer has.

    Returns the rows deleted or newly marked. Call inside the load's transaction, after its merge.
    """
    from psycopg import sql

    if not isinstance(connector, KeyExtractor):
        raise ResourceConfigError(
            f"governance/sources/{spec.source}.yaml: {spec.source}.{spec.resource}: delete_detection needs a "
            f"connector that can read the table's keys; {type(connector).__name__} cannot. Remove delete_detection."
        )
    keys = [schema.column(name) for name in spec.primary_key]
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            ident(SOURCE_KEYS), sql.SQL(", ").join(sql.SQL("{} text").format(ident(col.name)) for col in keys)
        )
    )
    source_keys = 0
    # the source is read in its own thread while COPY takes the current chunk, as a batch is
    extractor = connector
    prefetch = Prefetch(
        lambda: extractor.extract_keys(spec.resource, schema, spec.primary_key, chunk_rows=chunk_rows),
        depth=PREFETCH_CHUNKS,
        name=f"keys-{spec.table}",
    )
    statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(ident(SOURCE_KEYS))
    with contextlib.closing(prefetch) as chunks, conn.cursor() as cur, cur.copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk.data)
            source_keys += chunk.rows
    conn.execute(sql.SQL("ANALYZE {}").format(ident(SOURCE_KEYS)))
    # unqualified names in the subquery are the source keys' columns (the inner FROM comes first)
    found = sql.SQL("EXISTS (SELECT 1 FROM {} WHERE {})").format(
        ident(SOURCE_KEYS),
        sql.SQL(" AND ").join(
            sql.SQL("t.{} = {}").format(ident(col.name), parsed(col.name, col.pg_type)) for col in keys
        ),
    )
    table = ident(*raw)
    if spec.delete_detection == "hard":
        gone = conn.execute(sql.SQL("DELETE FROM {} AS t WHERE NOT {}").format(table, found)).rowcount
    else:
        ensure_deleted_at(conn, raw)
        marked = sql.SQL("UPDATE {table} AS t SET {col} = {value}, _loaded_at = now(), _run_id = {run} WHERE {where}")
        column, run = ident(DELETED_AT), sql.Literal(run_id)
        gone = conn.execute(
            marked.format(
                table=table,
                col=column,
                value=sql.SQL("now()"),
                run=run,
                where=sql.SQL("t.{} IS NULL AND NOT {}").format(column, found),
            )
        ).rowcount
        unmarked = sql.SQL("t.{} IS NOT NULL AND {}").format(column, found)
        back = conn.execute(
            marked.format(table=table, col=column, value=sql.SQL("NULL"), run=run, where=unmarked)
        ).rowcount
        if back:
            log.info("%s.%s: %d row(s) marked deleted are in the source again: unmarked", *raw, back)
    log.info(
        "%s.%s: %d key(s) in the source; %d row(s) gone from it %s",
        *raw,
        source_keys,
        gone,
        "deleted" if spec.delete_detection == "hard" else f"marked in {DELETED_AT}",
    )
    return int(gone)


def ensure_deleted_at(conn: psycopg.Connection[Any], raw: tuple[str, str]) -> None:
    """Add ``_deleted_at`` to the raw table when it has none (soft mode's first reconcile)."""
    from psycopg import sql

    exists = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped",
        (ident(*raw).as_string(None), DELETED_AT),
    ).fetchone()
    if exists is None:
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} timestamptz").format(ident(*raw), ident(DELETED_AT)))
