"""Helpers shared by the ingestion integration tests and the kill-test worker process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from scrollintel.config.sources import PostgresSource
from scrollintel.db import libpq_url
from scrollintel.ingest.connectors.base import Chunk, Connector, CursorState, DiscoveredSchema, SourceColumn
from scrollintel.ingest.spec import ResourceSpec

#: The thresholds of scrollintel.ingest.loader that pick how a staged batch is applied (the ``strategy`` fixture).
STRATEGIES: dict[str, dict[str, Any]] = {
    "upsert": {},
    "join-rewrite": {"LARGE_BATCH_ROWS": 0, "LARGE_BATCH_FRACTION": 0.0, "REWRITE_FRACTION": 0.0},
    "join-apply": {"LARGE_BATCH_ROWS": 0, "LARGE_BATCH_FRACTION": 0.0, "REWRITE_FRACTION": 1e9},
}


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """psycopg connection in UTC (so timestamps print the same on both sides)."""
    return psycopg.connect(libpq_url(url), options="-c TimeZone=UTC", **kwargs)


def scalar(url: str, query: str, params: Sequence[Any] = ()) -> Any:
    with connect(url) as conn:
        row = conn.execute(query, params or None).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def execute(url: str, *statements: str) -> None:
    with connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def postgres_source(name: str, tables: list[dict[str, Any]], *, policy: str = "freeze", **extra: Any) -> PostgresSource:
    """A PostgresSource config as a YAML file would declare it."""
    return PostgresSource.model_validate(
        {
            "name": name,
            "type": "postgres",
            "connection_id": "postgres_test",
            "schema": "public",
            "owner": "data-platform",
            "schedule": None,
            "retention_class": "operational",
            "schema_policy": policy,
            "tables": tables,
            **extra,
        }
    )


def checksum(url: str, table: str, columns: Sequence[str], key: str) -> tuple[int, str]:
    """(rows, md5 of every row's columns in key order), comparable between source and raw tables."""
    cols = ", ".join(f"coalesce(\"{c}\"::text, '<null>')" for c in columns)
    return tuple(  # type: ignore[return-value]
        connect(url)
        .execute(
            f"SELECT count(*), coalesce(md5(string_agg(concat_ws('|', {cols}), E'\\n' ORDER BY \"{key}\")), '') "
            f"FROM {table}"
        )
        .fetchone()
    )


class CsvConnector(Connector):
    """A connector over given CSV rows: exercises the loader without a source system."""

    def __init__(self, columns: Sequence[tuple[str, str]], rows: Sequence[str], *, lie_about_rows: int = 0) -> None:
        self.schema = DiscoveredSchema(
            resource="items",
            columns=tuple(SourceColumn(name=n, source_type=t, pg_type=t) for n, t in columns),
        )
        self.rows = list(rows)
        self.lie = lie_about_rows

    def discover(self, resource: str) -> DiscoveredSchema:
        return DiscoveredSchema(resource=resource, columns=self.schema.columns)

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        for start in range(0, len(self.rows), chunk_rows):
            part = self.rows[start : start + chunk_rows]
            yield Chunk(data="".join(f"{row}\n" for row in part).encode(), rows=len(part) + self.lie)

    def test_connection(self) -> tuple[bool, str]:
        return True, "in memory"


def csv_spec(
    source: str, *, key: str = "id", cursor: str | None = None, incremental: bool = True, policy: str = "freeze"
) -> ResourceSpec:
    return ResourceSpec(
        source=source,
        resource="items",
        primary_key=(key,),
        cursor=cursor,
        incremental=incremental,
        schema_policy=policy,  # type: ignore[arg-type]
    )
