"""Lineage on the running platform: Airflow's OpenLineage provider posts to the store, Marquez-shaped reads answer."""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

import httpx
import psycopg
import pytest

from scrollintel import db
from scrollintel.warehouse import warehouse_namespace
from tests.e2e.conftest import RunningPlatform, wait_for_json

pytestmark = pytest.mark.e2e

DAG_ID = "ingest_shop"
RAW_CUSTOMERS = f"dataset:{warehouse_namespace()}:warehouse.raw.shop__customers"


def _run(client: httpx.Client, dag_id: str) -> str:
    wait_for_json(client, f"/api/v2/dags/{dag_id}", lambda d: d.get("dag_id") is not None)
    run = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
    assert run.status_code == 200, run.text
    final = wait_for_json(
        client,
        f"/api/v2/dags/{dag_id}/dagRuns/{run.json()['dag_run_id']}",
        lambda r: r.get("state") in ("success", "failed"),
        timeout=400,
    )
    assert final["state"] == "success", final
    return str(final["dag_run_id"])


def test_an_ingestion_run_arrives_in_the_store_and_reads_back_in_marquez_shape(platform: RunningPlatform) -> None:
    with platform.client() as client:
        run_id = _run(client, DAG_ID)
        tasks = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        # The provider posts after each task; give the last events a moment to land.
        graph = wait_for_json(
            client,
            f"/scrollintel/api/v1/lineage?nodeId={quote(RAW_CUSTOMERS, safe='')}&depth=2",
            lambda body: any(node["type"] == "JOB" for node in body.get("graph", [])),  # type: ignore[union-attr]
            timeout=60,
        )
        namespaces = client.get("/scrollintel/api/v1/namespaces").json()
        raw = client.get(
            f"/scrollintel/api/v1/namespaces/{quote(warehouse_namespace(), safe='')}/datasets/"
            "warehouse.raw.shop__customers"
        ).json()
        impact = client.get("/scrollintel/api/lineage/impact", params={"nodeId": RAW_CUSTOMERS, "format": "csv"})

    jobs = {node["id"] for node in graph["graph"] if node["type"] == "JOB"}  # type: ignore[attr-defined]
    assert any(job.startswith("job:scrollintel:ingest_shop.") for job in jobs), jobs
    assert "scrollintel" in {n["name"] for n in namespaces["namespaces"]}
    assert raw["scrollintel"]["owners"][0]["team"] == "data-platform"
    assert raw["scrollintel"]["classification"]["email"][0]["classId"] == "email"
    assert raw["scrollintel"]["lastRun"]["state"] == "COMPLETED"
    assert impact.status_code == 200 and impact.text.startswith("type,node_id,")
    with psycopg.connect(db.warehouse_url().replace(db.DRIVER, "postgresql")) as conn:
        rows = conn.execute(
            "SELECT job_name, event_type FROM governance.lineage_event WHERE received_by = %s",
            ("api-key:scrollintel_lineage",),
        ).fetchall()
    counts = Counter(rows)
    for task in tasks:
        if task["state"] != "success":
            continue  # skipped tasks send nothing
        job = f"{DAG_ID}.{task['task_id']}"
        assert counts[(job, "START")] >= 1 and counts[(job, "COMPLETE")] >= 1, (job, counts)
