"""The PostgreSQL connector against the demo shop and a table of awkward types."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.ingest.connectors import connector_for
from scrollintel.ingest.connectors.base import CursorState
from scrollintel.ingest.connectors.postgres import PostgresConnector, conninfo_from
from scrollintel.ingest.errors import ResourceConfigError
from scrollintel.ingest.loader import load_resource
from scrollintel.ingest.spec import ResourceSpec
from tests.integration.ingest.helpers import checksum, connect, execute, postgres_source, scalar

pytestmark = pytest.mark.integration


def _shop(shop_url: str) -> PostgresConnector:
    connector = connector_for(load_governance().source("shop"), shop_url)
    assert isinstance(connector, PostgresConnector)
    return connector


def test_discover_maps_every_shop_column(shop_url: str) -> None:
    schema = _shop(shop_url).discover("customers")
    types = {col.name: (col.source_type, col.pg_type, col.nullable) for col in schema.columns}
    assert schema.names[0] == "customer_id"
    assert types["customer_id"] == ("bigint", "bigint", False)
    assert types["email"] == ("text", "text", False)
    assert types["country"] == ("character(2)", "text", False)
    assert types["birth_date"] == ("date", "date", False)
    assert types["updated_at"] == ("timestamp with time zone", "timestamptz", False)
    payments = {col.name: col for col in _shop(shop_url).discover("payments").columns}
    assert payments["amount"].pg_type == "numeric(12,2)" and payments["paid_at"].nullable


def test_discover_names_a_missing_table(shop_url: str) -> None:
    with pytest.raises(ResourceConfigError, match=r"table public\.nope of source 'shop' does not exist"):
        _shop(shop_url).discover("nope")


def test_extract_streams_bounded_chunks_of_valid_csv(shop_url: str) -> None:
    connector = _shop(shop_url)
    schema = connector.discover("orders")
    chunks = list(connector.extract("orders", schema, CursorState(), chunk_rows=500))
    total = scalar(shop_url, "SELECT count(*) FROM orders")
    assert sum(chunk.rows for chunk in chunks) == total
    assert all(chunk.rows <= 500 for chunk in chunks) and len(chunks) == -(-total // 500)
    rows = list(csv.reader(io.StringIO(b"".join(chunk.data for chunk in chunks).decode())))
    assert len(rows) == total and all(len(row) == len(schema.columns) for row in rows)
    updated = [row[schema.names.index("updated_at")] for row in rows]
    assert all(value.endswith("+00") for value in updated)  # printed in UTC, whatever the source's zone


def test_extract_after_a_cursor_reads_rows_at_or_after_it(shop_url: str) -> None:
    connector = _shop(shop_url)
    schema = connector.discover("orders")
    cursor = scalar(shop_url, "SELECT (percentile_disc(0.9) WITHIN GROUP (ORDER BY updated_at))::text FROM orders")
    expected = scalar(shop_url, "SELECT count(*) FROM orders WHERE updated_at >= %s", (cursor,))
    chunks = list(connector.extract("orders", schema, CursorState(value=cursor), chunk_rows=10_000))
    assert sum(chunk.rows for chunk in chunks) == expected


def test_closing_the_stream_early_releases_the_source(shop_url: str) -> None:
    connector = _shop(shop_url)
    schema = connector.discover("order_items")
    stream = connector.extract("order_items", schema, CursorState(), chunk_rows=100)
    assert next(stream).rows == 100
    stream.close()  # what the loader does when the warehouse side fails
    assert scalar(shop_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'scrollintel-ingest'") == 0


def test_awkward_types_land_with_their_values(source_db: str, warehouse: str) -> None:
    execute(
        source_db,
        "CREATE TYPE mood AS ENUM ('ok', 'sad')",
        "CREATE DOMAIN posint AS integer CHECK (VALUE > 0)",
        "CREATE TYPE pair AS (a integer, b text)",
        "CREATE TABLE weird (id posint PRIMARY KEY, m mood, tags text[], j json, jb jsonb, price money, "
        'span interval, raw bytea, p pair, r int4range, ts timestamptz, "Mixed Case" text, t time with time zone)',
        "INSERT INTO weird VALUES (1, 'ok', '{a,\"b,c\"}', '{\"k\": [1, 2]}', '{\"z\": null}', 12.5, "
        "'1 day 02:00', '\\x00ff', ROW(1, 'x'), '[1,5)', '2026-01-01 10:00+02', 'quote \" and , comma', '10:00+02'),"
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-02', '', NULL)",
    )
    source = postgres_source("odd", [{"name": "weird", "primary_key": ["id"], "cursor": "ts"}])
    connector = PostgresConnector(source, source_db)
    schema = connector.discover("weird")
    types = {col.name: col.pg_type for col in schema.columns}
    assert types == {
        "id": "integer",
        "m": '"raw_types"."odd__mood"',
        "tags": "text[]",
        "j": "json",
        "jb": "jsonb",
        "price": "numeric(19,2)",
        "span": "interval",
        "raw": "bytea",
        "p": "jsonb",
        "r": "int4range",
        "ts": "timestamptz",
        "Mixed Case": "text",
        "t": "time with time zone",
    }
    result = load_resource(connector, ResourceSpec.from_config(source, "weird"), warehouse, run_id="r1")
    assert result.loaded_rows == 2 and result.quarantined_rows == 0
    with connect(warehouse) as conn:
        row = conn.execute(
            'SELECT m, tags, j, jb, price, span, raw, p, r, ts, "Mixed Case", t::text FROM raw.odd__weird WHERE id = 1'
        ).fetchone()
        empty = conn.execute('SELECT m, tags, "Mixed Case" FROM raw.odd__weird WHERE id = 2').fetchone()
    assert row is not None
    assert row[0] == "ok" and row[1] == ["a", "b,c"] and row[2] == {"k": [1, 2]} and row[3] == {"z": None}
    assert str(row[4]) == "12.50" and str(row[5]) == "1 day, 2:00:00" and bytes(row[6]) == b"\x00\xff"
    assert (
        row[7] == {"a": 1, "b": "x"} and str(row[8]) == "[1, 5)" and row[9].isoformat() == "2026-01-01T08:00:00+00:00"
    )
    assert row[10] == 'quote " and , comma' and row[11] == "10:00:00+02"  # timetz keeps its own offset
    assert empty == (None, None, "")  # NULL stays NULL, an empty string stays empty


def test_binary_and_csv_first_loads_store_the_same_values(
    source_db: str, new_warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(
        source_db,
        "CREATE TYPE tier AS ENUM ('gold', 'silver')",
        "CREATE TABLE mixed (id bigint PRIMARY KEY, code char(3), label varchar(20), note text, t tier, "
        "amount numeric(12,2), ratio double precision, small real, ok boolean, day date, at timestamptz, "
        "local timestamp, span interval, blob bytea, uid uuid, tags integer[], doc jsonb, clock time)",
        "INSERT INTO mixed VALUES "
        "(1, 'ab', 'x', E'line\\none, \"quoted\"', 'gold', 12.30, 0.1, 1.5, true, '2026-01-31', "
        "'2026-01-01 10:00+02', '2026-01-01 10:00', '1 mon 2 days 03:04:05', '\\x00ff', "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{\"a\": [1, {\"b\": null}]}', '23:59:59.5'),"
        "(2, NULL, '', NULL, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, 'infinity', NULL, NULL, NULL, NULL, "
        "'{}', 'null', NULL)",
    )
    source = postgres_source("mix", [{"name": "mixed", "primary_key": ["id"], "cursor": None}])
    connector = PostgresConnector(source, source_db)
    spec = ResourceSpec.from_config(source, "mixed")
    assert connector.supports_binary(connector.discover("mixed"))
    binary_wh, csv_wh = new_warehouse(), new_warehouse()
    assert load_resource(connector, spec, binary_wh, run_id="r").path == "direct-binary"
    monkeypatch.setattr(PostgresConnector, "supports_binary", lambda self, schema: False)
    assert load_resource(connector, spec, csv_wh, run_id="r").path == "direct"
    columns = [c for c in _columns(source_db, "mixed")]
    assert checksum(binary_wh, "raw.mix__mixed", columns, "id") == checksum(csv_wh, "raw.mix__mixed", columns, "id")
    assert scalar(binary_wh, "SELECT code FROM raw.mix__mixed WHERE id = 1") == "ab "  # char(3) padding kept
    assert scalar(binary_wh, "SELECT label FROM raw.mix__mixed WHERE id = 2") == ""


def _columns(url: str, table: str) -> list[str]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return [row[0] for row in rows]


def test_test_connection_reports_success_and_what_is_missing(shop_url: str, source_db: str) -> None:
    ok, message = _shop(shop_url).test_connection()
    assert ok and "7 table(s) readable" in message and "PostgreSQL 1" in message
    ok, message = _shop(source_db).test_connection()
    assert not ok and "tables missing or not readable in schema public: customers, order_items" in message
    wrong = shop_url.replace("@", "x@", 1).replace("://scrollintel_admin:", "://scrollintel_admin:wrong")
    ok, message = _shop(wrong).test_connection()
    assert not ok and message.startswith("cannot connect: OperationalError")


def test_airflow_connection_fields_become_a_libpq_conninfo() -> None:
    class Conn:
        host, port, login, password, schema = "db.internal", 5433, "reader", "s3cret", "shop"
        extra_dejson = {"sslmode": "require", "unrelated": "x"}

    info = conninfo_from(Conn())  # type: ignore[arg-type]
    for part in (
        "host=db.internal",
        "port=5433",
        "user=reader",
        "dbname=shop",
        "sslmode=require",
        "connect_timeout=15",
    ):
        assert part in info
    assert "unrelated" not in info and "TimeZone=UTC" in info and "default_transaction_read_only=on" in info


def test_binary_extraction_counts_rows_not_header_or_trailer(shop_url: str, source_db: str, warehouse: str) -> None:
    connector = _shop(shop_url)
    schema = connector.discover("orders")
    chunks = list(connector.extract_binary("orders", schema, CursorState(), chunk_rows=1000))
    assert sum(chunk.rows for chunk in chunks) == scalar(shop_url, "SELECT count(*) FROM orders")
    assert chunks[0].data.startswith(b"PGCOPY\n\xff\r\n\0") and chunks[-1].data.endswith(b"\xff\xff")
    execute(source_db, "CREATE TABLE empty (id bigint PRIMARY KEY, updated_at timestamptz)")
    source = postgres_source("none", [{"name": "empty", "primary_key": ["id"], "cursor": "updated_at"}])
    nothing = PostgresConnector(source, source_db)
    (only,) = nothing.extract_binary("empty", nothing.discover("empty"), CursorState(), chunk_rows=10)
    assert only.rows == 0
    result = load_resource(nothing, ResourceSpec.from_config(source, "empty"), warehouse, run_id="r")
    assert (result.path, result.source_rows, result.cursor_after) == ("direct-binary", 0, None)
