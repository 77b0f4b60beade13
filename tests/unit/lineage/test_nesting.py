"""JSON nested past the limit is an InvalidEvent naming the limit, for single events, NDJSON lines and batches."""

from __future__ import annotations

import json

import pytest

from scrollintel.lineage.errors import InvalidEvent
from scrollintel.lineage.openlineage_events import MAX_JSON_DEPTH, check_depth, parse_body

pytestmark = pytest.mark.unit


def nested(levels: int) -> bytes:
    """An object ``levels`` deep (the outer object is level 1)."""
    return b'{"a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 500, 1_000, 100_000])
def test_a_body_nested_past_the_limit_is_refused_naming_the_limit(levels: int) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_body(nested(levels))

    assert f"the limit is {MAX_JSON_DEPTH} levels" in str(caught.value) or f"more than {MAX_JSON_DEPTH} levels" in str(
        caught.value
    )


def test_the_path_named_is_where_the_limit_is_passed_cut_short() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_body(b'{"run": {"facets": {"deep": ' + nested(MAX_JSON_DEPTH) + b"}}}")

    assert caught.value.field == "run.facets.deep.a..."
    assert str(caught.value).endswith(
        f"JSON is nested more than {MAX_JSON_DEPTH} levels deep (the limit on objects and arrays in an event)"
    )


def test_a_body_at_the_limit_and_wide_bodies_are_read() -> None:
    assert parse_body(nested(MAX_JSON_DEPTH)) is not None
    wide = json.dumps({"fields": [{"name": str(i), "tags": [{"k": i}]} for i in range(500)]}).encode()
    assert len(parse_body(wide)["fields"]) == 500


def test_a_batch_array_is_read_whole_and_each_event_checked_alone() -> None:
    deep = json.loads(nested(MAX_JSON_DEPTH + 1))
    batch = parse_body(json.dumps([{"ok": [1]}, deep]).encode(), max_depth=None)

    check_depth(batch[0])
    with pytest.raises(InvalidEvent, match="nested more than"):
        check_depth(batch[1])


def test_the_quick_look_at_brackets_agrees_with_the_parsed_depth() -> None:
    from scrollintel.lineage.openlineage_events import brackets_within

    assert brackets_within(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert not brackets_within(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert brackets_within(b'{"a": [1, {"b": []}], "c": {}}', 4)
    assert not brackets_within(b'{"a": [1, {"b": []}], "c": {}}', 3)  # one level per pass, whatever the brackets
    assert not brackets_within(b"[" + nested(MAX_JSON_DEPTH) + b"]", MAX_JSON_DEPTH)
    unpaired = b'{"a": "]", "b": {}, "c": {}, "d": {}}'  # a bracket in a string: the parsed value is measured
    assert not brackets_within(unpaired, 3)
    assert parse_body(unpaired, max_depth=3)["a"] == "]"
    assert parse_body(b'{"a": "' + b"[" * 500 + b'"}') == {"a": "[" * 500}


def test_an_event_too_deep_to_encode_is_refused_naming_the_limit() -> None:
    from scrollintel.lineage.openlineage_events import validate_event

    value: dict[str, object] = {}
    for _ in range(5_000):  # deeper than the encoders go: built in Python, not parsed
        value = {"a": value}

    with pytest.raises(InvalidEvent, match=f"nested too deeply to store; the limit is {MAX_JSON_DEPTH} levels"):
        validate_event(
            {
                "eventTime": "2026-01-01T00:00:00Z",
                "producer": "p",
                "job": {"namespace": "n", "name": "j", "facets": {"x": value}},
            }
        )
