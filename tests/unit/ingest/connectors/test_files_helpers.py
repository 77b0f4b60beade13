"""Files connector helpers: globs, hidden files, bytea hex in numpy, rebatching, arrow -> CSV."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from scrollintel.ingest.connectors.files import bytea_hex, csv_ready, glob_regex, is_skipped, rebatch, static_prefix
from scrollintel.ingest.connectors.render import table_to_csv

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("landing/inventory/snapshot_date=*/*.parquet", "landing/inventory/snapshot_date=2026-01-01/a.parquet", True),
        ("landing/inventory/snapshot_date=*/*.parquet", "landing/inventory/snapshot_date=x/y/a.parquet", False),
        ("landing/*.csv", "landing/a.csv", True),
        ("landing/*.csv", "landing/sub/a.csv", False),
        ("landing/**/*.csv", "landing/a.csv", True),
        ("landing/**/*.csv", "landing/x/y/a.csv", True),
        ("landing/**", "landing/x/y/a.csv", True),
        ("file-?.csv", "file-1.csv", True),
        ("file-?.csv", "file-10.csv", False),
        ("file-[0-3].csv", "file-2.csv", True),
        ("file-[!0-3].csv", "file-2.csv", False),
        ("a+b(1).csv", "a+b(1).csv", True),
        ("data[.csv", "data[.csv", True),
    ],
)
def test_glob_regex(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(path)) is matches


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [("landing/inventory/snapshot_date=*/*.parquet", "landing/inventory/"), ("*.csv", ""), ("a/b/c.csv", "a/b/")],
)
def test_static_prefix(pattern: str, prefix: str) -> None:
    assert static_prefix(pattern) == prefix


def test_hidden_and_underscore_files_are_skipped() -> None:
    assert is_skipped("landing/.tmp/a.csv")
    assert is_skipped("landing/_SUCCESS")
    assert is_skipped("landing/x/.a.parquet.tmp")
    assert not is_skipped("landing/x/a_b.csv")


@pytest.mark.parametrize("kind", [pa.binary(), pa.large_binary(), pa.binary_view()])
def test_bytea_hex(kind: pa.DataType) -> None:
    values = [b"\x00\xff\x10", None, b"", b"AZ"]
    assert bytea_hex(pa.array(values, kind)).to_pylist() == ["\\x00ff10", None, "\\x", "\\x415a"]


def test_bytea_hex_of_a_slice_and_of_no_nulls() -> None:
    array = pa.array([b"\x01", b"\x02\x03", None, b"\x04"])
    assert bytea_hex(array.slice(1, 2)).to_pylist() == ["\\x0203", None]
    assert bytea_hex(array.slice(3)).to_pylist() == ["\\x04"]
    assert bytea_hex(pa.array([], pa.binary())).to_pylist() == []


def test_rebatch_gives_exact_sizes_without_copying() -> None:
    batches = [pa.record_batch({"x": list(range(start, start + n))}) for start, n in ((0, 3), (3, 0), (3, 7), (10, 1))]
    tables = list(rebatch(iter(batches), 4))
    assert [table.num_rows for table in tables] == [4, 4, 3]
    assert [value for table in tables for value in table.column("x").to_pylist()] == list(range(11))


def test_rebatch_cuts_wide_rows_to_the_byte_limit() -> None:
    batches = [pa.record_batch({"x": list(range(start, start + 10))}) for start in range(0, 100, 10)]  # 80 bytes each
    tables = list(rebatch(iter(batches), 50, max_bytes=200))  # 25 rows of 8 bytes
    assert [table.num_rows for table in tables] == [25, 25, 25, 25]
    assert [value for table in tables for value in table.column("x").to_pylist()] == list(range(100))
    assert [table.num_rows for table in rebatch(iter(batches), 30, max_bytes=10_000)] == [30, 30, 30, 10]


def test_csv_ready_renders_nested_dictionary_and_half_floats() -> None:
    table = pa.table(
        {
            "nested": pa.array([{"d": date(2024, 1, 1), "l": [1]}, None]),
            "dict": pa.array(["a", None]).dictionary_encode(),
            "half": pa.array([1.5, None], pa.float16()),
            "fixed": pa.array([b"ab", None], pa.binary(2)),
        }
    )
    assert table_to_csv(csv_ready(table)) == b'"{""d"":""2024-01-01"",""l"":[1]}","a",1.5,"\\x6162"\n,,,\n'
