"""The source -> warehouse type tables, case by case."""

from __future__ import annotations

import pytest

from scrollintel.ingest.sqltypes import split_user_type, type_sql, user_type
from scrollintel.ingest.types import Mapped, map_type, warehouse_enum

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
        ("postgres", "integer[]", "integer[]"),
        ("postgres", "character varying(10)[]", "text[]"),
        ("postgres", "json", "json"),
        ("postgres", "jsonb", "jsonb"),
        ("postgres", "uuid", "uuid"),
        ("postgres", "tsvector", "tsvector"),
        ("postgres", "tstzmultirange", "tstzmultirange"),
        ("postgres", "bit varying(12)", "bit varying(12)"),
        ("postgres", "bit(3)[]", "bit(3)[]"),
        ("postgres", "point", "point"),
        ("postgres", "time(3) with time zone", "time with time zone"),
        ("postgres", "interval day to second(2)", "interval"),
        ("postgres", "money", "numeric(19,2)"),
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
    mapped = map_type(dialect, source)
    assert (mapped.pg_type, mapped.exact) == (expected, True)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("json", ""),
        ("numeric(12,2)[]", ""),
        ("character(3)", "length dropped"),
        ("character varying(10)[]", "length dropped"),
        ("money", "lc_monetary"),
        ("timestamp(3) with time zone", "precision dropped"),
    ],
)
def test_postgres_mappings_say_why_the_type_changed(source: str, reason: str) -> None:
    mapped = map_type("postgres", source)
    assert (reason in mapped.reason) if reason else mapped.reason == ""


def test_unknown_type_falls_back_to_text_and_says_so() -> None:
    assert map_type("postgres", "regclass").pg_type == "text" and not map_type("postgres", "regclass").exact
    assert not map_type("postgres", "public.hstore[]").exact
    assert map_type("mysql", "geometry") == Mapped("text", False)


def test_unknown_dialect_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown type dialect 'oracle' \(known: arrow, json, mysql, postgres\)"):
        map_type("oracle", "number")


@pytest.mark.parametrize(
    ("pg_type", "spelt"),
    [
        ("integer[]", "integer[]"),
        ("bit varying(8)", "bit varying(8)"),
        ("pg_lsn", "pg_lsn"),
        (user_type("raw_types", "shop__mood"), '"raw_types"."shop__mood"'),
        (user_type("raw_types", 'odd"name') + "[]", '"raw_types"."odd""name"[]'),
    ],
)
def test_type_sql_takes_built_in_and_created_type_names(pg_type: str, spelt: str) -> None:
    assert type_sql(pg_type).as_string(None) == spelt


@pytest.mark.parametrize(
    "pg_type",
    ["integer; DROP TABLE x", '"raw_types"."x"; --', 'raw_types."x"', '"a"."b"[1]', "Integer", '"a"."b".c'],
)
def test_type_sql_refuses_anything_else(pg_type: str) -> None:
    with pytest.raises(ValueError, match="not a plain PostgreSQL type name"):
        type_sql(pg_type)


def test_enum_names_are_scoped_by_source_and_fit_an_identifier() -> None:
    assert warehouse_enum("shop", "public", "public", "mood") == '"raw_types"."shop__mood"'
    assert warehouse_enum("shop", "public", "sales", "mood") == '"raw_types"."shop__sales__mood"'
    long = warehouse_enum("shop", "public", "public", "x" * 80)
    assert len(split_user_type(long)[1]) <= 63 and long != warehouse_enum("shop", "public", "public", "x" * 81)
