"""Files connector on a local folder and on S3 (moto's server over HTTP): CSV, Parquet, incremental by file."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from scrollintel.config.sources import FilesSource
from scrollintel.demo.files import snapshot_dates, write_store_files
from scrollintel.ingest.connectors.base import CursorState
from scrollintel.ingest.connectors.errors import SourceChangedError, SourceError
from scrollintel.ingest.connectors.files import FilesConnector, StoredFile, binary_arrow_type
from scrollintel.settings import governance_dir

from .conftest import make_connection

pytestmark = pytest.mark.integration


def stores_source(storage: str = "local") -> FilesSource:
    """The demo's own ``stores`` source file, optionally pointed at S3."""
    data = yaml.safe_load((governance_dir() / "sources" / "stores.yaml").read_text())
    for item in data["files"]:
        item["storage"] = storage
    return FilesSource.model_validate(data)


def files_source(*files: dict[str, Any]) -> FilesSource:
    return FilesSource.model_validate(
        {
            "name": "drops",
            "type": "files",
            "connection_id": "fs_object_store",
            "owner": "data-platform",
            "schedule": "@daily",
            "retention_class": "operational",
            "schema_policy": "evolve",
            "files": [{"storage": "local", "primary_key": ["id"], **item} for item in files],
        }
    )


def local(root: Path) -> Any:
    return make_connection("fs_object_store", "fs", extra={"path": str(root)})


def markers(chunks: list[Any]) -> dict[str, str]:
    return dict(chunk.file for chunk in chunks if chunk.file)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("object-store")
    write_store_files(root, scale=1.0, seed=5)
    (root / "landing/inventory/snapshot_date=2099-01-01").mkdir()
    (root / "landing/inventory/snapshot_date=2099-01-01/.inventory.parquet.tmp").write_bytes(b"partial")
    (root / "landing/inventory/_SUCCESS").write_bytes(b"")
    return root


# --------------------------------------------------------------------------- local, demo files


def test_discover_demo_files(demo_root: Path) -> None:
    connector = FilesConnector(stores_source(), local(demo_root))
    stores = connector.discover("stores")
    assert [(c.name, c.source_type, c.pg_type) for c in stores.columns] == [
        ("store_id", "int64", "bigint"),
        ("name", "string", "text"),
        ("city", "string", "text"),
        ("region", "string", "text"),
        ("opened_on", "date32[day]", "date"),
    ]
    inventory = connector.discover("inventory")
    assert [(c.name, c.pg_type) for c in inventory.columns] == [
        ("snapshot_date", "date"),
        ("store_id", "integer"),
        ("product_id", "integer"),
        ("on_hand", "integer"),
    ]
    assert connector.discover("inventory") == inventory
    assert connector.discover("stores") == stores


def test_parquet_partitions_load_once_each(demo_root: Path, copy_target: Any) -> None:
    connector = FilesConnector(stores_source(), local(demo_root))
    schema = connector.discover("inventory")
    chunks = list(connector.extract("inventory", schema, CursorState(), chunk_rows=1_000))
    loaded = markers(chunks)
    assert sorted(loaded) == [
        f"landing/inventory/snapshot_date={day.isoformat()}/inventory.parquet" for day in snapshot_dates()
    ], "hidden and underscore files are skipped"
    expected_rows = sum(pq.ParquetFile(demo_root / path).metadata.num_rows for path in loaded)
    assert sum(chunk.rows for chunk in chunks) == expected_rows
    assert all(0 < chunk.rows <= 1_000 for chunk in chunks)
    rows = copy_target(schema, chunks)
    assert len(rows) == expected_rows
    assert rows[0][0] == snapshot_dates()[0]

    # incremental by file: nothing left, then one changed file
    assert list(connector.extract("inventory", schema, CursorState(files=loaded), chunk_rows=1_000)) == []
    changed = demo_root / sorted(loaded)[3]
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    again = list(connector.extract("inventory", schema, CursorState(files=loaded), chunk_rows=1_000))
    assert list(markers(again)) == [sorted(loaded)[3]]
    assert markers(again)[sorted(loaded)[3]] != loaded[sorted(loaded)[3]]


