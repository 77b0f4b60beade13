"""raw -> staging -> marts on the running platform: ingestion's Asset events start the cosmos DAG.

`make run` built the dbt manifest before the dag-processor started, so ``transform_warehouse``
is loaded; a load of a source (here the store files) starts it through its raw Assets, and its
quality gate publishes the mart Assets. (The e2e platform keeps the DAG paused until this test:
``HELD_BACK`` in conftest.py.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from scrollintel import db
from tests.e2e.conftest import RunningPlatform, wait_for_json
from tests.marts import MARTS

pytestmark = pytest.mark.e2e

DAG_ID = "transform_warehouse"
INGESTION = ("ingest_shop", "ingest_marketing", "ingest_stores")


def _succeeded_once(client: httpx.Client, dag_id: str) -> None:
    """Wait until ``dag_id`` has a successful run (the platform starts each ingestion DAG by itself)."""
    wait_for_json(
        client,
        f"/api/v2/dags/{dag_id}/dagRuns?state=success&limit=1",
        lambda runs: runs.get("total_entries", 0) > 0,
        timeout=600,
    )


def _asset_triggered_success(client: httpx.Client) -> dict[str, Any]:
    """The first asset-triggered run of the DAG that built and gated everything (not a skipped early one)."""

    def done(runs: dict[str, Any]) -> bool:
        return any(_gate_state(client, run) == "success" for run in runs.get("dag_runs", []))

    runs = wait_for_json(
        client,
        f"/api/v2/dags/{DAG_ID}/dagRuns?run_type=asset_triggered&state=success&limit=20",
        done,
        timeout=780,  # under pytest's 900 s, so the failure shows the runs
    )
    return next(run for run in runs["dag_runs"] if _gate_state(client, run) == "success")


def _gate_state(client: httpx.Client, run: dict[str, Any]) -> str | None:
    answer = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/quality_gate")
    return answer.json().get("state") if answer.status_code == 200 else None


@pytest.fixture
def transform_unpaused(platform: RunningPlatform) -> Iterator[None]:
    """The DAG as `make run` leaves it: unpaused (the e2e platform holds it back until now, see HELD_BACK)."""
    with platform.client() as client:
        dag = wait_for_json(client, f"/api/v2/dags/{DAG_ID}", lambda d: d.get("dag_id") == DAG_ID)
        if dag["is_paused"]:
            assert client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).status_code == 200
    yield
    if dag["is_paused"]:
        with platform.client() as client:
            client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": True})


def test_a_source_load_builds_staging_and_marts_and_publishes_the_mart_assets(
    platform: RunningPlatform, transform_unpaused: None
) -> None:
    with platform.client() as client:
        errors = client.get("/api/v2/importErrors").json()["import_errors"]
        assert [error for error in errors if "transform_warehouse" in error["filename"]] == []
        for dag_id in INGESTION:
            _succeeded_once(client, dag_id)
        # every raw table exists now: one more load of a source must build everything
        client.post("/api/v2/dags/ingest_stores/dagRuns", json={"logical_date": None}).raise_for_status()
        run = _asset_triggered_success(client)
        tasks = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances?limit=100").json()
        states = {task["task_id"]: task["state"] for task in tasks["task_instances"]}
        events = client.get("/api/v2/assets/events", params={"source_dag_id": DAG_ID, "limit": 100}).json()
    assert {task: state for task, state in states.items() if state != "success"} == {}
    published = {event["uri"] for event in events["asset_events"] if event["source_run_id"] == run["dag_run_id"]}
    assert published == {f"x-scrollintel://warehouse/marts/{name}" for name in MARTS}
    with psycopg.connect(db.warehouse_url().replace(db.DRIVER, "postgresql")) as conn:
        for mart in MARTS:
            count = conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()
            assert count is not None and count[0] > 0, mart
        emails = [email for (email,) in conn.execute("SELECT email FROM staging.stg_shop__customers LIMIT 50")]
    assert emails and all(re.fullmatch(r"[0-9a-f]{64}", email) for email in emails)
    parse_lines = [
        line
        for line in (platform.state / "logs" / "dag-processor.log").read_text(errors="replace").splitlines()
        if "transform_warehouse.py" in line
    ]
    print("\ndag-processor on transform_warehouse.py:\n" + "\n".join(parse_lines[-5:]))
