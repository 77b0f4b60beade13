"""JSON records: paths, kinds, widening, date detection, schema inference and rendering."""

from __future__ import annotations

import pytest

from scrollintel.ingest.connectors.base import SourceColumn
from scrollintel.ingest.connectors.errors import SourceError
from scrollintel.ingest.connectors.jsonapi import (
    infer_columns,
    is_iso_date,
    is_iso_datetime,
    json_kind,
    records_at,
    render_value,
    value_at,
    widen,
)

pytestmark = pytest.mark.unit


def test_value_at_follows_dotted_paths_and_maps_over_lists() -> None:
    body = {"data": {"events": {"edges": [{"node": {"id": 1}}, {"node": {"id": 2}}], "pageInfo": {"end": "c"}}}}
    assert value_at(body, "data.events.edges.node") == [{"id": 1}, {"id": 2}]
    assert value_at(body, "data.events.pageInfo.end") == "c"
    assert value_at(body, "data.missing.deeper") is None
    assert value_at(body, None) is body
    assert value_at("scalar", "a") is None


def test_records_at_rejects_what_is_not_a_list_of_objects() -> None:
    assert records_at({"data": None}, "data", "GET /x") == []
    assert records_at([{"a": 1}], None, "GET /x") == [{"a": 1}]
    with pytest.raises(SourceError, match=r"GET /x: expected a list of records at 'data', got dict"):
        records_at({"data": {"a": 1}}, "data", "GET /x")
    with pytest.raises(SourceError, match=r"records at 'the top level' must be JSON objects, got int"):
        records_at([1, 2], None, "GET /x")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"),
        (True, "boolean"),
        (3, "integer"),
        (2**63, "string"),
        (-(2**63), "integer"),
        (1.5, "number"),
        ("2024-05-01T10:00:00Z", "datetime"),
        ("2024-05-01 10:00", "datetime"),
        ("2024-05-01T10:00:00.123456789+02:00", "datetime"),
        ("2024-05-01", "date"),
        ("2024-02-30", "string"),
        ("20240501", "string"),
        ("2024-W01-2", "string"),
        ("2024-05-01T25:00:00Z", "string"),
        ("hello", "string"),
        ({"a": 1}, "object"),
        ([1], "array"),
    ],
)
def test_json_kind(value: object, kind: str) -> None:
    assert json_kind(value) == kind


@pytest.mark.parametrize(
    ("a", "b", "wider"),
    [
        ("integer", "integer", "integer"),
        ("null", "date", "date"),
        ("datetime", "null", "datetime"),
        ("integer", "number", "number"),
        ("number", "integer", "number"),
        ("object", "array", "object"),
        ("date", "datetime", "string"),
        ("boolean", "integer", "string"),
        ("object", "string", "string"),
    ],
)
def test_widen(a: str, b: str, wider: str) -> None:
    assert widen(a, b) == wider


def test_iso_helpers() -> None:
    assert is_iso_datetime("2026-11-22T01:02:03,5Z")
    assert not is_iso_datetime("2026-11-22")
    assert is_iso_date("2026-11-22")
    assert not is_iso_date("2026-13-01")


def test_infer_columns_keeps_first_appearance_order_and_widens() -> None:
    records = [
        {"id": 1, "at": "2024-01-01T00:00:00Z", "n": None},
        {"id": 2, "at": "2024-01-02T00:00:00Z", "n": 1, "extra": {"k": [1]}},
        {"id": 3.5, "at": "not a date", "n": 2},
    ]
    assert infer_columns(records) == (
        SourceColumn("id", "json:number", "double precision"),
        SourceColumn("at", "json:string", "text"),
        SourceColumn("n", "json:integer", "bigint"),
        SourceColumn("extra", "json:object", "jsonb"),
    )
    assert infer_columns(records) == infer_columns(list(records))
    assert infer_columns([]) == ()
    assert infer_columns([{"x": None}]) == (SourceColumn("x", "json:null", "text"),)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", ""),
        ("a", "a"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (12345678901234567890, "12345678901234567890"),
        (0.1, "0.1"),
        (1e300, "1e+300"),
        ({"b": [1, "é"]}, '{"b":[1,"é"]}'),
        ([], "[]"),
    ],
)
def test_render_value(value: object, text: str | None) -> None:
    assert render_value(value) == text