def test_csv_passes_through_as_text(demo_root: Path) -> None:
    connector = FilesConnector(stores_source(), local(demo_root))
    schema = connector.discover("stores")
    (chunk,) = connector.extract("stores", schema, CursorState(), chunk_rows=10_000)
    original = list(csv.reader(io.StringIO((demo_root / "landing/stores/stores.csv").read_text())))[1:]
    assert list(csv.reader(io.StringIO(chunk.data.decode()))) == original
    assert chunk.data.startswith(b'"1","')  # every value quoted: text exactly as in the file
    assert chunk.file is not None and chunk.file[0] == "landing/stores/stores.csv"


# --------------------------------------------------------------------------- every type


EVERY_TYPE = [
    ("bool", pa.bool_(), [True, None, False], "boolean"),
    ("int8", pa.int8(), [-128, None, 0], "smallint"),
    ("int16", pa.int16(), [-32768, None, 0], "smallint"),
    ("int32", pa.int32(), [-2147483648, None, 0], "integer"),
    ("int64", pa.int64(), [-9223372036854775808, None, 0], "bigint"),
    ("uint8", pa.uint8(), [255, None, 0], "smallint"),
    ("uint16", pa.uint16(), [65535, None, 0], "integer"),
    ("uint32", pa.uint32(), [4294967295, None, 0], "bigint"),
    ("uint64", pa.uint64(), [18446744073709551615, None, 0], "numeric(20,0)"),
    ("float16", pa.float16(), [1.5, None, 0.0], "real"),
    ("float32", pa.float32(), [0.25, None, -0.0], "real"),
    ("float64", pa.float64(), [2.5e300, None, float("inf")], "double precision"),
    ("decimal", pa.decimal128(12, 2), [Decimal("12345.67"), None, Decimal("0.00")], "numeric(12,2)"),
    ("decimal256", pa.decimal256(40, 10), [Decimal("-1.0000000001"), None, Decimal(0)], "numeric(40,10)"),
    ("string", pa.string(), ['Zoë, "the"\nsecond', None, ""], "text"),
    ("large_string", pa.large_string(), ["\\.", None, ""], "text"),
    ("binary", pa.binary(), [b"\x00\xff\x10", None, b""], "bytea"),
    ("large_binary", pa.large_binary(), [b"blob", None, b""], "bytea"),
    ("date32", pa.date32(), [date(1990, 5, 17), None, date(2000, 1, 1)], "date"),
    ("date64", pa.date64(), [date(1990, 5, 17), None, date(2000, 1, 1)], "date"),
    ("time32", pa.time32("s"), [clock(1, 2, 3), None, clock(0)], "time"),
    ("time64", pa.time64("us"), [clock(12, 34, 56, 789), None, clock(0)], "time"),
    ("ts_s", pa.timestamp("s"), [datetime(2024, 1, 2, 3, 4, 5), None, datetime(2000, 1, 1)], "timestamp"),
    ("ts_ns", pa.timestamp("ns"), [datetime(2024, 1, 2, 3, 4, 5, 123456), None, datetime(2000, 1, 1)], "timestamp"),
    (
        "ts_utc",
        pa.timestamp("us", tz="UTC"),
        [datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), None, datetime(2000, 1, 1, tzinfo=UTC)],
        "timestamptz",
    ),
    (
        "ts_paris",
        pa.timestamp("ms", tz="Europe/Paris"),
        [datetime(2024, 7, 1, 12, tzinfo=UTC), None, datetime(2000, 1, 1, tzinfo=UTC)],
        "timestamptz",
    ),
    ("list", pa.list_(pa.int32()), [[1, 2], None, []], "jsonb"),
    (
        "struct",
        pa.struct([("a", pa.int32()), ("b", pa.string()), ("d", pa.date32())]),
        [{"a": 1, "b": "x", "d": date(2024, 1, 1)}, None, {"a": None, "b": "", "d": None}],
        "jsonb",
    ),
    ("map", pa.map_(pa.string(), pa.int32()), [[("k", 1)], None, []], "jsonb"),
    ("nothing", pa.null(), [None, None, None], "text"),
]
EXPECTED_BACK = {
    "float16": [1.5, None, 0.0],
    "float32": [0.25, None, -0.0],
    "uint64": [Decimal("18446744073709551615"), None, Decimal(0)],
    "ts_s": [datetime(2024, 1, 2, 3, 4, 5), None, datetime(2000, 1, 1)],
    "struct": [{"a": 1, "b": "x", "d": "2024-01-01"}, None, {"a": None, "b": "", "d": None}],
    "map": [{"k": 1}, None, {}],
}


