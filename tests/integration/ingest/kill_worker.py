"""Child process of the kill tests: one load of a source's resources, real or deliberately naive.

Prints ``ready`` once imported (the modules a load imports lazily included), waits for a line
on stdin, loads, prints ``done``. The test SIGKILLs it in between: after a delay, or when it
reaches ``STOP_AT``, where it prints ``at STOP_AT`` and waits to be killed:

- ``chunk``: the loader has taken the first chunk (extraction paused before the second);
- ``staged``: the loader has taken every chunk of the first resource (before the merge or
  partition swap, the cursor write and the commit);
- ``committed``: the first resource's load has returned (committed; before the next resource
  or ``done``).

Usage: python -m tests.integration.ingest.kill_worker SOURCE_TYPE (real|naive) ADDRESS WAREHOUSE_URL RUN_ID [STOP_AT]

``SOURCE_TYPE`` is ``postgres`` (``ADDRESS``: the source database URL), ``mysql``, ``rest`` or
``files`` (``ADDRESS``: a JSON object, see :func:`resources`). Airflow is not imported here
(seconds per trial): connectors get a stand-in with the attributes of an Airflow connection.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrollintel.config.sources import FilesSource, MysqlSource, RestSource
from scrollintel.db import libpq_url
from scrollintel.ingest.connectors.base import Connector, CursorState
from scrollintel.ingest.loader import connect_warehouse, load_resource
from scrollintel.ingest.spec import ResourceSpec
from scrollintel.ingest.sqltypes import cast
from scrollintel.ingest.state import read_state, write_state
from tests.integration.ingest.helpers import postgres_source

#: Database sources: the table; REST: the endpoint; files: one resource per format.
TABLE = "kill_src"
ENDPOINT = "events"
FILE_RESOURCES = ("csv_items", "parquet_items")
CHUNK_ROWS = 1000
#: Rows per chunk for the small sources (a few thousand rows, so kills land between chunks).
SMALL_CHUNK_ROWS = 100
#: Files load fastest: smaller chunks still, so a load lasts long enough to be killed in.
FILES_CHUNK_ROWS = 50
SOURCE_NAME = "kill"
_COMMON = {
    "owner": "data-platform",
    "schedule": None,
    "retention_class": "operational",
}


@dataclass(frozen=True)
class StandInConnection:
    """The attributes of an Airflow connection the connectors read (importing Airflow takes seconds)."""

    conn_id: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra_dejson: Mapping[str, Any] = field(default_factory=dict)


def resources(source_type: str, address: str) -> tuple[int, list[tuple[ResourceSpec, Connector]]]:
    """(chunk rows, [(spec, connector)]) of the source the kill test loads, in load order."""
    if source_type == "postgres":
        from scrollintel.ingest.connectors.postgres import PostgresConnector

        source = postgres_source(SOURCE_NAME, [{"name": TABLE, "primary_key": ["id"], "cursor": "updated_at"}])
        return CHUNK_ROWS, [(ResourceSpec.from_config(source, TABLE), PostgresConnector(source, address))]
    where = json.loads(address)
    if source_type == "mysql":
        from scrollintel.ingest.connectors.mysql import MysqlConnector

        mysql = MysqlSource.model_validate(
            {
                "name": SOURCE_NAME,
                "type": "mysql",
                "connection_id": "mysql_test",
                "schema_policy": "freeze",
                "schema": where["database"],
                "tables": [{"name": TABLE, "primary_key": ["id"], "cursor": "updated_at"}],
                **_COMMON,
            }
        )
        conn = StandInConnection(
            "mysql_test", host=where["host"], port=where["port"], login=where["user"], password=where["password"]
        )
        return SMALL_CHUNK_ROWS, [(ResourceSpec.from_config(mysql, TABLE), MysqlConnector(mysql, conn))]  # type: ignore[arg-type]
    if source_type == "rest":
        from scrollintel.ingest.connectors.rest import RestConnector

        rest = RestSource.model_validate(
            {
                "name": SOURCE_NAME,
                "type": "rest",
                "connection_id": "http_marketing",
                "schema_policy": "freeze",
                "endpoints": [
                    {
                        "name": ENDPOINT,
                        "path": "/v1/events",
                        "primary_key": ["event_id"],
                        "records_path": "data",
                        "cursor_param": "cursor",
                        "next_cursor_field": "next_cursor",
                        "page_size": where["page_size"],
                        "page_size_param": "limit",
                    }
                ],
                **_COMMON,
            }
        )
        conn = StandInConnection("http_marketing", host=where["base_url"], password=where["key"])
        return SMALL_CHUNK_ROWS, [(ResourceSpec.from_config(rest, ENDPOINT), RestConnector(rest, conn))]  # type: ignore[arg-type]
    if source_type == "files":
        from scrollintel.ingest.connectors.files import FilesConnector

        files = FilesSource.model_validate(
            {
                "name": SOURCE_NAME,
                "type": "files",
                "connection_id": "fs_object_store",
                "schema_policy": "freeze",
                "files": [
                    {"name": name, "path": f"{fmt}/*.{fmt}", "format": fmt, "storage": "local", "primary_key": ["id"]}
                    for name, fmt in zip(FILE_RESOURCES, ("csv", "parquet"), strict=True)
                ],
                **_COMMON,
            }
        )
        conn = StandInConnection("fs_object_store", extra_dejson={"path": where["root"]})
        connector = FilesConnector(files, conn)  # type: ignore[arg-type]
        return FILES_CHUNK_ROWS, [(ResourceSpec.from_config(files, name), connector) for name in FILE_RESOURCES]
    raise ValueError(f"no kill-test source of type {source_type!r}")


STOPS = ("chunk", "staged", "committed")


def _stop(at: str) -> None:
    """Say where the load is and wait here until the test kills this process."""
    import threading

    print(f"at {at}", flush=True)
    threading.Event().wait()


def _stopping(connector: Connector, stop_at: str | None) -> Connector:
    """``connector`` with its extraction pausing at ``stop_at`` (``chunk`` or ``staged``), first resource only.

    The extract generator runs in the loader's read-ahead thread: a pause there stops the
    stream while the loader's transaction stays open, as a kill would find it.
    """
    if stop_at not in ("chunk", "staged"):
        return connector
    for name in ("extract", "extract_binary"):
        original = getattr(connector, name, None)
        if original is None:
            continue

        def paused(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            for number, chunk in enumerate(_original(*args, **kwargs), start=1):
                yield chunk
                if stop_at == "chunk" and number == 1:
                    _stop("chunk")
            if stop_at == "staged":
                _stop("staged")

        setattr(connector, name, paused)
    return connector


def real_load(source_type: str, address: str, warehouse_url: str, run_id: str, stop_at: str | None = None) -> None:
    """Every resource through the loader (one transaction each)."""
    chunk_rows, loads = resources(source_type, address)
    for spec, connector in loads:
        load_resource(
            _stopping(connector, stop_at), spec, warehouse_url, run_id=run_id, chunk_rows=chunk_rows, audit=False
        )
        if stop_at == "committed":
            _stop("committed")


def _newest_state(source_type: str, address: str, spec: ResourceSpec, connector: Connector) -> CursorState:
    """Where the source ends now, read up front by the naive loader."""
    if source_type == "postgres":
        import psycopg

        with psycopg.connect(libpq_url(address), options="-c TimeZone=UTC") as src:
            return CursorState(value=src.execute(f"SELECT max(updated_at)::text FROM {TABLE}").fetchone()[0])  # type: ignore[index]
    if source_type == "mysql":
        session = connector.connect()  # type: ignore[attr-defined]
        try:
            with session.cursor() as cursor:
                cursor.execute(f"SELECT CAST(max(updated_at) AS CHAR) FROM {TABLE}")
                return CursorState(value=cursor.fetchone()[0])
        finally:
            session.close()
    if source_type == "files":
        listed = connector.list_files(spec.resource)  # type: ignore[attr-defined]
        return CursorState(files={file.path: file.fingerprint for file in listed})
    raise ValueError(f"no naive loader for source type {source_type!r}")


def naive_load(source_type: str, address: str, warehouse_url: str, run_id: str, stop_at: str | None = None) -> None:
    """What not to do: commit the new cursor (or file list) first, then the rows one chunk (transaction) at a time."""
    from psycopg import sql

    chunk_rows, loads = resources(source_type, address)
    for spec, plain in loads:
        connector = _stopping(plain, stop_at)
        schema = connector.discover(spec.resource)
        table = sql.Identifier("raw", spec.table)
        columns = sql.SQL(", ").join(sql.Identifier(col.name) for col in schema.columns)
        keys = sql.SQL(", ").join(sql.Identifier(name) for name in spec.primary_key)
        with connect_warehouse(warehouse_url) as conn:
            conn.autocommit = True
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ({}, _loaded_at timestamptz DEFAULT now(), _run_id text, "
                    "PRIMARY KEY ({}))"
                ).format(
                    table,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in schema.columns
                    ),
                    keys,
                )
            )
            stored = read_state(conn, spec.source, spec.resource)
            before = stored.state if stored else CursorState()
            write_state(
                conn,
                spec.source,
                spec.resource,
                _newest_state(source_type, address, spec, connector),
                schema_version=None,
                run_id=run_id,
                batch_id="naive",
            )
            updates = sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c.name))
                for c in schema.columns
                if c.name not in spec.primary_key
            )
            for chunk in connector.extract(spec.resource, schema, before, chunk_rows=chunk_rows):
                with conn.transaction():
                    conn.execute(
                        sql.SQL("CREATE TEMP TABLE chunk ({}) ON COMMIT DROP").format(
                            sql.SQL(", ").join(
                                sql.SQL("{} text").format(sql.Identifier(c.name)) for c in schema.columns
                            )
                        )
                    )
                    with conn.cursor().copy("COPY chunk FROM STDIN (FORMAT csv)") as copy:
                        copy.write(chunk.data)
                    conn.execute(
                        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM chunk ON CONFLICT ({}) DO UPDATE SET {}").format(
                            table,
                            columns,
                            sql.SQL(", ").join(cast(c.name, c.pg_type) for c in schema.columns),
                            keys,
                            updates,
                        )
                    )
        if stop_at == "committed":
            _stop("committed")


def warm_up() -> None:
    """Import what a load imports lazily, so the kill window is the load itself, not module imports."""
    import importlib

    for name in ("psycopg", "psycopg.sql", "pyarrow", "pyarrow.csv", "pyarrow.parquet", "pymysql", "httpx"):
        importlib.import_module(name)


def main(argv: list[str]) -> int:
    source_type, mode, address, warehouse_url, run_id, *rest = argv
    stop_at = rest[0] if rest else None
    if stop_at is not None and stop_at not in STOPS:
        raise SystemExit(f"STOP_AT must be one of {STOPS}, got {stop_at!r}")
    load = real_load if mode == "real" else naive_load
    warm_up()
    print("ready", flush=True)
    sys.stdin.readline()
    load(source_type, address, warehouse_url, run_id, stop_at)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
