"""Celery scale-out on one machine: two workers share the work, the heavy queue has its worker, and a
worker killed mid-load costs nothing (ADR 0017).

One platform start, two phases that overlap to save time:

1. the shop source's ingestion starts while the test holds the loader's advisory lock of
   ``raw.shop__orders``, so the ``orders`` task waits inside its load transaction; meanwhile
   ``celery_fanout`` (16 short tasks, 2 on the ``heavy`` queue) runs to success: its tasks ran on
   both workers, the heavy ones on ``worker-heavy`` only, and Flower lists both workers;
2. the worker running ``orders`` is killed with SIGKILL (its whole process tree: Celery, the task
   supervisor and the task, as when a machine dies), the lock is released; the scheduler detects
   the task without a heartbeat and retries it on the other worker, the run succeeds, and every
   shop table's raw copy has exactly the source's rows (count, distinct keys and a checksum over
   every column, as in ``tests/integration/ingest/test_kill.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from scrollintel import db
from scrollintel.dag_defaults import HEAVY_QUEUE
from scrollintel.platform import celery_service, launcher
from tests.e2e.conftest import RunningPlatform, wait_for_json
from tests.e2e_celery.conftest import FANOUT_DAG_ID, FANOUT_DEFAULT_TASKS, FANOUT_HEAVY_TASKS, HEARTBEAT_TIMEOUT_S
from tests.integration.ingest.helpers import checksum

pytestmark = pytest.mark.e2e

SOURCE = "shop"
DAG_ID = f"ingest_{SOURCE}"
KILLED_TASK = "orders"
WORKER_NAMES = {worker.hostname for worker in celery_service.WORKERS}
HEAVY_WORKER = next(worker.hostname for worker in celery_service.WORKERS if HEAVY_QUEUE in worker.queues)


def _lock_key() -> str:
    from scrollintel.warehouse import raw_table

    # The key scrollintel.ingest.loader takes with pg_advisory_xact_lock at the start of a load.
    return f"scrollintel.ingest:{raw_table(SOURCE, KILLED_TASK)}"


def _waiting_loads(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def held_load(celery_platform: RunningPlatform) -> Iterator[psycopg.Connection[Any]]:
    """The shop ingestion started while its ``orders`` load waits on a lock the test holds."""
    conn = psycopg.connect(db.libpq_url(db.admin_url("warehouse")), autocommit=True)
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (_lock_key(),))
    with celery_platform.client() as client:
        wait_for_json(client, f"/api/v2/dags/{DAG_ID}", lambda d: d.get("dag_id") is not None)
        # Unpausing creates the run of the latest hourly interval (catchup is off).
        assert client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).status_code == 200
    try:
        yield conn
    finally:
        conn.close()  # releases the lock if a test failed before it did


def _final_run(client: httpx.Client, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
    final = wait_for_json(
        client,
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}",
        lambda r: r.get("state") in ("success", "failed"),
        timeout=timeout,
    )
    if final["state"] != "success":
        tis = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        raise AssertionError(f"{dag_id} {final['state']}: {[(t['task_id'], t['state'], t['hostname']) for t in tis]}")
    return final


def test_tasks_spread_over_both_workers_and_heavy_ones_go_to_the_heavy_worker(
    celery_platform: RunningPlatform, held_load: psycopg.Connection[Any]
) -> None:
    with celery_platform.client() as client:
        wait_for_json(client, f"/api/v2/dags/{FANOUT_DAG_ID}", lambda d: d.get("dag_id") is not None)
        assert client.patch(f"/api/v2/dags/{FANOUT_DAG_ID}", json={"is_paused": False}).status_code == 200
        run = client.post(f"/api/v2/dags/{FANOUT_DAG_ID}/dagRuns", json={"logical_date": None})
        assert run.status_code == 200, run.text
        run_id = run.json()["dag_run_id"]
        _final_run(client, FANOUT_DAG_ID, run_id, timeout=300)
        tis = client.get(f"/api/v2/dags/{FANOUT_DAG_ID}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        # The platform's own dbt and ML tasks are routed to the heavy queue too.
        transform_queues = {t["queue"] for t in client.get("/api/v2/dags/transform_warehouse/tasks").json()["tasks"]}
        train_queues = {t["queue"] for t in client.get("/api/v2/dags/ml_churn_train/tasks").json()["tasks"]}
    assert len(tis) == FANOUT_DEFAULT_TASKS + FANOUT_HEAVY_TASKS
    default = [t for t in tis if t["task_id"].startswith("short_")]
    heavy = [t for t in tis if t["task_id"].startswith("heavy_")]
    assert {t["queue"] for t in default} == {celery_service.DEFAULT_QUEUE}
    assert {t["queue"] for t in heavy} == {HEAVY_QUEUE}
    assert {t["hostname"] for t in tis} == WORKER_NAMES, [(t["task_id"], t["hostname"]) for t in tis]
    assert {t["hostname"] for t in heavy} == {HEAVY_WORKER}
    assert transform_queues == {HEAVY_QUEUE}
    assert train_queues == {HEAVY_QUEUE}

    ports = launcher.platform_ports(launcher.layout())
    workers = httpx.get(
        f"http://127.0.0.1:{ports['flower']}/api/workers",
        params={"refresh": "true"},
        auth=(celery_platform.user, celery_platform.password),
        timeout=60,
    )
    assert workers.status_code == 200, workers.text
    assert {node.split("@", 1)[0] for node in workers.json()} == WORKER_NAMES
    assert httpx.get(f"http://127.0.0.1:{ports['flower']}/api/workers", timeout=30).status_code == 401


def _running_held_load(client: httpx.Client, conn: psycopg.Connection[Any], timeout: float = 300) -> dict[str, Any]:
    """The ingestion run whose ``orders`` task is running on a worker and waiting on the test's lock."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        runs = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns").json()["dag_runs"]
        for run in runs:
            ti = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/{KILLED_TASK}").json()
            last = ti
            if ti.get("state") == "running" and ti.get("hostname") in WORKER_NAMES and _waiting_loads(conn) >= 1:
                return ti
        time.sleep(1)
    raise AssertionError(f"{DAG_ID}.{KILLED_TASK} never waited on the held lock within {timeout:.0f}s: {last}")


