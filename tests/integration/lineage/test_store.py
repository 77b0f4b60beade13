"""The store's write path on a real PostgreSQL: derivation, idempotency, run states, per-event isolation, grants."""

from __future__ import annotations

import copy
import random
from typing import Any

import psycopg
import pytest

from scrollintel.lineage import openlineage_events as lineage_events
from scrollintel.lineage.nodes import dataset_uuid, field_uuid, job_uuid
from scrollintel.lineage.store import TABLES
from tests.integration.lineage.conftest import LineageDb
from tests.integration.lineage.pipeline import (
    EXPORT,
    JOBS,
    RAW,
    SOURCE,
    STAGING,
    T0,
    event,
    pipeline_events,
    run_id,
)

pytestmark = pytest.mark.integration

#: Every derived table, as the store writes them.
DERIVED = tuple(table.name for table in TABLES.values())


def snapshot(lineage_db: LineageDb, *, with_xmin: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every lineage table (with the version of each row when ``with_xmin``)."""
    tables = {}
    with lineage_db.connect() as conn:
        for table in (*DERIVED, "lineage_event"):
            version = "xmin::text, " if with_xmin else ""
            columns = "*" if table != "lineage_event" else "event_hash, kind, event_type, payload"
            rows = conn.execute(f"SELECT {version}{columns} FROM governance.{table}").fetchall()
            tables[table] = sorted(rows, key=repr)
    return tables


def test_an_event_becomes_jobs_runs_datasets_fields_edges_and_column_edges(lineage_db: LineageDb) -> None:
    results = lineage_db.ingest(pipeline_events())

    assert [r.status for r in results] == ["created"] * 8
    with lineage_db.connect() as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM governance.{t}").fetchone()[0] for t in DERIVED}
        run = conn.execute(
            "SELECT state, started_at, ended_at FROM governance.lineage_run WHERE run_uuid = %s",
            (run_id("ingest_shop.load_customers"),),
        ).fetchone()
        edge = conn.execute(
            "SELECT transformation_type, transformation_subtype, masking, origin FROM governance.lineage_column_edge "
            "WHERE dst_field_id = %s",
            (field_uuid(*RAW, "email"),),
        ).fetchone()
        raw = conn.execute(
            "SELECT fields, current_version, last_run_uuid FROM governance.lineage_dataset WHERE id = %s",
            (dataset_uuid(*RAW),),
        ).fetchone()
    assert counts == {
        "lineage_namespace": 3,
        "lineage_job": 4,
        "lineage_dataset": 5,
        "lineage_dataset_field": 5 + 6 + 5 + 3 + 1,
        "lineage_run": 4,
        "lineage_dataset_version": 4,
        "lineage_run_dataset": 8,
        "lineage_job_input": 4,
        "lineage_job_output": 4,
        "lineage_column_edge": 5 + 5 + 3 + 1,
    }
    assert run[0] == "COMPLETED"
    assert (run[2] - run[1]).total_seconds() == 120
    assert edge == ("DIRECT", "IDENTITY", False, "facet")
    assert [f["name"] for f in raw[0]] == ["customer_id", "email", "first_name", "birth_date", "city", "_loaded_at"]
    assert raw[2] is not None and raw[1] is not None


def test_replaying_every_event_changes_no_row(lineage_db: LineageDb) -> None:
    events = pipeline_events()
    lineage_db.ingest(events)
    before = snapshot(lineage_db)

    replayed = lineage_db.ingest(events)
    one_by_one = [lineage_db.ingest([item])[0] for item in reversed(events)]

    assert {r.status for r in replayed + one_by_one} == {"duplicate"}
    assert snapshot(lineage_db) == before  # xmin included: not even rewritten


def test_the_derived_tables_do_not_depend_on_the_order_or_grouping_of_events(
    new_lineage_db: Any,
) -> None:
    events = pipeline_events()
    in_order, shuffled = new_lineage_db(), new_lineage_db()
    in_order.ingest(events)
    mixed = events[:]
    random.Random(7).shuffle(mixed)
    for index in range(0, len(mixed), 3):
        shuffled.ingest(mixed[index : index + 3])

    assert snapshot(shuffled, with_xmin=False) == snapshot(in_order, with_xmin=False)


def test_a_late_start_does_not_reopen_a_finished_run_and_the_last_terminal_event_wins(lineage_db: LineageDb) -> None:
    job = "ingest_shop.load_orders"
    complete = event("COMPLETE", job, at=T0.replace(minute=5))
    start = event("START", job, at=T0)
    fail_later = event("FAIL", job, at=T0.replace(minute=9))
    lineage_db.ingest([complete])
    lineage_db.ingest([start])

    with lineage_db.connect() as conn:
        query = "SELECT state, started_at, ended_at FROM governance.lineage_run WHERE run_uuid = %s"
        finished = conn.execute(query, (run_id(job),)).fetchone()
        lineage_db.ingest([fail_later])
        failed = conn.execute(query, (run_id(job),)).fetchone()

    assert finished == ("COMPLETED", T0, T0.replace(minute=5))
    assert failed == ("FAILED", T0, T0.replace(minute=9))


def test_a_running_event_only_starts_a_run(lineage_db: LineageDb) -> None:
    lineage_db.ingest([event("RUNNING", "j.t", at=T0), event("OTHER", "j.u", at=T0)])

    with lineage_db.connect() as conn:
        states = dict(
            conn.execute(
                "SELECT j.name, r.state FROM governance.lineage_run r JOIN governance.lineage_job j ON j.id = r.job_id"
            ).fetchall()
        )
    assert states == {"j.t": "RUNNING", "j.u": "NEW"}


def test_newer_facets_win_and_older_ones_only_fill_gaps(lineage_db: LineageDb) -> None:
    newer = event("START", "j.t", at=T0.replace(hour=8))
    newer["job"]["facets"]["documentation"] = {"_producer": "p", "_schemaURL": "s", "description": "newer"}
    older = event("START", "j.t", at=T0.replace(hour=7), attempt=2)
    older["job"]["facets"]["documentation"] = {"_producer": "p", "_schemaURL": "s", "description": "older"}
    older["job"]["facets"]["sourceCodeLocation"] = {"_producer": "p", "_schemaURL": "s", "type": "git", "url": "u"}

    lineage_db.ingest([newer])
    lineage_db.ingest([older])

    with lineage_db.connect() as conn:
        row = conn.execute(
            "SELECT description, location, facets->'documentation'->>'description', created_at, updated_at "
            "FROM governance.lineage_job WHERE id = %s",
            (job_uuid(JOBS, "j.t"),),
        ).fetchone()
    assert row == ("newer", "u", "newer", T0.replace(hour=7), T0.replace(hour=8))


def test_a_batch_keeps_the_good_events_and_the_raw_bad_one_when_the_database_refuses_its_lineage(
    lineage_db: LineageDb,
) -> None:
    with lineage_db.connect() as conn:  # a database rule the event breaks (as a site-specific constraint would)
        conn.execute("ALTER TABLE governance.lineage_job ADD CONSTRAINT no_bad_jobs CHECK (name <> 'j.bad')")
    good, bad = event("START", "j.good", at=T0), event("START", "j.bad", at=T0)

    results = lineage_db.ingest([good, bad, copy.deepcopy(good)])

    assert [(r.status, r.derived) for r in results] == [("created", True), ("created", False), ("duplicate", True)]
    assert results[1].warning is not None
    assert results[1].warning.startswith("the database refused its derived lineage (new row for relation")
    assert results[1].warning.endswith("the raw event is kept")
    with lineage_db.connect() as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM governance.lineage_job ORDER BY name")]
        kept = [r[0] for r in conn.execute("SELECT job_name FROM governance.lineage_event ORDER BY job_name")]
    assert names == ["j.good"]
    assert kept == ["j.bad", "j.good"]


def test_an_event_whose_raw_row_the_database_refuses_fails_alone(lineage_db: LineageDb) -> None:
    with lineage_db.connect() as conn:
        conn.execute("ALTER TABLE governance.lineage_event ADD CONSTRAINT no_bad CHECK (job_name <> 'j.bad')")

    results = lineage_db.ingest([event("START", "j.good", at=T0), event("START", "j.bad", at=T0)])

    assert [r.status for r in results] == ["created", "failed"]
    assert results[1].error is not None
    assert results[1].error.startswith('the database refused the event: new row for relation "lineage_event"')


@pytest.mark.timeout(180)
def test_a_batch_of_megabytes_is_written_in_one_transaction(lineage_db: LineageDb) -> None:
    """As big as the batch endpoint takes: the whole write goes through one statement without stalling."""
    note = {"_producer": "p", "_schemaURL": "x", "text": "lineage " * 800}  # ~6 KB per event
    events = []
    for index in range(1_500):
        item = event("COMPLETE", f"j.{index % 300}", at=T0, attempt=index)
        item["run"]["facets"] = {"note": note}
        events.append(item)

    results = lineage_db.ingest(events)

    assert [r.status for r in results] == ["created"] * 1_500
    with lineage_db.connect() as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM governance.{t}").fetchone()[0] for t in ("lineage_run", "lineage_job")
        ]
    assert counts == [1_500, 300]


def test_column_lineage_comes_from_the_sql_facet_when_the_event_has_none(lineage_db: LineageDb) -> None:
    sql_event = event(
        "COMPLETE",
        "transform_dbt.stg_shop__customers",
        at=T0,
        inputs=[{"namespace": RAW[0], "name": RAW[1]}],
        outputs=[{"namespace": STAGING[0], "name": STAGING[1]}],
    )
    sql_event["job"]["facets"]["sql"] = {
        "_producer": "p",
        "_schemaURL": "s",
        "query": "create view staging.stg_shop__customers as select customer_id, "
        "encode(sha256(convert_to(email, 'UTF8')), 'hex') as email, upper(city) as city from raw.shop__customers",
    }

    lineage_db.ingest([sql_event])

    with lineage_db.connect() as conn:
        edges = conn.execute(
            "SELECT s.name, d.name, e.transformation_subtype, e.masking, e.origin "
            "FROM governance.lineage_column_edge e "
            "JOIN governance.lineage_dataset_field s ON s.id = e.src_field_id "
            "JOIN governance.lineage_dataset_field d ON d.id = e.dst_field_id ORDER BY 1"
        ).fetchall()
    assert edges == [
        ("city", "city", "TRANSFORMATION", None, "sql"),
        ("customer_id", "customer_id", "IDENTITY", False, "sql"),
        ("email", "email", "TRANSFORMATION", True, "sql"),
    ]


def test_job_and_dataset_events_update_the_graph_without_runs(lineage_db: LineageDb) -> None:
    job_event = {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": JOBS, "name": "declared.job"},
        "inputs": [{"namespace": SOURCE[0], "name": SOURCE[1]}],
        "outputs": [{"namespace": EXPORT[0], "name": EXPORT[1]}],
    }
    dataset_event = {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "s3://bucket",
            "name": "landing/file.csv",
            "facets": {"documentation": {"_producer": "p", "_schemaURL": "s", "description": "a landing file"}},
        },
    }

    assert [r.status for r in lineage_db.ingest([job_event, dataset_event])] == ["created", "created"]

    with lineage_db.connect() as conn:
        runs = conn.execute("SELECT count(*) FROM governance.lineage_run").fetchone()[0]
        edges = conn.execute("SELECT count(*) FROM governance.lineage_job_output").fetchone()[0]
        described = conn.execute(
            "SELECT description FROM governance.lineage_dataset WHERE name = 'landing/file.csv'"
        ).fetchone()
    assert (runs, edges, described) == (0, 1, ("a landing file",))


def test_the_runtime_role_may_append_events_but_never_change_or_delete_them(lineage_db: LineageDb) -> None:
    lineage_db.ingest(pipeline_events()[:1])

    with psycopg.connect(lineage_db.url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        for statement in (
            "UPDATE governance.lineage_event SET producer = 'x'",
            "DELETE FROM governance.lineage_event",
            "DELETE FROM governance.lineage_job",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_validation_failures_store_nothing(lineage_db: LineageDb) -> None:
    broken = event("START", "j.t", at=T0)
    del broken["run"]["runId"]

    with pytest.raises(lineage_events.InvalidEvent, match=r"^run\.runId: required field is missing$"):
        lineage_db.ingest([broken])

    assert snapshot(lineage_db, with_xmin=False) == {table: [] for table in (*DERIVED, "lineage_event")}
