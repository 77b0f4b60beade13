"""Cursor state of each resource, kept in ``governance.ingest_cursor`` next to the data.

The loader reads the state and writes the new one inside the transaction that merges the
rows, so the cursor can never be ahead of the data (rows lost) nor behind it for long (the
merge makes re-read rows a no-op). Reading takes a row lock (``FOR UPDATE``) in that same
transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrollintel.ingest.connectors.base import CursorState

if TYPE_CHECKING:
    import psycopg

TABLE = "governance.ingest_cursor"


@dataclass(frozen=True)
class StoredState:
    """A resource's cursor state and when and by which run it was written."""

    state: CursorState
    schema_version: int | None
    run_id: str
    batch_id: str
    updated_at: datetime
    reconciled_at: datetime | None = None
    """When delete detection last compared the raw table's keys with the source's (None: never)."""


def read_state(
    conn: psycopg.Connection[Any], source: str, resource: str, *, for_update: bool = False
) -> StoredState | None:
    """The stored state of ``source.resource``, or None before its first successful load."""
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(
        "SELECT cursor_value, token, files, schema_version, run_id, batch_id, updated_at, reconciled_at "
        f"FROM {TABLE} WHERE source = %s AND resource = %s{lock}",
        (source, resource),
    ).fetchone()
    if row is None:
        return None
    value, token, files, version, run_id, batch_id, updated_at, reconciled_at = row
    return StoredState(
        state=CursorState(value=value, token=token, files=dict(files or {})),
        schema_version=version,
        run_id=run_id,
        batch_id=batch_id,
        updated_at=updated_at,
        reconciled_at=reconciled_at,
    )


def write_state(
    conn: psycopg.Connection[Any],
    source: str,
    resource: str,
    state: CursorState,
    *,
    schema_version: int | None,
    run_id: str,
    batch_id: str,
    reconciled_at: datetime | None = None,
) -> None:
    """Insert or replace the state of ``source.resource`` (call inside the load's transaction).

    ``reconciled_at``: this load reconciled the keys (delete detection); None keeps the stored time.
    """
    value = None if state.value is None else str(state.value)
    conn.execute(
        f"INSERT INTO {TABLE} AS c (source, resource, cursor_value, token, files, schema_version, run_id, batch_id, "
        "reconciled_at) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s) "
        "ON CONFLICT (source, resource) DO UPDATE SET cursor_value = EXCLUDED.cursor_value, "
        "token = EXCLUDED.token, files = EXCLUDED.files, schema_version = EXCLUDED.schema_version, "
        "run_id = EXCLUDED.run_id, batch_id = EXCLUDED.batch_id, updated_at = now(), "
        "reconciled_at = coalesce(EXCLUDED.reconciled_at, c.reconciled_at)",
        (
            source,
            resource,
            value,
            state.token,
            json.dumps(dict(state.files)),
            schema_version,
            run_id,
            batch_id,
            reconciled_at,
        ),
    )


def reset_state(conn: psycopg.Connection[Any], source: str, resource: str) -> bool:
    """Forget the cursor of ``source.resource`` (the next load re-reads everything); True when one existed."""
    cur = conn.execute(f"DELETE FROM {TABLE} WHERE source = %s AND resource = %s", (source, resource))
    return cur.rowcount > 0


def list_states(conn: psycopg.Connection[Any], source: str | None = None) -> list[dict[str, Any]]:
    """Every stored state (of one source), for the CLI and the web app."""
    where = "WHERE source = %s " if source else ""
    params: tuple[Any, ...] = (source,) if source else ()
    cur = conn.execute(
        "SELECT source, resource, cursor_value, token, (SELECT count(*) FROM jsonb_object_keys(files)) AS files, "
        f"schema_version, run_id, updated_at, reconciled_at FROM {TABLE} {where}ORDER BY source, resource",
        params,
    )
    names = [col.name for col in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
