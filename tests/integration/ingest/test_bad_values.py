"""Values the warehouse cannot store go to quarantine with their reason; the other rows land.

PostgreSQL text holds neither NUL nor bytes that are not UTF-8, and jsonb cannot hold the JSON
escape ``\\u0000``: one such value used to fail the whole chunk's COPY, the table was read
twice and the load died, every run, until the source changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from scrollintel.config.sources import RestSource
from scrollintel.ingest.connectors.base import Chunk, CursorState, DiscoveredSchema
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.connectors.rest import RestConnector
from scrollintel.ingest.errors import LoadInterrupted
from scrollintel.ingest.loader import load_resource
from scrollintel.ingest.spec import ResourceSpec
from tests.integration.ingest.connectors.conftest import make_connection, serve
from tests.integration.ingest.helpers import CsvConnector, csv_spec, execute, postgres_source, scalar

pytestmark = pytest.mark.integration

RECORDS = [
    {"id": 1, "note": "plain", "doc": {"k": 1}},
    {"id": 2, "note": "nul \u0000 inside", "doc": {"k": 2}},
    {"id": 3, "note": "json nul", "doc": {"k": "a\u0000b"}},
    {"id": 4, "note": "back\\slash", "doc": {"k": 4}},
]


def quarantine(url: str, table: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(reason, detail, raw_row) of every quarantined row, by id."""
    from tests.integration.ingest.helpers import connect

    with connect(url) as conn:
        rows = conn.execute(f"SELECT reason, detail, raw_row FROM raw_quarantine.{table} ORDER BY raw_row->>'id'")
        return [(reason, detail, raw) for reason, detail, raw in rows.fetchall()]


def test_rest_values_postgres_cannot_hold_are_quarantined_and_the_rest_lands(warehouse: str) -> None:
    app = FastAPI()

    @app.get("/v1/items")
    def items() -> dict[str, Any]:
        return {"data": RECORDS}

    source = RestSource.model_validate(
        {
            "name": "badrest",
            "type": "rest",
            "connection_id": "http_bad",
            "owner": "data-platform",
            "schedule": None,
            "retention_class": "operational",
            "schema_policy": "freeze",
            "endpoints": [{"name": "items", "path": "/v1/items", "primary_key": ["id"], "records_path": "data"}],
        }
    )
    spec = ResourceSpec.from_config(source, "items")
    with serve(app) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = make_connection("http_bad", "http", host=host, port=int(port), schema="http")
        for run in ("first", "again"):
            result = load_resource(RestConnector(source, conn), spec, warehouse, run_id=run)
            assert (result.source_rows, result.loaded_rows, result.quarantined_rows) == (4, 2, 2), run
    assert scalar(warehouse, "SELECT string_agg(id::text, ',' ORDER BY id) FROM raw.badrest__items") == "1,4"
    assert scalar(warehouse, "SELECT note FROM raw.badrest__items WHERE id = 4") == "back\\slash"
    (nul_text, nul_json) = quarantine(warehouse, "badrest__items")  # the replay added nothing
    assert nul_text[0] == "note: text cannot hold a NUL character"
    assert nul_text[2]["note"] == "nul \\x00 inside"
    assert nul_json[0] == "doc: not a valid jsonb"
    assert "Unicode escape" in nul_json[1]
    assert json.loads(nul_json[2]["doc"]) == {"k": "a\u0000b"}


class BytesConnector(CsvConnector):
    """Chunk CSV given as bytes: what a file or API may hand over that is not UTF-8."""

    def __init__(self, columns: list[tuple[str, str]], rows: list[bytes]) -> None:
        super().__init__(columns, [])
        self.raw_rows = rows

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        for start in range(0, len(self.raw_rows), chunk_rows):
            part = self.raw_rows[start : start + chunk_rows]
            yield Chunk(data=b"".join(row + b"\n" for row in part), rows=len(part))


COLUMNS = [("id", "bigint"), ("note", "text"), ("updated_at", "timestamptz")]


@pytest.mark.parametrize("chunk_rows", [2, 100])
def test_unstorable_bytes_are_quarantined_escaped_and_the_cursor_moves_once(warehouse: str, chunk_rows: int) -> None:
    first = [
        b'1,"ok",2026-01-01 00:00+00',
        b'2,"bad \xff byte",2026-01-02 00:00+00',
        b'3,"multi\nline \x00 nul",2026-01-03 00:00+00',
        b'4,"fine ""quoted""",2026-01-04 00:00+00',
    ]
    spec = csv_spec("bytes", cursor="updated_at")
    result = load_resource(BytesConnector(COLUMNS, first), spec, warehouse, run_id="r1", chunk_rows=chunk_rows)
    assert (result.loaded_rows, result.quarantined_rows) == (2, 2)
    assert result.cursor_after == "2026-01-04 00:00:00+00"
    # what the source returns from the cursor on (it re-reads the last value)
    later = [first[3], b'5,"\\ and \xc3\x28 again",2026-01-05 00:00+00', b"6,,2026-01-06 00:00+00"]
    result = load_resource(BytesConnector(COLUMNS, later), spec, warehouse, run_id="r2", chunk_rows=chunk_rows)
    assert result.mode == "incremental"
    assert (result.source_rows, result.quarantined_rows) == (3, 1)
    assert result.cursor_after == "2026-01-06 00:00:00+00"
    assert scalar(warehouse, "SELECT string_agg(id::text, ',' ORDER BY id) FROM raw.bytes__items") == "1,4,6"
    assert scalar(warehouse, "SELECT note FROM raw.bytes__items WHERE id = 4") == 'fine "quoted"'
    rows = quarantine(warehouse, "bytes__items")
    assert [(reason, raw["note"]) for reason, _, raw in rows] == [
        ("note: text cannot hold bytes that are not UTF-8", "bad \\xff byte"),
        ("note: text cannot hold a NUL character", "multi\nline \\x00 nul"),
        ("note: text cannot hold bytes that are not UTF-8", "\\\\ and \\xc3( again"),
    ]
    assert all(raw["updated_at"] for _, _, raw in rows)
    assert scalar(warehouse, "SELECT count(*) FROM governance.ingest_load_run WHERE status = 'succeeded'") == 2


def test_a_source_refusing_a_value_fails_once_naming_the_source(source_db: str, warehouse: str) -> None:
    """The source raises a data error while producing the rows: not mistaken for a value the warehouse refused."""
    execute(
        source_db,
        "CREATE TABLE numbers (id bigint PRIMARY KEY, n int)",
        "INSERT INTO numbers VALUES (1, 1), (2, 0)",
        "CREATE VIEW items AS SELECT id, 100 / n AS share FROM numbers",
    )
    source = postgres_source("refusing", [{"name": "items", "primary_key": ["id"], "cursor": None}])
    connector = PostgresConnector(source, source_db)
    with pytest.raises(LoadInterrupted) as raised:
        load_resource(connector, ResourceSpec.from_config(source, "items"), warehouse, run_id="r1")
    assert raised.value.side == "source"
    message = str(raised.value)
    assert message.startswith("refusing.items: the source raised an error during the load (DivisionByZero: ")
    assert "nothing was committed" in message
    assert "\n" not in message
