"""Validation of OpenLineage events against the spec and the openlineage-python client's models (no database)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from scrollintel.lineage import openlineage_events as events
from scrollintel.lineage.errors import InvalidEvent, PayloadTooLarge

pytestmark = pytest.mark.unit

RUN_ID = "3f5e3f8a-0e4e-4c3e-9a6f-3f2b1d2c4e5f"


def run_event() -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2026-01-01T06:00:00.123Z",
        "producer": "https://github.com/apache/airflow",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID, "facets": {"nominalTime": {"nominalStartTime": "2026-01-01T06:00:00Z"}}},
        "job": {"namespace": "scrollintel", "name": "ingest_shop.load_customers", "facets": {}},
        "inputs": [{"namespace": "postgres://shop:5432", "name": "shop.public.customers", "facets": {}}],
        "outputs": [
            {
                "namespace": "postgres://warehouse:5432",
                "name": "warehouse.raw.shop__customers",
                "facets": {
                    "schema": {"fields": [{"name": "email", "type": "text"}]},
                    "columnLineage": {
                        "fields": {
                            "email": {
                                "inputFields": [
                                    {
                                        "namespace": "postgres://shop:5432",
                                        "name": "shop.public.customers",
                                        "field": "email",
                                    }
                                ]
                            }
                        }
                    },
                },
                "outputFacets": {"outputStatistics": {"rowCount": 3}},
            }
        ],
    }


def test_a_valid_run_event_is_read_with_its_parts() -> None:
    event = events.validate_event(run_event())

    assert (event.kind, event.event_type, str(event.run_id)) == ("run", "START", RUN_ID)
    assert event.event_time.isoformat() == "2026-01-01T06:00:00.123000+00:00"
    assert event.job is not None and event.job.name == "ingest_shop.load_customers"
    assert [d.name for d in event.datasets] == ["shop.public.customers", "warehouse.raw.shop__customers"]
    assert event.outputs[0].io_facets == {"outputStatistics": {"rowCount": 3}}
    assert len(event.digest) == 64


def test_the_digest_ignores_key_order_and_whitespace() -> None:
    original = run_event()
    reordered = json.loads(json.dumps(dict(reversed(list(original.items())))))

    assert events.validate_event(original).digest == events.validate_event(reordered).digest


def test_dataset_and_job_events_are_told_apart_by_schema_url_or_keys() -> None:
    dataset_event = {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "p",
        "dataset": {"namespace": "s3://b", "name": "k"},
    }
    job_event = {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "n", "name": "j"},
    }

    assert events.validate_event(dataset_event).kind == "dataset"
    assert events.validate_event(job_event).kind == "job"


def _del(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def mutate(event: dict[str, Any]) -> None:
        target: Any = event
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _set(value: Any, *path: str | int) -> Callable[[dict[str, Any]], None]:
    def mutate(event: dict[str, Any]) -> None:
        target: Any = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (_del("run", "runId"), "run.runId", "required field is missing"),
        (_del("job"), "job", "required field is missing"),
        (_del("eventTime"), "eventTime", "required field is missing"),
        (_del("producer"), "producer", "required field is missing"),
        (
            _set("DONE", "eventType"),
            "eventType",
            "must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER, got string 'DONE'",
        ),
        (_set("start", "eventType"), "eventType", "got string 'start'"),
        (_set(12, "eventType"), "eventType", "must be a string, got number 12"),
        (_set(["a"], "run", "runId"), "run.runId", "must be a string, got an array"),
        (_set("yesterday", "eventTime"), "eventTime", "must be an ISO 8601 date-time"),
        (_set("2026-01-01", "eventTime"), "eventTime", "with a time part"),
        (_set(True, "job", "namespace"), "job.namespace", "must be a string, got boolean true"),
        (_set("", "job", "name"), "job.name", "must not be empty"),
        (_set("x", "job", "facets"), "job.facets", "must be an object, got string 'x'"),
        (_set(3, "run", "facets", "anything"), "run.facets.anything", "must be an object, got number 3"),
        (_set({}, "inputs", 0), "inputs[0].namespace", "required field is missing"),
        (
            _set(None, "outputs", 0, "facets", "schema", "fields", 0, "name"),
            "outputs[0].facets.schema.fields[0].name",
            "must be a string, got null",
        ),
        (
            _del("outputs", 0, "facets", "columnLineage", "fields", "email", "inputFields", 0, "field"),
            "outputs[0].facets.columnLineage.fields.email.inputFields[0].field",
            "required field is missing",
        ),
        (_set(" ", "run", "runId"), "run.runId", "must not be empty"),
        (
            _set({"_producer": "p", "fields": "x"}, "outputs", 0, "facets", "schema"),
            "outputs[0].facets.schema.fields",
            "must be an array",
        ),
        (_set("x" * 2000, "job", "name"), "job.name", "bytes long; the limit is 1,024"),
        (_set({"v": "a\u0000b"}, "job", "facets", "note"), "job.facets.note.v", "contains a NUL character"),
    ],
)
def test_an_invalid_event_names_its_failing_field(
    mutate: Callable[[dict[str, Any]], None], field: str, message: str
) -> None:
    event = copy.deepcopy(run_event())
    mutate(event)

    with pytest.raises(InvalidEvent) as caught:
        events.validate_event(event)

    assert caught.value.field == field
    assert message in caught.value.message
    assert str(caught.value) == f"{field}: {caught.value.message}"


def test_all_structural_problems_are_listed_the_first_one_in_the_message() -> None:
    event = run_event()
    del event["run"]["runId"]
    event["job"]["name"] = 5

    with pytest.raises(InvalidEvent) as caught:
        events.validate_event(event)

    assert [p["field"] for p in events.problems_of(caught.value)] == ["run.runId", "job.name"]


def test_an_oversized_event_names_its_largest_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(events.ENV_MAX_EVENT_BYTES, "4000")
    event = run_event()
    event["run"]["facets"]["spark_logicalPlan"] = {"plan": ["node" * 100 for _ in range(20)]}

    with pytest.raises(InvalidEvent) as caught:
        events.validate_event(event)

    assert caught.value.field == "run.facets.spark_logicalPlan.plan"
    assert "over the limit of 4,000 bytes" in caught.value.message


def test_an_event_that_is_not_an_object_or_not_json_is_refused_at_the_root() -> None:
    with pytest.raises(InvalidEvent, match=r"^\$: an event must be a JSON object, got an array$"):
        events.validate_event([])
    with pytest.raises(InvalidEvent, match=r"^\$: body is not valid JSON: Expecting value"):
        events.parse_body(b"{'single quotes': 1}"[1:])
    with pytest.raises(InvalidEvent, match=r"^\$: body is not UTF-8 text"):
        events.parse_body(b'{"a": "\xff"}')
    with pytest.raises(InvalidEvent, match=r"^\$: body is not valid JSON: NaN is not a JSON value"):
        events.parse_body(b'{"a": NaN}')
    with pytest.raises(InvalidEvent, match=r"^\$: body is not valid JSON: -Infinity is not a JSON value"):
        events.parse_body(b'{"a": [1, -Infinity]}')


def test_a_body_keeps_integers_past_64_bits_and_escaped_lone_surrogates() -> None:
    # both are JSON; a faster parser that made the integer a float or refused the escape would fail here
    assert events.parse_body(b'{"a": [1, 2.5, "x"], "b": null}') == {"a": [1, 2.5, "x"], "b": None}
    value = events.parse_body(b'{"big": 123456789012345678901234567890, "neg": -9223372036854775809}')
    assert value == {"big": 123456789012345678901234567890, "neg": -9223372036854775809}
    assert events.canonical_json(value) == '{"big":123456789012345678901234567890,"neg":-9223372036854775809}'
    assert events.parse_body(b'{"s": "\\ud800"}') == {"s": "\ud800"}


def test_the_digest_is_taken_of_sorted_compact_json_whatever_the_numbers() -> None:
    assert events.canonical_json({"b": [1, 1.5e-07], "a": {"z": 'é"', "y": None}}) == (
        '{"a":{"y":null,"z":"é\\""},"b":[1,1.5e-7]}'
    )
    big = {"b": 2**70, "a": True}  # past 64 bits: the standard library writes it, in the same shape
    assert events.canonical_json(big) == '{"a":true,"b":1180591620717411303424}'
    first = events.validate_event(run_event())
    reordered = events.validate_event(json.loads(json.dumps(run_event(), indent=2, sort_keys=True)))
    assert first.digest == reordered.digest


def test_the_request_size_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(events.ENV_MAX_REQUEST_BYTES, "10")

    events.check_request_size(10)
    with pytest.raises(PayloadTooLarge, match="request body is 11 bytes; the limit is 10 bytes"):
        events.check_request_size(11)


def test_ndjson_lines_keep_their_numbers() -> None:
    assert events.split_ndjson(b'{"a":1}\n\n  \n{"b":2}\n') == [(1, b'{"a":1}'), (4, b'{"b":2}')]


def test_a_run_id_that_is_not_a_uuid_is_accepted_with_the_id_marquez_derives() -> None:
    event = run_event()
    event["run"]["runId"] = "manual__2026-01-01T06:00:00+00:00"

    valid = events.validate_event(event)

    # Java's UUID.nameUUIDFromBytes of the text: its MD5 with the version 3 and IETF variant bits set
    assert valid.run_id == uuid.UUID("64cf1c7b-e1f2-3922-92f7-0536e1b8256d")
    assert valid.run_id is not None and valid.run_id.version == 3
    assert events.run_uuid_of(str(valid.run_id)) == valid.run_id


def test_an_invalid_descriptive_facet_is_accepted_flagged_and_not_derived_from() -> None:
    event = run_event()
    event["run"]["facets"]["parent"] = {"run": {"runId": 1}, "job": "ingest_shop"}
    event["job"]["facets"]["ownership"] = {"owners": "data-platform"}

    valid = events.validate_event(event)

    assert {w["field"] for w in valid.warnings} == {
        "run.facets.parent.run.runId",
        "run.facets.parent.job",
        "job.facets.ownership.owners",
    }
    assert "parent" not in valid.run_facets
    assert valid.job is not None and "ownership" not in valid.job.facets
    assert valid.payload["run"]["facets"]["parent"] == {"run": {"runId": 1}, "job": "ingest_shop"}  # kept as sent


def test_a_child_job_is_named_after_its_parent_as_marquez_names_it() -> None:
    parent = {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "scrollintel", "name": "ingest_shop"}}
    event = run_event()
    event["run"]["facets"]["parent"] = parent

    event["job"]["name"] = "load_orders"
    assert events.validate_event(event).job.name == "ingest_shop.load_orders"  # type: ignore[union-attr]
    event["job"]["name"] = "ingest_shop.load_orders"
    assert events.validate_event(event).job.name == "ingest_shop.load_orders"  # type: ignore[union-attr]
    event["job"]["name"] = "ingest_shop"
    assert events.validate_event(event).job.name == "ingest_shop"  # type: ignore[union-attr]
