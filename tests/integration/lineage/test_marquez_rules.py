"""The Marquez compatibility rules of ADR 0008 through the HTTP API, one rule per test (real PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from scrollintel.web import URL_PREFIX
from tests.integration.lineage.conftest import LineageDb
from tests.integration.lineage.pipeline import JOBS, PRODUCER, RAW, STAGING, T0, WAREHOUSE, dataset, event

pytestmark = pytest.mark.integration

V1 = f"{URL_PREFIX}/api/v1"
#: Java's UUID.nameUUIDFromBytes("scheduled__2026-01-01T06:00:00+00:00".getBytes()), as Marquez derives it.
SCHEDULED_RUN = "scheduled__2026-01-01T06:00:00+00:00"
SCHEDULED_RUN_UUID = "aebf7f5c-396a-36cb-8f06-716121848911"


@pytest.fixture
def writer(client_factory: Callable[..., Any], make_token: Callable[..., str], api: LineageDb) -> Any:
    """A client of an Airflow user who may trigger DAG runs."""
    return client_factory(bearer=make_token(username="dp-engineer", role="user"))


def test_a_descriptive_facet_off_its_schema_is_stored_raw_flagged_and_not_derived(writer: Any, api: LineageDb) -> None:
    body = event("START", "ingest_shop.load_orders", at=T0, owner="data-platform")
    body["job"]["facets"]["ownership"]["owners"] = "data-platform"

    response = writer.post(f"{V1}/lineage", json=body)

    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [
        {"field": "job.facets.ownership.owners", "message": "must be an array, got string 'data-platform'"}
    ]
    with api.connect() as conn:
        raw = conn.execute("SELECT payload::jsonb->'job'->'facets'->'ownership' FROM governance.lineage_event")
        assert raw.fetchone()[0]["owners"] == "data-platform"
        facets = conn.execute("SELECT facets FROM governance.lineage_job").fetchone()[0]
        assert "ownership" not in facets and "jobType" in facets


def test_a_graph_facet_off_its_schema_is_still_refused(writer: Any, api: LineageDb) -> None:
    body = event("START", "j.t", at=T0, outputs=[dataset(RAW, {"schema": {"_producer": PRODUCER, "fields": "x"}})])

    response = writer.post(f"{V1}/lineage", json=body)

    assert response.status_code == 400
    assert response.json()["detail"] == "outputs[0].facets.schema.fields: must be an array, got string 'x'"


def test_a_run_id_that_is_not_a_uuid_gets_the_id_marquez_derives(writer: Any, api: LineageDb) -> None:
    body = event("START", "ingest_shop.load_orders", at=T0)
    body["run"]["runId"] = SCHEDULED_RUN
    child = event("START", "ingest_shop.load_orders.chunk", at=T0)
    child["run"]["facets"]["parent"] = {
        "_producer": PRODUCER,
        "run": {"runId": SCHEDULED_RUN},
        "job": {"namespace": JOBS, "name": "ingest_shop.load_orders"},
    }

    response = writer.post(f"{V1}/lineage", json=body)
    writer.post(f"{V1}/lineage", json=child)

    assert (response.status_code, response.json()["runId"]) == (201, SCHEDULED_RUN_UUID)
    assert writer.get(f"{V1}/jobs/runs/{SCHEDULED_RUN_UUID}").json()["id"] == SCHEDULED_RUN_UUID
    with api.connect() as conn:
        query = "SELECT parent_run_uuid FROM governance.lineage_run WHERE run_uuid = %s"
        parent = conn.execute(query, (uuid.UUID(child["run"]["runId"]),)).fetchone()[0]
    assert str(parent) == SCHEDULED_RUN_UUID


def test_a_late_start_never_reopens_a_run_and_only_completed_runs_modify_their_outputs(
    writer: Any, api: LineageDb
) -> None:
    done = "transform_dbt.customers"
    failed = "transform_dbt.orders"
    out_done, out_failed = (WAREHOUSE, "warehouse.marts.customers"), (WAREHOUSE, "warehouse.marts.orders")
    api.ingest(
        [
            event("START", done, at=T0, inputs=[dataset(STAGING)], outputs=[dataset(out_done)]),
            event("COMPLETE", done, at=T0 + timedelta(minutes=5)),
            event("START", done, at=T0 + timedelta(minutes=1)),  # arrives after COMPLETE, happened before
            event("RUNNING", done, at=T0 + timedelta(minutes=9)),  # a late event after the end
            event("START", failed, at=T0, outputs=[dataset(out_failed)]),
            event("FAIL", failed, at=T0 + timedelta(minutes=2)),
        ]
    )

    run = writer.get(f"{V1}/namespaces/{JOBS}/jobs/{done}").json()["latestRun"]
    written = writer.get(f"{V1}/namespaces/{quote(WAREHOUSE, safe='')}/datasets/{out_done[1]}").json()
    not_written = writer.get(f"{V1}/namespaces/{quote(WAREHOUSE, safe='')}/datasets/{out_failed[1]}").json()

    assert (run["state"], run["endedAt"]) == ("COMPLETED", "2026-01-01T06:05:00Z")
    assert written["lastModifiedAt"] == "2026-01-01T06:05:00Z"
    assert not_written["lastModifiedAt"] is None


def test_unknown_versions_and_sources_are_404s_that_say_what_is_missing(writer: Any, api: LineageDb) -> None:
    api.ingest([event("COMPLETE", "j.t", at=T0, outputs=[dataset(RAW)])])
    namespace = quote(WAREHOUSE, safe="")

    not_uuid = writer.get(f"{V1}/namespaces/{namespace}/datasets/{RAW[1]}/versions/latest")
    no_version = writer.get(f"{V1}/namespaces/{JOBS}/jobs/j.t/versions/{uuid.UUID(int=1)}")
    no_source = writer.get(f"{V1}/sources/nowhere")
    source = writer.get(f"{V1}/sources/{namespace}")

    assert (not_uuid.status_code, not_uuid.json()["detail"]) == (
        404,
        f"no version 'latest' of dataset {RAW[1]!r}: a version is a UUID",
    )
    assert no_version.status_code == 404
    assert no_version.json()["detail"] == f"no version '{uuid.UUID(int=1)}' of job 'j.t' in namespace 'scrollintel'"
    assert (no_source.status_code, no_source.json()["detail"]) == (404, "no source 'nowhere' in the lineage store")
    assert source.json() | {"createdAt": None, "updatedAt": None} == {
        "type": "POSTGRESQL",
        "name": WAREHOUSE,
        "createdAt": None,
        "updatedAt": None,
        "connectionUrl": WAREHOUSE,
        "description": None,
    }


def test_events_are_filtered_by_time_and_by_a_namespace_sent_unencoded(writer: Any, api: LineageDb) -> None:
    api.ingest([event("START", "j.t", at=T0 + timedelta(minutes=m)) for m in range(3)])
    api.ingest([{**event("START", "j.u", at=T0), "job": {"namespace": "postgres://x:1", "name": "j.u"}}])

    bounds = {"after": "2026-01-01T06:01:00Z", "before": "2026-01-01T06:02:00Z"}
    window = writer.get(f"{V1}/events/lineage", params=bounds)
    by_namespace = writer.get(f"{V1}/events/postgres://x:1")

    assert [e["eventTime"] for e in window.json()["events"]] == ["2026-01-01T06:02:00Z", "2026-01-01T06:01:00Z"]
    assert [e["job"]["name"] for e in by_namespace.json()["events"]] == ["j.u"]


def test_a_job_gets_a_new_version_when_its_runs_read_or_write_other_datasets(writer: Any, api: LineageDb) -> None:
    job = "transform_dbt.customers"
    raw_to_staging = {"inputs": [dataset(RAW)], "outputs": [dataset(STAGING)]}
    api.ingest(
        [
            event("COMPLETE", job, at=T0, attempt=1, **raw_to_staging),
            event("COMPLETE", job, at=T0 + timedelta(hours=1), attempt=2, **raw_to_staging),
            event("COMPLETE", job, at=T0 + timedelta(hours=2), inputs=[dataset(STAGING)], attempt=3),
        ]
    )

    versions = writer.get(f"{V1}/namespaces/{JOBS}/jobs/{job}/versions").json()
    runs = writer.get(f"{V1}/namespaces/{JOBS}/jobs/{job}/runs").json()["runs"]
    current = writer.get(f"{V1}/namespaces/{JOBS}/jobs/{job}").json()["currentVersion"]

    assert versions["totalCount"] == 2
    newest, first = versions["versions"]
    assert (newest["inputs"], newest["outputs"]) == ([{"namespace": WAREHOUSE, "name": STAGING[1]}], [])
    assert (first["createdAt"], first["updatedAt"]) == ("2026-01-01T06:00:00Z", "2026-01-01T07:00:00Z")
    assert [run["jobVersion"]["version"] for run in runs] == [newest["version"], first["version"], first["version"]]
    assert current == newest["version"] == newest["latestRun"]["jobVersion"]["version"]