def _kill_worker(hostname: str) -> int:
    """SIGKILL the worker's whole process tree at once (Celery, its pool, task supervisors and tasks)."""
    import psutil

    worker = next(w for w in celery_service.WORKERS if w.hostname == hostname)
    proc = next(p for p in launcher.managed_processes(launcher.layout()) if p.name == worker.process)
    pid = proc.pid()
    assert pid is not None, f"{worker.process} is not running"
    root = psutil.Process(pid)
    tree = [root, *root.children(recursive=True)]
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member.pid, signal.SIGKILL)
    psutil.wait_procs(tree, timeout=10)
    return len(tree)


def _snapshot(url: str, table: str, columns: list[str], key: str) -> tuple[int, int, str]:
    rows, digest = checksum(url, table, columns, key)
    with psycopg.connect(db.libpq_url(url)) as conn:
        row = conn.execute(f'SELECT count(DISTINCT "{key}") FROM {table}').fetchone()
    return rows, int(row[0]) if row else 0, digest


def test_a_worker_killed_mid_load_is_detected_and_its_task_retried_on_the_other_worker(
    celery_platform: RunningPlatform, held_load: psycopg.Connection[Any]
) -> None:
    from scrollintel.config import load_governance
    from scrollintel.warehouse import raw_table

    with celery_platform.client() as client:
        ti = _running_held_load(client, held_load)
        run_id, killed = ti["dag_run_id"], ti["hostname"]
        assert _kill_worker(killed) >= 2
        held_load.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_lock_key(),))
        _final_run(client, DAG_ID, run_id, timeout=420)
        tries = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{KILLED_TASK}/tries").json()
        events = client.get("/api/v2/eventLogs", params={"dag_id": DAG_ID, "limit": 100}).json()["event_logs"]
    by_try = {t["try_number"]: t for t in tries["task_instances"]}
    first, last = by_try[min(by_try)], by_try[max(by_try)]
    assert first["hostname"] == killed and first["state"] != "success", by_try
    (survivor,) = WORKER_NAMES - {killed}
    assert (last["hostname"], last["state"]) == (survivor, "success"), by_try
    assert len(by_try) >= 2
    detected = [e for e in events if e["event"] == "heartbeat timeout" and e.get("task_id") == KILLED_TASK]
    assert detected, f"no 'heartbeat timeout' event for {KILLED_TASK} (timeout {HEARTBEAT_TIMEOUT_S}s): {events[:5]}"

    source = load_governance().sources[SOURCE]
    shop, warehouse = db.admin_url(SOURCE), db.admin_url("warehouse")
    for resource in source.resources:
        (key,) = resource.primary_key
        with psycopg.connect(db.libpq_url(shop)) as conn:
            columns = [
                str(name)
                for (name,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (resource.name,),
                ).fetchall()
            ]
        source_rows = _snapshot(shop, f"public.{resource.name}", columns, key)
        raw_rows = _snapshot(warehouse, raw_table(SOURCE, resource.name), columns, key)
        assert source_rows[0] > 0, resource.name
        assert raw_rows == source_rows, f"{resource.name}: raw (rows, keys, md5) {raw_rows} != source {source_rows}"