def every_type_table() -> pa.Table:
    columns = {"id": pa.array([1, 2, 3], pa.int32())}
    for name, kind, values, _ in EVERY_TYPE:
        columns[name] = pa.array(values, kind)
    table = pa.table(columns)
    # a dictionary-encoded column, as Parquet writers produce for repetitive strings
    colour = pa.array(["red", None, "red"]).dictionary_encode()
    return table.append_column("colour", colour)


def test_parquet_every_type_round_trips_through_postgres(tmp_path: Path, copy_target: Any) -> None:
    pq.write_table(every_type_table(), tmp_path / "every.parquet", row_group_size=2)
    connector = FilesConnector(
        files_source({"name": "every", "path": "every.parquet", "format": "parquet"}), local(tmp_path)
    )
    schema = connector.discover("every")
    mapped = {column.name: column.pg_type for column in schema.columns}
    assert mapped == {"id": "integer", **{name: pg for name, _, _, pg in EVERY_TYPE}, "colour": "text"}
    chunks = list(connector.extract("every", schema, CursorState(), chunk_rows=2))
    assert [chunk.rows for chunk in chunks] == [2, 1]
    rows = copy_target(schema, chunks)
    back = {name: [row[index] for row in rows] for index, name in enumerate(schema.names)}
    for name, _, values, _ in EVERY_TYPE:
        expected = EXPECTED_BACK.get(name, values)
        assert back[name] == expected, name
    assert back["colour"] == ["red", None, "red"]


# every column whose warehouse type has an exact binary form (decimal256(40, 10) has not: > 38 digits)
BINARY_SAFE = [name for name, _, _, pg_type in EVERY_TYPE if binary_arrow_type(pg_type) is not None]


def test_parquet_binary_stream_loads_the_same_rows_as_the_csv_chunks(tmp_path: Path, copy_target: Any) -> None:
    table = every_type_table().select(["id", *BINARY_SAFE, "colour"])
    pq.write_table(table.slice(0, 2), tmp_path / "a.parquet")
    pq.write_table(table.slice(2), tmp_path / "b.parquet")
    connector = FilesConnector(
        files_source({"name": "every", "path": "*.parquet", "format": "parquet"}), local(tmp_path)
    )
    schema = connector.discover("every")
    assert connector.supports_binary(schema)
    assert {column.pg_type for column in schema.columns} >= {
        "boolean", "smallint", "integer", "bigint", "real", "double precision", "numeric(12,2)", "numeric(20,0)",
        "text", "bytea", "date", "timestamp", "timestamptz",
    }  # fmt: skip
    binary = list(connector.extract_binary("every", schema, CursorState(), chunk_rows=1))
    assert [chunk.rows for chunk in binary] == [1, 1, 1]
    assert markers(binary) == markers(list(connector.extract("every", schema, CursorState(), chunk_rows=1)))
    assert binary[0].data.startswith(b"PGCOPY\n\xff\r\n\x00") and binary[-1].data.endswith(b"\xff\xff")
    csv_rows = copy_target(schema, connector.extract("every", schema, CursorState(), chunk_rows=1))
    assert copy_target(schema, binary, binary=True) == csv_rows
    assert len(csv_rows) == 3


