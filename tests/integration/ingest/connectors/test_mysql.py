"""MySQL/MariaDB connector against a real server: every type into PostgreSQL, cursors, streaming."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock
from decimal import Decimal
from typing import Any

import pytest

from scrollintel.config.sources import MysqlSource
from scrollintel.ingest.connectors.base import CursorState, DiscoveredSchema, SourceColumn
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.mysql import MysqlConnector

pytestmark = pytest.mark.integration

EVERY_TYPE = """
CREATE TABLE every_type (
    id INT UNSIGNED NOT NULL PRIMARY KEY,
    flag TINYINT(1), tiny TINYINT, small SMALLINT UNSIGNED, medium MEDIUMINT, big BIGINT, ubig BIGINT UNSIGNED,
    f FLOAT, d DOUBLE, amount DECIMAL(12,2),
    code CHAR(3), name VARCHAR(100), body TEXT, kind ENUM('a','b'), tags SET('x','y'),
    raw VARBINARY(16), blob_col BLOB, bits BIT(8), onebit BIT(1),
    born DATE, seen DATETIME(6), changed TIMESTAMP(3) NULL DEFAULT NULL, at_time TIME(6), yr YEAR,
    doc JSON, place POINT NULL
)
"""
INSERT_EVERY_TYPE = """
INSERT INTO every_type VALUES
(1, 1, -5, 65535, -8388608, -9223372036854775808, 18446744073709551615,
 1.5, 2.5e300, 12345.67,
 'abc', 'Zoë, "the"\nsecond line', '\\\\.', 'b', 'x,y',
 x'00ff10', 'blob', b'10000001', b'1',
 '1990-05-17', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '12:34:56.000789', 2024,
 '{"a": [1, 2], "b": null}', ST_GeomFromText('POINT(1 2)')),
