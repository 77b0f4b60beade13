"""The running platform, started once for all e2e modules exactly as `make run` starts it.

It gets its own state folder (embedded PostgreSQL, Airflow home, logs, ports) under a
temporary directory, small demo data, and is stopped after the last e2e test (package scope:
left running to the end of the session, its scheduler, dag-processor and scheduled DAG runs
would take CPU from every test after it, and its environment would leak into them).

Modules share it, so none may rely on a fresh platform: each runs its own DAG runs and reads
its own run ids, data and ledger entries.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass(frozen=True)
class RunningPlatform:
    url: str
    user: str
    password: str
    state: Path

    def token(self) -> str:
        response = httpx.post(
            f"{self.url}/auth/token", json={"username": self.user, "password": self.password}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token()}"}, timeout=30)


#: Settings of the test process that must not reach a test platform (it makes its own).
_NOT_INHERITED = ("SCROLLINTEL_DATABASE_URL", "AIRFLOW__CORE__UNIT_TEST_MODE", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")


@contextmanager
def running_platform(state: Path, env: dict[str, str], drop: tuple[str, ...] = ()) -> Iterator[RunningPlatform]:
    """`scrollintel platform up` in ``state`` with ``env`` set (and ``drop`` unset) in this process; `down`,
    the environment put back and ``state`` removed afterwards (kept with ``SCROLLINTEL_E2E_KEEP``).

    On a failed start the tail of every platform log is printed.
    """
    from scrollintel.platform import launcher

    saved = dict(os.environ)
    os.environ.update({"SCROLLINTEL_HOME": str(state), **env})
    for key in (*_NOT_INHERITED, *drop):
        os.environ.pop(key, None)
    lines: list[str] = []
    try:
        launcher.platform_ports(launcher.layout(), prefer_usual=False)  # another platform may start now
        info = launcher.up(lines.append)
        yield RunningPlatform(url=info["url"], user=info["user"], password=info["password"], state=state)
    except Exception:
        for log_file in sorted((state / "logs").glob("*.log")):
            print(f"==== {log_file.name}\n" + "\n".join(log_file.read_text(errors="replace").splitlines()[-40:]))
        print("\n".join(lines))
        raise
    finally:
        # The tests are over: tasks still running (a scheduled run) need no graceful shutdown.
        launcher.down(lines.append, timeout=5.0)
        os.environ.clear()
        os.environ.update(saved)
        if os.environ.get("SCROLLINTEL_E2E_KEEP"):  # logs and data kept for a look after a failure
            print(f"e2e platform state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


#: Set to run the model story (tests/e2e/test_model_flow.py); the platform then holds nothing back.
ENV_MODEL_STORY = "SCROLLINTEL_E2E_MODEL_STORY"

#: DAGs the e2e platform keeps paused. The Assets that every test's loads publish start them, so they
#: would rebuild the warehouse (52 dbt tasks a run, back to back) and retrain the model all session
#: long, on the cores the tests and the other worker wait for; each has its own test of a real run
#: (tests/integration/transform, tests/integration/ml). tests/e2e/test_transform_flow.py unpauses
#: ``transform_warehouse`` for its run; with the model story asked for, nothing is held back.
HELD_BACK = ("transform_warehouse", "ml_churn_train", "ml_churn_monitor", "ml_churn_retrain", "ml_churn_score")


@pytest.fixture(scope="package")
def platform() -> Iterator[RunningPlatform]:
    """`scrollintel platform up` in a temporary state folder, its DAGs but :data:`HELD_BACK` unpaused; `down` after."""
    state = Path(tempfile.mkdtemp(prefix="scrollintel-e2e-"))
    env = {"SCROLLINTEL_DEMO_SCALE": os.environ.get("SCROLLINTEL_E2E_DEMO_SCALE", "0.05")}
    story = bool(os.environ.get(ENV_MODEL_STORY))
    if not story:
        env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "True"
    with running_platform(state, env) as running:
        if not story:
            unpause_all_but(running, HELD_BACK)
        yield running


def platform_dag_ids() -> set[str]:
    """Every DAG the platform's dags/ folder defines (one per file; ``ingest_sources.py`` one per source)."""
    from scrollintel.config import load_governance
    from scrollintel.ingest.dagspec import dag_id
    from scrollintel.settings import project_root

    files = {path.stem for path in (project_root() / "dags").glob("*.py")} - {"ingest_sources"}
    return files | {dag_id(source) for source in load_governance().sources.values()}


def unpause_all_but(platform: RunningPlatform, held_back: tuple[str, ...], timeout: float = 300.0) -> None:
    """Once the dag-processor has registered every platform DAG (created paused), unpause all but ``held_back``."""
    expected = platform_dag_ids()
    with platform.client() as client:
        answer = wait_for_json(
            client,
            "/api/v2/dags?limit=100&paused=true",
            lambda dags: expected <= {dag["dag_id"] for dag in dags["dags"]},  # type: ignore[index]
            timeout=timeout,
        )
        for dag in answer["dags"]:  # type: ignore[attr-defined]
            if dag["dag_id"] in expected and dag["dag_id"] not in held_back:
                response = client.patch(f"/api/v2/dags/{dag['dag_id']}", json={"is_paused": False})
                assert response.status_code == 200, response.text


def wait_for_json(client: httpx.Client, path: str, done: object, timeout: float = 240.0) -> dict[str, object]:
    """Poll ``path`` until ``done(json)`` is true; fail with the last answer after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        response = client.get(path)
        if response.status_code == 200:
            last = response.json()
            if done(last):  # type: ignore[operator]
                return last  # type: ignore[return-value]
        else:
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting on {path}; last answer: {json.dumps(last)[:2000]}")
