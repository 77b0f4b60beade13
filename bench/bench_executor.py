"""Executor benchmark: 200 no-op tasks on LocalExecutor (4 slots) vs Celery (2 workers x 2 slots).

**Method.** Starts the platform as ``make run`` does (its own state folder, no demo data, the
platform's DAGs created paused so nothing else runs), with a DAG of ``--tasks`` independent no-op
tasks in an extra DAG folder (``SCROLLINTEL_EXTRA_DAGS_FOLDER``). Triggers it once and reads every
task instance from the API when the run has finished:

- **throughput**: tasks / (last task end - first task start);
- **scheduling latency**: a task's start minus the moment it was queued (the executor hands it
  over, a worker process picks it up, the task supervisor starts it and reports to the
  execution API), p50 / p95 / max;
- **task duration**: end - start of the no-op task itself (process start-up dominates).

Then stops the platform, starts it again on the same state with ``SCROLLINTEL_EXECUTOR=celery``
(Redis broker, two workers with two slots each) and measures the same. Both modes have four task
slots (``[core] parallelism`` 4, four tasks of the DAG at a time). Takes ~15 minutes on two cores.
Measured (``--tasks 200`` on an otherwise idle machine, load average 1.4-1.7): LocalExecutor
1.92 tasks/s (queued -> start p50 0.8 s, p95 3.3 s), Celery 0.95 tasks/s (0.50x; p50 0.05 s,
p95 0.11 s, a no-op task 1.1 s against 0.3 s); earlier at 60 tasks on a machine shared with other
work (load average 8-11), 0.94 and 0.49 tasks/s. What limits both is CPU: each task is a new Python process importing
Airflow, and Celery adds a pool process per task, the broker round trip, result-backend writes
and four more long-running processes on the same two cores (README: Celery workers).
Run: ``.venv/bin/python bench/bench_executor.py [--tasks 200]`` (``make bench`` runs it too;
needs ``redis-server`` on the PATH).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

DAG_ID = "bench_noop"

DAG_FILE = '''"""Executor benchmark DAG (bench/bench_executor.py): {tasks} independent no-op tasks."""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import START_DATE, default_args


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=default_args("data-platform", timeout_minutes=10),
    tags=["platform", "internal"],
    doc_md="No-op tasks for bench/bench_executor.py.",
)
def {dag_id}() -> None:
    @task
    def noop(i: int) -> int:
        return i

    for i in range({tasks}):
        noop.override(task_id=f"noop_{{i:03d}}")(i)


{dag_id}()
'''


def _client(url: str, user: str, password: str) -> httpx.Client:
    token = httpx.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30).json()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=60)


def _wait(what: str, check: Any, timeout: float = 1800.0, every: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(url: str, user: str, password: str, tasks: int) -> dict[str, float]:
    """Trigger the no-op DAG once and return its figures."""
    with _client(url, user, password) as client:
        _wait("the benchmark DAG to be parsed", lambda: client.get(f"/api/v2/dags/{DAG_ID}").status_code == 200)
        client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        run = client.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
        run.raise_for_status()
        run_id = run.json()["dag_run_id"]
        final = _wait(
            "the run to finish",
            lambda: (
                (r := client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json())["state"] in ("success", "failed")
                and r
            ),
        )
        every: list[dict[str, Any]] = []
        while len(every) < tasks:  # the API pages at 100
            page = client.get(
                f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 100, "offset": len(every)}
            ).json()["task_instances"]
            if not page:
                break
            every.extend(page)
    done = [t for t in every if t["start_date"] and t["end_date"]]
    if final["state"] != "success" or len(done) != tasks:
        failed = [t["task_id"] for t in every if t["state"] != "success"]
        raise SystemExit(f"run {final['state']}: {len(done)} of {tasks} tasks finished; not successful: {failed[:10]}")
    starts = [_ts(t["start_date"]) for t in done]
    ends = [_ts(t["end_date"]) for t in done]
    latency = [_ts(t["start_date"]) - _ts(t["queued_when"]) for t in done if t.get("queued_when")]
    duration = [_ts(t["end_date"]) - _ts(t["start_date"]) for t in done]
    wall = max(ends) - min(starts)
    return {
        "tasks": float(tasks),
        "wall_s": wall,
        "tasks_per_s": tasks / wall,
        "latency_p50_s": statistics.median(latency),
        "latency_p95_s": _pct(latency, 0.95),
        "latency_max_s": max(latency),
        "duration_p50_s": statistics.median(duration),
        "hosts": float(len({t["hostname"] for t in done})),
        "load_1m": os.getloadavg()[0],
    }


def run_mode(executor: str, tasks: int) -> dict[str, float]:
    from scrollintel.platform import launcher

    os.environ["SCROLLINTEL_EXECUTOR"] = executor
    lines: list[str] = []
    print(f"starting the platform with SCROLLINTEL_EXECUTOR={executor} ...", flush=True)
    started = time.monotonic()
    try:
        info = launcher.up(lines.append, seed_demo=False)
        print(f"  up in {time.monotonic() - started:.0f} s; running {tasks} no-op tasks ...", flush=True)
        return measure(info["url"], info["user"], info["password"], tasks)
    except BaseException:
        print("\n".join(lines[-20:]))
        raise
    finally:
        launcher.down(lines.append, timeout=10.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks in the DAG")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("bench_executor needs redis-server on the PATH (Debian/Ubuntu: apt-get install redis-server)")
    state = Path(tempfile.mkdtemp(prefix="scrollintel-bench-executor-"))
    extra = state / "extra-dags"
    extra.mkdir()
    (extra / f"{DAG_ID}.py").write_text(DAG_FILE.format(tasks=args.tasks, dag_id=DAG_ID), encoding="utf-8")
    saved = dict(os.environ)
    os.environ.update(
        {
            "SCROLLINTEL_HOME": str(state),
            "SCROLLINTEL_EXTRA_DAGS_FOLDER": str(extra),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }
    )
    for key in (
        "SCROLLINTEL_DATABASE_URL",
        "SCROLLINTEL_TEST_DATABASE_URL",
        "SCROLLINTEL_CELERY_BROKER_URL",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    ):
        os.environ.pop(key, None)
    results: dict[str, dict[str, float]] = {}
    try:
        for mode in ("local", "celery"):
            results[mode] = run_mode(mode, args.tasks)
            print(f"  {mode}: " + ", ".join(f"{key} {value:.2f}" for key, value in results[mode].items()), flush=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(state, ignore_errors=True)
    label = {"local": "LocalExecutor, 4 slots", "celery": "Celery, 2 workers x 2 slots"}
    print()
    print(
        f"{'executor':<28} {'wall s':>7} {'tasks/s':>8} {'queued->start p50':>18} {'p95':>6} {'max':>6} "
        f"{'task p50':>9} {'hosts':>6} {'load':>5}"
    )
    print("-" * 100)
    for mode, r in results.items():
        print(
            f"{label[mode]:<28} {r['wall_s']:7.1f} {r['tasks_per_s']:8.2f} {r['latency_p50_s']:18.1f} "
            f"{r['latency_p95_s']:6.1f} {r['latency_max_s']:6.1f} {r['duration_p50_s']:9.1f} {r['hosts']:6.0f} "
            f"{r['load_1m']:5.1f}"
        )
    if len(results) == 2:
        ratio = results["celery"]["tasks_per_s"] / results["local"]["tasks_per_s"]
        print(f"\n  Celery / LocalExecutor throughput: {ratio:.2f}x")


if __name__ == "__main__":
    main()