(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(3, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', 'a', '', x'', '', b'0', b'0',
 '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '00:00:00', 2000, '{}', NULL)
"""
EXPECTED_TYPES = {
    "id": ("int(10) unsigned", "bigint", False),
    "flag": ("tinyint(1)", "boolean", True),
    "tiny": ("tinyint(4)", "smallint", True),
    "small": ("smallint(5) unsigned", "integer", True),
    "medium": ("mediumint(9)", "integer", True),
    "big": ("bigint(20)", "bigint", True),
    "ubig": ("bigint(20) unsigned", "numeric(20,0)", True),
    "f": ("float", "real", True),
    "d": ("double", "double precision", True),
    "amount": ("decimal(12,2)", "numeric(12,2)", True),
    "code": ("char(3)", "text", True),
    "name": ("varchar(100)", "text", True),
    "body": ("text", "text", True),
    "kind": ("enum('a','b')", "text", True),
    "tags": ("set('x','y')", "text", True),
    "raw": ("varbinary(16)", "bytea", True),
    "blob_col": ("blob", "bytea", True),
    "bits": ("bit(8)", "text", True),
    "onebit": ("bit(1)", "boolean", True),
    "born": ("date", "date", True),
    "seen": ("datetime(6)", "timestamp", True),
    "changed": ("timestamp(3)", "timestamptz", True),
    "at_time": ("time(6)", "time", True),
    "yr": ("year(4)", "smallint", True),
    "doc": ("json", "jsonb", True),
    "place": ("point", "text", True),
}


def _source(database: str, tables: list[dict[str, Any]]) -> MysqlSource:
    return MysqlSource.model_validate(
        {
            "name": "legacy",
            "type": "mysql",
            "connection_id": "mysql_test",
            "owner": "data-platform",
            "schedule": "@hourly",
            "retention_class": "operational",
            "schema_policy": "freeze",
            "schema": database,
            "tables": tables,
        }
    )


@pytest.fixture
def every_type(mysql_server: Any) -> MysqlConnector:
    database = mysql_server.create_database()
    mysql_server.execute(database, EVERY_TYPE, INSERT_EVERY_TYPE)
    source = _source(database, [{"name": "every_type", "primary_key": ["id"], "cursor": None}])
    return MysqlConnector(source, mysql_server.connection())


def _without_display_width(source_type: str) -> str:
    """MySQL 8 prints integer types without display width, MariaDB with it (except tinyint(1))."""
    if source_type.startswith("tinyint(1)"):
        return source_type
    return re.sub(r"^((?:tiny|small|medium|big)?int|year)\(\d+\)", r"\1", source_type)


def test_discover_maps_every_type_and_is_stable(every_type: MysqlConnector) -> None:
    schema = every_type.discover("every_type")
    assert schema.names == tuple(EXPECTED_TYPES)
    for column in schema.columns:
        source_type, pg_type, nullable = EXPECTED_TYPES[column.name]
        assert _without_display_width(column.source_type) == _without_display_width(source_type), column
        assert (column.pg_type, column.nullable) == (pg_type, nullable), column
    assert every_type.discover("every_type") == schema


def test_every_type_round_trips_through_postgres_copy(every_type: MysqlConnector, copy_target: Any) -> None:
    schema = every_type.discover("every_type")
    chunks = list(every_type.extract("every_type", schema, CursorState(), chunk_rows=2))
    assert [chunk.rows for chunk in chunks] == [2, 1]
    assert all(chunk.token is None and chunk.file is None for chunk in chunks)
    rows = copy_target(schema, chunks)
    first, nulls, empties = rows
    assert first == (
        1, True, -5, 65535, -8388608, -9223372036854775808, Decimal("18446744073709551615"),
        1.5, 2.5e300, Decimal("12345.67"),
        "abc", 'Zoë, "the"\nsecond line', "\\.", "b", "x,y",
        b"\x00\xff\x10", b"blob", "129", True,
        date(1990, 5, 17), datetime(2024, 1, 2, 3, 4, 5, 123456), datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
        clock(12, 34, 56, 789), 2024,
        {"a": [1, 2], "b": None}, "POINT(1 2)",
    )  # fmt: skip
    assert nulls == (2, *([None] * 25))
    assert empties[:19] == (3, False, 0, 0, 0, 0, 0, 0.0, 0.0, 0, "", "", "", "a", "", b"", b"", "0", False)
    assert empties[24] == {}


def test_chunk_text_is_the_documented_csv(every_type: MysqlConnector) -> None:
    columns = (
        SourceColumn("id", "int(10) unsigned", "bigint", False),
        SourceColumn("name", "varchar(100)", "text"),
        SourceColumn("code", "char(3)", "text"),
        SourceColumn("raw", "varbinary(16)", "bytea"),
        SourceColumn("onebit", "bit(1)", "boolean"),
        SourceColumn("changed", "timestamp(3)", "timestamptz"),
    )
    schema = DiscoveredSchema("every_type", columns)
    (chunk,) = every_type.extract("every_type", schema, CursorState(), chunk_rows=10)
    assert chunk.data.decode() == (
        '"1","Zoë, ""the""\nsecond line","abc","\\x00ff10","1","2024-01-02 03:04:05.123+00"\n'
        '"2",,,,,\n'
        '"3","","","\\x","0","2000-01-01 00:00:00.000+00"\n'
    )


def _cursor_table(mysql_server: Any, values: list[int]) -> tuple[MysqlConnector, str]:
    database = mysql_server.create_database()
    rows = [(index + 1, datetime(2024, 1, 1, 0, 0, value), f"v{index}") for index, value in enumerate(values)]
    mysql_server.execute(
        database,
        "CREATE TABLE events (id INT PRIMARY KEY, updated_at TIMESTAMP(3) NULL, v VARCHAR(10))",
        "INSERT INTO events VALUES (%s, %s, %s)",
        rows=rows,
    )
    source = _source(database, [{"name": "events", "primary_key": ["id"], "cursor": "updated_at"}])
    return MysqlConnector(source, mysql_server.connection()), database


def _ids_and_last_cursor(data: bytes) -> tuple[list[int], str]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    return [int(row[0]) for row in rows], max(row[1] for row in rows)


def test_incremental_chunks_never_split_equal_cursor_values(mysql_server: Any) -> None:
    # runs of equal timestamps of length 1..7, so many runs straddle a 4-row boundary
    values = [second for second in range(1, 30) for _ in range(second % 7 + 1)]
    connector, _ = _cursor_table(mysql_server, values)
    schema = connector.discover("events")
    assert schema.column("updated_at").pg_type == "timestamptz"

    # A loader that commits after every chunk and is killed right after: each run keeps only
    # the first chunk, then resumes from the largest cursor value it committed.
    loaded: list[int] = []
    state = CursorState()
    runs = 0
    while True:
        chunk = next(iter(connector.extract("events", schema, state, chunk_rows=4)), None)
        if chunk is None:
            break
        ids, last = _ids_and_last_cursor(chunk.data)
        loaded.extend(ids)
        state = CursorState(value=last)  # text such as '2024-01-01 00:00:05.000+00'
        runs += 1
    assert sorted(loaded) == list(range(1, len(values) + 1)), "every row exactly once"
    assert runs > len(values) // 8

    # The test can fail: cutting at exactly 4 rows would lose the rest of a run.
    naive_lost = sum(1 for i in range(4, len(values), 4) if values[i] == values[i - 1])
    assert naive_lost > 0


def test_incremental_reads_only_rows_after_the_cursor(mysql_server: Any) -> None:
    connector, database = _cursor_table(mysql_server, [1, 2, 3])
    schema = connector.discover("events")
    first = list(connector.extract("events", schema, CursorState(), chunk_rows=100))
    ids, last = _ids_and_last_cursor(first[0].data)
    assert ids == [1, 2, 3]
    assert list(connector.extract("events", schema, CursorState(value=last), chunk_rows=100)) == []
    mysql_server.execute(database, "INSERT INTO events VALUES (4, '2024-01-01 00:00:09', 'late'), (5, NULL, 'none')")
    again = list(connector.extract("events", schema, CursorState(value=last), chunk_rows=100))
    assert _ids_and_last_cursor(again[0].data)[0] == [4]
    # An aware datetime (a timestamptz read back from the warehouse) works as well.
    aware = datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    later = list(connector.extract("events", schema, CursorState(value=aware), chunk_rows=100))
    assert _ids_and_last_cursor(later[0].data)[0] == [3, 4]


def test_streaming_stops_without_reading_the_rest(mysql_server: Any) -> None:
    database = mysql_server.create_database()
    rows = [(i, datetime(2024, 1, 1), "x" * 50) for i in range(1, 200_001)]
    mysql_server.execute(
        database,
        "CREATE TABLE big (id INT PRIMARY KEY, updated_at DATETIME, pad VARCHAR(60))",
        "INSERT INTO big VALUES (%s, %s, %s)",
        rows=rows,
    )
    connector = MysqlConnector(
        _source(database, [{"name": "big", "primary_key": ["id"], "cursor": "id"}]), mysql_server.connection()
    )
    schema = connector.discover("big")
    stream = connector.extract("big", schema, CursorState(), chunk_rows=1_000)
    first = next(stream)
    assert first.rows == 1_000
    started = time.perf_counter()
    stream.close()
    assert time.perf_counter() - started < 1.0, "closing must not drain the remaining 199,000 rows"
    total = sum(chunk.rows for chunk in connector.extract("big", schema, CursorState(value=1_000), chunk_rows=50_000))
    assert total == 199_000


def test_wrong_password_fails_with_a_clear_error(mysql_server: Any) -> None:
    connector = MysqlConnector(
        _source("mysql", [{"name": "user", "primary_key": ["User"], "cursor": None}]),
        mysql_server.connection(password="wrong"),
    )
    with pytest.raises(SourceAuthError, match=r"Access denied.*error 1045.*connection 'mysql_test'"):
        connector.discover("user")
    ok, message = connector.test_connection()
    assert not ok
    assert "Access denied" in message


def test_test_connection_reports_missing_tables(every_type: MysqlConnector, mysql_server: Any) -> None:
    ok, message = every_type.test_connection()
    assert ok, message
    assert "1 table(s) found" in message
    database = every_type.source.db_schema
    broken = MysqlConnector(
        _source(database, [{"name": "every_type", "primary_key": ["id"], "cursor": None},
                           {"name": "missing", "primary_key": ["id"], "cursor": None}]),
        mysql_server.connection(),
    )  # fmt: skip
    ok, message = broken.test_connection()
    assert not ok
    assert message.endswith(f"database {database} lacks missing")


def test_unknown_table_is_a_source_error(every_type: MysqlConnector) -> None:
    with pytest.raises(SourceError, match="has no table 'nope'"):
        every_type.discover("nope")
