"""Ingestion on the running platform: every demo source lands in `raw`, as Assets and DAG runs."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from scrollintel import db
from tests.e2e.conftest import RunningPlatform, wait_for_json

pytestmark = pytest.mark.e2e

SOURCES = {
    "ingest_shop": ["shop__customers", "shop__orders", "shop__order_items", "shop__payments"],
    "ingest_marketing": ["marketing__events", "marketing__campaigns"],
    "ingest_stores": ["stores__stores", "stores__inventory"],
}


def _run(client: httpx.Client, dag_id: str) -> dict[str, object]:
    run = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
    assert run.status_code == 200, run.text
    final = wait_for_json(
        client,
        f"/api/v2/dags/{dag_id}/dagRuns/{run.json()['dag_run_id']}",
        lambda r: r.get("state") in ("success", "failed"),
        timeout=400,
    )
    if final["state"] != "success":
        tasks = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{final['dag_run_id']}/taskInstances").json()
        states = {t["task_id"]: t["state"] for t in tasks["task_instances"]}
        raise AssertionError(f"{dag_id} {final['state']}: {states}")
    return final


def test_every_demo_source_lands_in_raw_and_a_rerun_is_green(platform: RunningPlatform) -> None:
    with platform.client() as client:
        for dag_id in SOURCES:
            wait_for_json(client, f"/api/v2/dags/{dag_id}", lambda d: d.get("dag_id") is not None)
            _run(client, dag_id)
        _run(client, "ingest_shop")  # incremental rerun: the staged merge path, nothing changes
        assets = {asset["name"] for asset in client.get("/api/v2/assets", params={"limit": 100}).json()["assets"]}
    with psycopg.connect(db.warehouse_url().replace(db.DRIVER, "postgresql")) as conn:
        for tables in SOURCES.values():
            for table in tables:
                assert f"raw.{table}" in assets
                count = conn.execute(f"SELECT count(*) FROM raw.{table}").fetchone()
                assert count is not None and count[0] > 0, table
