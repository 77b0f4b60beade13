"""Child process of the kill test: one load of ``kill_src``, real or deliberately naive.

Prints ``ready`` once imported, waits for a line on stdin, loads, prints ``done``. The test
SIGKILLs it at a random moment in between.

Usage: python -m tests.integration.ingest.kill_worker (real|naive) SOURCE_URL WAREHOUSE_URL RUN_ID
"""

from __future__ import annotations

import sys

from scrollintel.ingest.connectors.base import CursorState
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.loader import ResourceSpec, connect_warehouse, libpq_url, load_resource
from scrollintel.ingest.quarantine import cast
from scrollintel.ingest.state import read_state, write_state
from tests.integration.ingest.helpers import postgres_source

TABLE = "kill_src"
CHUNK_ROWS = 1000


def spec_and_connector(source_url: str) -> tuple[ResourceSpec, PostgresConnector]:
    source = postgres_source("kill", [{"name": TABLE, "primary_key": ["id"], "cursor": "updated_at"}])
    return ResourceSpec.from_config(source, TABLE), PostgresConnector(source, source_url)


def real_load(source_url: str, warehouse_url: str, run_id: str) -> None:
    spec, connector = spec_and_connector(source_url)
    load_resource(connector, spec, warehouse_url, run_id=run_id, chunk_rows=CHUNK_ROWS, audit=False)


def naive_load(source_url: str, warehouse_url: str, run_id: str) -> None:
    """What not to do: commit the new cursor first, then the rows one chunk (transaction) at a time."""
    import psycopg
    from psycopg import sql

    spec, connector = spec_and_connector(source_url)
    schema = connector.discover(TABLE)
    table = sql.Identifier("raw", spec.table)
    columns = sql.SQL(", ").join(sql.Identifier(col.name) for col in schema.columns)
    with connect_warehouse(warehouse_url) as conn:
        conn.autocommit = True
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ({}, _loaded_at timestamptz DEFAULT now(), _run_id text, "
                "PRIMARY KEY (id))"
            ).format(
                table,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in schema.columns
                ),
            )
        )
        stored = read_state(conn, spec.source, spec.resource)
        before = stored.state if stored else CursorState()
        with psycopg.connect(libpq_url(source_url), options="-c TimeZone=UTC") as src:
            newest = src.execute(f"SELECT max(updated_at)::text FROM {TABLE}").fetchone()[0]
        write_state(
            conn,
            spec.source,
            spec.resource,
            CursorState(value=newest),
            schema_version=None,
            run_id=run_id,
            batch_id="naive",
        )
        updates = sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c.name)) for c in schema.columns if c.name != "id"
        )
        for chunk in connector.extract(TABLE, schema, before, chunk_rows=CHUNK_ROWS):
            with conn.transaction():
                conn.execute(
                    sql.SQL("CREATE TEMP TABLE chunk ({}) ON COMMIT DROP").format(
                        sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c.name)) for c in schema.columns)
                    )
                )
                with conn.cursor().copy("COPY chunk FROM STDIN (FORMAT csv)") as copy:
                    copy.write(chunk.data)
                conn.execute(
                    sql.SQL("INSERT INTO {} ({}) SELECT {} FROM chunk ON CONFLICT (id) DO UPDATE SET {}").format(
                        table, columns, sql.SQL(", ").join(cast(c.name, c.pg_type) for c in schema.columns), updates
                    )
                )


def main(argv: list[str]) -> int:
    mode, source_url, warehouse_url, run_id = argv
    load = real_load if mode == "real" else naive_load
    print("ready", flush=True)
    sys.stdin.readline()
    load(source_url, warehouse_url, run_id)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
