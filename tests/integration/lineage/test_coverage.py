"""Coverage: every task run of a platform DAG yields exactly one START and one COMPLETE/FAIL in the store.

A real ``airflow dags test platform_health`` (its own Airflow home and SQLite metadata database,
a copy of the session's migrated one)
runs with the OpenLineage configuration ``make run`` uses (``launcher.lineage_env``: the HTTP
transport with the API key), pointed at the governance app served by uvicorn on loopback, which
writes to a fresh lineage store as the platform's runtime role. Only the URL differs from the
platform. The task runs (mapped ones included) are read back from Airflow's metadata database and
their OpenLineage run ids computed the way the provider does.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrollintel.platform.launcher import lineage_env
from scrollintel.settings import project_root
from tests.integration.lineage.conftest import copy_template
from tests.integration.lineage.expected_runs import RESULT_PREFIX

pytestmark = pytest.mark.integration

DAG_ID = "platform_health"
TIMEOUT_S = 600
HERE = Path(__file__).resolve().parent


@dataclass
class CoverageRun:
    expected: dict[str, Any]
    events: list[tuple[str, str, str]]
    output: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str], what: str, *, must_succeed: bool = True) -> str:
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, check=False, timeout=TIMEOUT_S, cwd=project_root()
    )
    if must_succeed:
        assert done.returncode == 0, f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-6000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def coverage_run(
    pg_server: Any,
    lineage_template: str,
    runtime_role: tuple[str, str],
    airflow_metadata_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CoverageRun]:
    """One ``airflow dags test platform_health`` with lineage going to a store served over HTTP."""
    store = copy_template(pg_server, lineage_template, runtime_role)
    tmp = tmp_path_factory.mktemp("lineage-coverage")
    key = secrets.token_urlsafe(32)
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    warehouse = "postgres://" + store.url.split("://", 1)[1]
    with pytest.MonkeyPatch.context() as mp:  # the platform's own transport setting, not a shell's
        mp.delenv("AIRFLOW__OPENLINEAGE__TRANSPORT", raising=False)
        openlineage = lineage_env(f"http://127.0.0.1:{port}", {"lineage_api_key": key})
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SCROLLINTEL_"))},
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_POSTGRES_WAREHOUSE": warehouse,
        "SCROLLINTEL_HOME": str(tmp / "state"),
        "SCROLLINTEL_OBJECT_STORE": str(tmp / "object-store"),
        "SCROLLINTEL_AUDIT_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "NO_PROXY": "*",
        "no_proxy": "*",
    }
    server_env = {
        **base,
        **openlineage,
        "AIRFLOW_HOME": str(tmp / "server-home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'server.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp / "passwords.json"),
    }
    airflow_env = {
        **base,
        # Exactly what `make run` gives Airflow (launcher.lineage_env), with this server's URL.
        **openlineage,
        "AIRFLOW_HOME": str(tmp / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project_root() / "plugins"),
    }
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.integration.lineage.lineage_server:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=server_env,
        cwd=project_root(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        shutil.copyfile(airflow_metadata_template, tmp / "airflow.db")  # what `airflow db migrate` leaves
        _wait_for(f"http://127.0.0.1:{port}/scrollintel/api/v1/namespaces", server, tmp / "server.log")
        # The run fails without the demo source systems (their health checks fail): that is a run too.
        output = _run(
            [str(bin_dir / "airflow"), "dags", "test", DAG_ID, "2026-01-02"],
            airflow_env,
            "dags test",
            must_succeed=False,
        )
        result = _run([sys.executable, str(HERE / "expected_runs.py"), DAG_ID], airflow_env, "reading the task runs")
        (line,) = [text for text in result.splitlines() if text.startswith(RESULT_PREFIX)]
        with store.connect() as conn:
            events = conn.execute(
                "SELECT run_uuid::text, event_type, job_name FROM governance.lineage_event WHERE kind = 'run'"
            ).fetchall()
        (tmp / "dags-test.log").write_text(output)
        yield CoverageRun(expected=json.loads(line.removeprefix(RESULT_PREFIX)), events=events, output=output)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the lineage server exited:\n{log.read_text()[-4000:]}"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError(f"the lineage server did not answer on {url}")


def test_the_dag_ran_its_mapped_and_plain_tasks(coverage_run: CoverageRun) -> None:
    tasks = {item["task"] for item in coverage_run.expected["tasks"]}

    assert "list_connections[-1]" in tasks
    assert sum(1 for task in tasks if task.startswith("check[")) >= 4  # one per configured connection


def test_every_task_run_has_one_start_and_one_complete_or_fail(coverage_run: CoverageRun) -> None:
    by_run: dict[str, Counter[str]] = {}
    for run_id, event_type, _ in coverage_run.events:
        by_run.setdefault(run_id, Counter())[event_type] += 1
    problems = {}
    for item in coverage_run.expected["tasks"]:
        if item["state"] in ("upstream_failed", "skipped", "removed", "None"):
            continue  # never ran: nothing to emit
        counts = by_run.get(item["run_id"], Counter())
        ended = counts["COMPLETE"] + counts["FAIL"]
        if counts["START"] != 1 or ended != 1:
            problems[item["task"]] = dict(counts)

    assert problems == {}, f"task runs without exactly one START and one COMPLETE/FAIL: {problems}"


def test_the_store_holds_no_task_run_that_airflow_did_not_run(coverage_run: CoverageRun) -> None:
    expected = {item["run_id"] for item in coverage_run.expected["tasks"]} | {coverage_run.expected["dag_run"]}

    stored = {run_id for run_id, _, _ in coverage_run.events}

    assert stored <= expected
    assert coverage_run.expected["dag_run"] in stored  # the DAG run itself is a job too


def test_each_terminal_event_matches_the_task_state(coverage_run: CoverageRun) -> None:
    terminal = {
        run_id: event_type for run_id, event_type, _ in coverage_run.events if event_type in ("COMPLETE", "FAIL")
    }

    for item in coverage_run.expected["tasks"]:
        if item["state"] == "success":
            assert terminal.get(item["run_id"]) == "COMPLETE", item
        elif item["state"] == "failed":
            assert terminal.get(item["run_id"]) == "FAIL", item
