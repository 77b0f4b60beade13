"""The platform started with the Celery executor, once for this package (ADR 0017).

Like ``tests/e2e/conftest.py``, but ``SCROLLINTEL_EXECUTOR=celery``: a Redis broker the platform
starts, two workers and Flower. Lean on purpose: tiny demo data, the platform's DAGs created
paused (a test unpauses what it runs, so the scheduled runs of every other DAG take no slot or
core), the proof DAG in a folder of its own (``SCROLLINTEL_EXTRA_DAGS_FOLDER``), and a 30 s task
heartbeat timeout instead of Airflow's 300 s, so a killed worker's task is detected within the
test. Needs Debian's ``redis-server`` on the PATH.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningPlatform, running_platform

#: Seconds without a heartbeat after which the scheduler fails (and retries) a task.
HEARTBEAT_TIMEOUT_S = 30

FANOUT_DAG_ID = "celery_fanout"
FANOUT_DEFAULT_TASKS = 14
FANOUT_HEAVY_TASKS = 2

FANOUT_DAG = f'''"""Celery proof DAG of tests/e2e_celery: short tasks, {FANOUT_HEAVY_TASKS} on the heavy queue."""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import HEAVY_QUEUE, START_DATE, default_args


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=default_args("data-platform", timeout_minutes=5),
    tags=["platform", "internal"],
    doc_md="Short tasks spread over the Celery workers (tests/e2e_celery).",
)
def {FANOUT_DAG_ID}() -> None:
    @task
    def short(i: int) -> int:
        import time

        time.sleep(1)
        return i

    for i in range({FANOUT_DEFAULT_TASKS}):
        short.override(task_id=f"short_{{i:02d}}")(i)
    for i in range({FANOUT_HEAVY_TASKS}):
        short.override(task_id=f"heavy_{{i}}", queue=HEAVY_QUEUE)(i)


{FANOUT_DAG_ID}()
'''


@pytest.fixture(scope="package")
def celery_platform() -> Iterator[RunningPlatform]:
    """`scrollintel platform up` with the Celery executor in a temporary state folder; `down` afterwards."""
    if shutil.which("redis-server") is None:
        pytest.skip("the Celery e2e test needs redis-server on the PATH (Debian/Ubuntu: apt-get install redis-server)")
    state = Path(tempfile.mkdtemp(prefix="scrollintel-e2e-celery-"))
    extra_dags = state / "extra-dags"
    extra_dags.mkdir()
    (extra_dags / f"{FANOUT_DAG_ID}.py").write_text(FANOUT_DAG, encoding="utf-8")
    env = {
        "SCROLLINTEL_EXECUTOR": "celery",
        "SCROLLINTEL_DEMO_SCALE": os.environ.get("SCROLLINTEL_E2E_DEMO_SCALE", "0.02"),
        "SCROLLINTEL_EXTRA_DAGS_FOLDER": str(extra_dags),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    }
    with running_platform(state, env, drop=("SCROLLINTEL_CELERY_BROKER_URL",)) as running:
        yield running
