"""How derived rows merge (Python side of the upserts) and what an event derives (no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from scrollintel.lineage import openlineage_events as events
from scrollintel.lineage import store
from scrollintel.lineage.nodes import dataset_uuid, field_uuid, job_uuid

pytestmark = pytest.mark.unit

T1, T2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)


def test_rows_of_one_key_merge_like_the_sql_does_whatever_their_order() -> None:
    key = job_uuid("ns", "j")
    older = (key, "ns", "j", "BATCH", None, "old text", "loc", {"a": 1, "b": 1}, T1, T1)
    newer = (key, "ns", "j", None, None, "new text", None, {"b": 2}, T2, T2)

    for rows in ([older, newer], [newer, older]):
        (merged,) = store.JOB.merge_rows(rows)
        assert merged == (key, "ns", "j", "BATCH", None, "new text", "loc", {"a": 1, "b": 2}, T1, T2)


def test_the_last_terminal_event_decides_the_end_state() -> None:
    run = job_uuid("ns", "run")
    fail = (run, run, None, None, "FAILED", T1, None, None, {}, T1, T1)
    complete = (run, run, None, None, "COMPLETED", T2, None, None, {}, T2, T2)
    start = (run, run, None, T1, None, None, None, None, {}, T1, T1)

    (merged,) = store.RUN.merge_rows([complete, start, fail])

    assert merged[3:6] == (T1, "COMPLETED", T2)


def test_upserts_only_write_when_the_merged_row_differs() -> None:
    sql = store.NAMESPACE.sql

    assert sql.startswith(
        "INSERT INTO governance.lineage_namespace AS t (name, created_at, updated_at) "
        "SELECT name, created_at, updated_at FROM (SELECT r ->> 0 AS name, (r ->> 1)::timestamptz AS created_at, "
        "(r ->> 2)::timestamptz AS updated_at FROM jsonb_array_elements(%s::jsonb) AS rows (r)) AS r "
    )
    assert "ON CONFLICT (name) DO UPDATE SET created_at = LEAST(t.created_at, excluded.created_at)" in sql
    assert sql.endswith(
        "WHERE (t.created_at, t.updated_at) IS DISTINCT FROM "
        "(LEAST(t.created_at, excluded.created_at), GREATEST(t.updated_at, excluded.updated_at))"
    )


def test_one_statement_writes_the_events_and_every_derived_table_in_foreign_key_order() -> None:
    parts = [line.split(" AS (", 1)[0].removeprefix("WITH ") for line in store.WRITE.splitlines()[:-1]]

    assert parts == ["w_event", *(f"w_{name}" for name in store.TABLES)]
    # PostgreSQL's numbered placeholders, one JSON parameter per part, in order (sent as is by a RawCursor)
    assert "%s" not in store.WRITE
    assert re.findall(r"\$(\d+)::json", store.WRITE) == [str(n) for n in range(1, 2 + len(store.TABLES))]
    assert store.WRITE.endswith("SELECT event_hash FROM w_event")


def test_an_ingestion_event_derives_its_graph_rows() -> None:
    event = events.validate_event(
        {
            "eventType": "COMPLETE",
            "eventTime": "2026-01-02T00:00:00Z",
            "producer": "p",
            "run": {"runId": "3f5e3f8a-0e4e-4c3e-9a6f-3f2b1d2c4e5f"},
            "job": {"namespace": "scrollintel", "name": "ingest_shop.load_customers"},
            "inputs": [{"namespace": "src", "name": "customers"}],
            "outputs": [
                {
                    "namespace": "wh",
                    "name": "raw.customers",
                    "facets": {
                        "schema": {"fields": [{"name": "email", "type": "text"}]},
                        "columnLineage": {
                            "fields": {
                                "email": {
                                    "inputFields": [
                                        {
                                            "namespace": "src",
                                            "name": "customers",
                                            "field": "email",
                                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                        }
                                    ]
                                }
                            }
                        },
                    },
                }
            ],
        }
    )

    rows = store.derive(event).by_table

    assert {row[0] for row in rows["namespace"]} == {"scrollintel", "src", "wh"}
    assert rows["run"][0][4:6] == ("COMPLETED", T2)
    assert rows["job_input"] == [
        (dataset_uuid("src", "customers"), job_uuid("scrollintel", "ingest_shop.load_customers"), T2, T2)
    ]
    (output,) = [row for row in rows["dataset"] if row[2] == "raw.customers" and row[9] is not None]
    assert output[10] == T2  # last modified: a COMPLETE wrote it
    assert rows["column_edge"] == [
        (
            field_uuid("wh", "raw.customers", "email"),
            field_uuid("src", "customers", "email"),
            job_uuid("scrollintel", "ingest_shop.load_customers"),
            "DIRECT",
            "IDENTITY",
            None,
            None,
            "facet",
            T2,
            T2,
        )
    ]