def test_parquet_values_without_an_exact_binary_form_fall_back_to_csv(tmp_path: Path) -> None:
    from scrollintel.ingest.connectors.base import BinaryUnavailable

    nanos = pa.array([1_000, 1_001], pa.timestamp("ns"))  # the second has a nanosecond part
    pq.write_table(pa.table({"id": [1, 2], "at": nanos}), tmp_path / "n.parquet")
    connector = FilesConnector(files_source({"name": "n", "path": "*.parquet", "format": "parquet"}), local(tmp_path))
    schema = connector.discover("n")
    assert connector.supports_binary(schema)
    with pytest.raises(BinaryUnavailable, match="n: "):
        list(connector.extract_binary("n", schema, CursorState(), chunk_rows=10))
    # a type with no binary counterpart is never offered in binary
    pq.write_table(pa.table({"id": [1], "tags": pa.array([["x"]])}), tmp_path / "n.parquet")
    assert not connector.supports_binary(connector.discover("n"))


def test_parquet_chunk_is_the_documented_csv(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "text": pa.array(['a "q", b', None, ""]),
            "raw": pa.array([b"\x00\xff", None, b""]),
            "flag": pa.array([True, None, False]),
            "at": pa.array([datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None, None], pa.timestamp("s", tz="UTC")),
            "tags": pa.array([["x", 'y"'], None, []]),
        }
    )
    pq.write_table(table, tmp_path / "small.parquet")
    connector = FilesConnector(
        files_source({"name": "small", "path": "*.parquet", "format": "parquet"}), local(tmp_path)
    )
    schema = connector.discover("small")
    (chunk,) = connector.extract("small", schema, CursorState(), chunk_rows=10)
    assert chunk.data.decode() == (
        '1,"a ""q"", b","\\x00ff",true,2024-01-02 03:04:05.000Z,"[""x"",""y\\""""]"\n2,,,,,\n3,"","\\x",false,,"[]"\n'
    )


def test_csv_columns_follow_the_schema_by_header_name(tmp_path: Path, copy_target: Any) -> None:
    folder = tmp_path / "drops"
    folder.mkdir()
    # the older file has its columns in another order and lacks "note"
    (folder / "2026-01-01.csv").write_bytes(b"\xef\xbb\xbfamount,id\n1.50,1\n,2\n")
    (folder / "2026-01-02.csv").write_bytes(
        b'id,amount,note,ignored\n3,2.25,"multi\nline ""quoted""",x\n4,,"",y\n5,0.10,,z\n'
    )
    source = files_source({"name": "drops", "path": "drops/*.csv", "format": "csv"})
    connector = FilesConnector(source, local(tmp_path))
    schema = connector.discover("drops")
    assert [(c.name, c.pg_type) for c in schema.columns] == [
        ("id", "bigint"), ("amount", "double precision"), ("note", "text"), ("ignored", "text"),
    ]  # fmt: skip
    schema = type(schema)(schema.resource, schema.columns[:3])  # as if "ignored" were not registered
    chunks = list(connector.extract("drops", schema, CursorState(), chunk_rows=100))
    assert [chunk.data.decode() for chunk in chunks] == [
        '"1","1.50",\n"2",,\n',
        '"3","2.25","multi\nline ""quoted"""\n"4",,""\n"5","0.10",\n',
    ]
    assert [chunk.file[0] for chunk in chunks if chunk.file] == ["drops/2026-01-01.csv", "drops/2026-01-02.csv"]
    rows = copy_target(schema, chunks)
    assert rows == [(1, 1.5, None), (2, None, None), (3, 2.25, 'multi\nline "quoted"'), (4, None, ""), (5, 0.1, None)]


