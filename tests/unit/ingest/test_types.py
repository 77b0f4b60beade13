"""The source -> warehouse type tables, case by case."""

from __future__ import annotations

import pytest

from scrollintel.ingest.types import Mapped, map_type

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("dialect", "source", "expected"),
    [
        ("postgres", "bigint", "bigint"),
        ("postgres", "numeric(10,2)", "numeric(10,2)"),
        ("postgres", "numeric", "numeric"),
        ("postgres", "character varying(255)", "text"),
        ("postgres", "character(3)", "text"),
        ("postgres", "timestamp with time zone", "timestamptz"),
        ("postgres", "timestamp(3) without time zone", "timestamp"),
        ("postgres", "integer[]", "jsonb"),
        ("postgres", "jsonb", "jsonb"),
        ("postgres", "uuid", "uuid"),
        ("mysql", "tinyint(1)", "boolean"),
        ("mysql", "TINYINT(4)", "smallint"),
        ("mysql", "int(11) unsigned", "bigint"),
        ("mysql", "bigint unsigned", "numeric(20,0)"),
        ("mysql", "decimal(12,2)", "numeric(12,2)"),
        ("mysql", "varchar(64)", "text"),
        ("mysql", "datetime(6)", "timestamp"),
        ("mysql", "timestamp", "timestamptz"),
        ("mysql", "enum('a','b')", "text"),
        ("json", "json:integer", "bigint"),
        ("json", "json:datetime", "timestamptz"),
        ("json", "json:object", "jsonb"),
        ("arrow", "int64", "bigint"),
        ("arrow", "timestamp[us, tz=UTC]", "timestamptz"),
        ("arrow", "timestamp[ns]", "timestamp"),
        ("arrow", "decimal128(10, 2)", "numeric(10,2)"),
        ("arrow", "list<item: int64>", "jsonb"),
        ("arrow", "date32[day]", "date"),
    ],
)
def test_known_types(dialect: str, source: str, expected: str) -> None:
    assert map_type(dialect, source) == Mapped(expected, True)


def test_unknown_type_falls_back_to_text_and_says_so() -> None:
    assert map_type("postgres", "tsvector") == Mapped("text", False)
    assert map_type("mysql", "geometry") == Mapped("text", False)


def test_unknown_dialect_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown type dialect 'oracle' \(known: arrow, json, mysql, postgres\)"):
        map_type("oracle", "number")