def test_empty_file_is_recorded_with_no_rows(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,name\n")
    connector = FilesConnector(files_source({"name": "a", "path": "a.csv", "format": "csv"}), local(tmp_path))
    schema = connector.discover("a")
    (chunk,) = connector.extract("a", schema, CursorState(), chunk_rows=10)
    assert (chunk.rows, chunk.data, chunk.file[0] if chunk.file else None) == (0, b"", "a.csv")


def test_file_changed_while_read_is_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("id\n" + "".join(f"{i}\n" for i in range(1_000)))
    connector = FilesConnector(files_source({"name": "big", "path": "big.csv", "format": "csv"}), local(tmp_path))
    schema = connector.discover("big")
    stream = connector.extract("big", schema, CursorState(), chunk_rows=100)
    first = next(stream)
    assert first.file is None
    with path.open("a") as handle:
        handle.write("1000\n")
    with pytest.raises(SourceChangedError, match=r"big\.csv changed while it was read"):
        list(stream)


def test_missing_root_and_no_match_are_clear_errors(tmp_path: Path) -> None:
    source = files_source({"name": "x", "path": "nothing/*.csv", "format": "csv"})
    with pytest.raises(SourceError, match=r"no file matches 'nothing/\*\.csv' in local folder"):
        FilesConnector(source, local(tmp_path)).discover("x")
    ok, message = FilesConnector(source, local(tmp_path / "absent")).test_connection()
    assert not ok
    assert message.endswith("absent does not exist")
    ok, message = FilesConnector(source, make_connection("fs_object_store", "fs")).test_connection()
    assert (ok, message) == (False, "connection 'fs_object_store' needs extra 'path' (the local root folder)")


# --------------------------------------------------------------------------- S3 (moto)


@pytest.fixture(scope="module")
def s3_demo(s3_server: Any, demo_root: Path) -> tuple[Any, str]:
    bucket = s3_server.create_bucket()
    client = s3_server.client()
    for path in sorted(demo_root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, "store/" + path.relative_to(demo_root).as_posix())
    return s3_server, bucket


def test_s3_matches_local_byte_for_byte(s3_demo: tuple[Any, str], demo_root: Path) -> None:
    server, bucket = s3_demo
    on_s3 = FilesConnector(stores_source("s3"), server.connection(bucket, prefix="store"))
    on_disk = FilesConnector(stores_source(), local(demo_root))
    for resource in ("stores", "inventory"):
        schema = on_s3.discover(resource)
        assert schema == on_disk.discover(resource)
        remote = list(on_s3.extract(resource, schema, CursorState(), chunk_rows=2_000))
        here = list(on_disk.extract(resource, schema, CursorState(), chunk_rows=2_000))
        assert [chunk.data for chunk in remote] == [chunk.data for chunk in here]
        assert [chunk.file[0] for chunk in remote if chunk.file] == [chunk.file[0] for chunk in here if chunk.file]
    ok, message = on_s3.test_connection()
    assert ok, message
    assert "inventory: 14 file(s) in s3://" in message


def test_s3_incremental_by_etag(s3_demo: tuple[Any, str]) -> None:
    server, bucket = s3_demo
    connector = FilesConnector(stores_source("s3"), server.connection(bucket, prefix="store"))
    schema = connector.discover("stores")
    loaded = markers(list(connector.extract("stores", schema, CursorState(), chunk_rows=1_000)))
    assert list(connector.extract("stores", schema, CursorState(files=loaded), chunk_rows=1_000)) == []
    key = "store/landing/stores/stores.csv"
    client = server.client()
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=body + b"99,Extra Store,Paris,Ile-de-France,2024-01-01\n")
    (chunk,) = connector.extract("stores", schema, CursorState(files=loaded), chunk_rows=1_000)
    assert chunk.file is not None and chunk.file[1] != loaded["landing/stores/stores.csv"]
    assert chunk.data.endswith(b'"99","Extra Store","Paris","Ile-de-France","2024-01-01"\n')
    # a stale listing is never read: the download is conditional on the listed ETag
    stale = StoredFile(path="landing/stores/stores.csv", size=1, fingerprint=loaded["landing/stores/stores.csv"])
    with (
        pytest.raises(SourceChangedError, match="changed or vanished since it was listed"),
        connector.store("s3").fetch(stale),
    ):
        pass


def test_s3_missing_bucket_fails_test_connection(s3_server: Any) -> None:
    connector = FilesConnector(stores_source("s3"), s3_server.connection("no-such-bucket"))
    ok, message = connector.test_connection()
    assert not ok
    assert message == "listing s3://no-such-bucket/landing/stores/ failed: NoSuchBucket"
