"""The cosmos-rendered ``transform_warehouse`` DAG, run for real with ``dag.test()`` against a test warehouse.

The run happens in a child process with its own Airflow home and metadata database (SQLite),
configured the way the launcher configures the platform: the ``postgres_warehouse`` connection
(a runtime role holding only what the migrations grant), the masking salt connection, the dbt
manifest built by ``scrollintel transform manifest`` and OpenLineage's file transport.

What the run starts from is made once per session and copied here: the warehouse is a copy of
the demo raw tables before dbt ever ran (``dbt_warehouse.raw_template``), the manifest is the
session's (``dbt_manifest``) and the metadata database a copy of a migrated one
(``airflow_metadata_template``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scrollintel.settings import project_root
from scrollintel.transform.session import MASKING_SALT_CONN_ID
from tests.integration.transform.run_transform_dag import RESULT_FILE_ENV
from tests.integration.warehouse import Warehouse, database_copy, with_database
from tests.marts import MARTS

pytestmark = pytest.mark.integration

AS_OF = "2026-01-01T00:00:00Z"
RUN_TIMEOUT_S = 900


@dataclass
class DagRun:
    house: Warehouse
    result: dict[str, Any]
    output: str
    lineage_file: Path


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT_S, cwd=project_root()
    )
    assert done.returncode == 0, f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-6000:]}"
    return done


@pytest.fixture(scope="module")
def dag_run(
    pg_server: Any,
    dbt_warehouse: Warehouse,
    dbt_manifest: Path,
    airflow_metadata_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DagRun]:
    """One run of the DAG on the demo raw tables (about two minutes: 52 dbt tasks and the quality gate)."""
    from scrollintel.demo.shop import libpq_url

    tmp = tmp_path_factory.mktemp("transform-dag")
    assert dbt_warehouse.raw_template
    with database_copy(pg_server, dbt_warehouse.raw_template, "tfdag") as name:
        house = Warehouse(
            url=with_database(dbt_warehouse.url, name),
            conninfo=libpq_url(pg_server.url(name)),
            role=dbt_warehouse.role,
            tmp=tmp,
            salt=secrets.token_hex(24),
        )
        # what `scrollintel transform manifest` and `airflow db migrate` leave, copied from the session's
        shutil.copytree(dbt_manifest.parent, tmp / "dbt")
        shutil.copyfile(airflow_metadata_template, tmp / "airflow.db")
        lineage_file = tmp / "lineage" / "events.jsonl"
        lineage_file.parent.mkdir()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
            "AIRFLOW__COSMOS__CACHE_DIR": str(tmp / "cosmos"),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "scrollintel",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(lineage_file), "append": True}
            ),
            "AIRFLOW_CONN_POSTGRES_WAREHOUSE": "postgres://" + house.url.split("://", 1)[1],
            f"AIRFLOW_CONN_{MASKING_SALT_CONN_ID.upper()}": json.dumps(
                {"conn_type": "generic", "password": house.salt}
            ),
            "SCROLLINTEL_DBT_STATE_DIR": str(tmp / "dbt"),
            # the demo data describes 2026-01-01: dbt and the gate measure windows and freshness there
            "SCROLLINTEL_AS_OF": AS_OF,
            "SCROLLINTEL_HOME": str(tmp / "state"),
            "SCROLLINTEL_OBJECT_STORE": str(tmp / "object-store"),
            "SCROLLINTEL_AUDIT_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            RESULT_FILE_ENV: str(tmp / "result.json"),
        }
        for key in ("PGOPTIONS", "SCROLLINTEL_AUDIT_DATABASE_URL", "AIRFLOW_CTX_DAG_ID"):
            env.pop(key, None)
        done = _run(
            [sys.executable, str(Path(__file__).with_name("run_transform_dag.py")), env["AIRFLOW__CORE__DAGS_FOLDER"]],
            env,
            "dag.test() of transform_warehouse",
        )
        result = json.loads((tmp / "result.json").read_text(encoding="utf-8"))
        (tmp / "dag-test.log").write_text(done.stdout + done.stderr)
        yield DagRun(house=house, result=result, output=done.stdout + done.stderr, lineage_file=lineage_file)


def test_every_dbt_model_and_test_task_succeeds(dag_run: DagRun) -> None:
    dbt_tasks = {task: state for task, state in dag_run.result["tasks"].items() if task.startswith("dbt.")}
    assert len(dbt_tasks) == 2 * 18 + 16  # run and test per model, tests that read two models
    assert {task: state for task, state in dbt_tasks.items() if state != "success"} == {}


def test_staging_and_marts_are_built_from_raw(dag_run: DagRun) -> None:
    with dag_run.house.connect() as conn:
        customers = conn.execute("SELECT count(*) FROM raw.shop__customers").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM staging.stg_shop__customers").fetchone()[0] == customers
        for mart in MARTS:
            assert conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()[0] > 0, mart


def test_the_salt_came_from_its_connection_and_appears_in_no_log(dag_run: DagRun) -> None:
    with dag_run.house.connect() as conn:
        stored = conn.execute("SELECT value FROM masking.salt WHERE id = 1").fetchone()[0]
    assert stored == dag_run.house.salt
    assert dag_run.house.salt not in dag_run.output
    assert dag_run.house.salt not in dag_run.lineage_file.read_text()


def test_the_quality_gate_publishes_the_mart_assets_and_nothing_else(dag_run: DagRun) -> None:
    assert dag_run.result["tasks"]["raw_tables_ready"] == "success"
    assert dag_run.result["tasks"]["quality_gate"] == "success"
    assert dag_run.result["run_state"] == "success"
    assert dag_run.result["asset_events"] == [f"x-scrollintel://warehouse/marts/{name}" for name in MARTS]


def test_cosmos_emits_openlineage_for_the_dbt_models(dag_run: DagRun) -> None:
    events = [json.loads(line) for line in dag_run.lineage_file.read_text().splitlines() if line.strip()]
    outputs = {
        (event["job"]["name"], output["name"])
        for event in events
        if event.get("eventType") == "COMPLETE"
        for output in event.get("outputs", [])
    }
    assert ("transform_warehouse.dbt.customers.run", f"{_database(dag_run)}.marts.customers") in outputs
    assert any(name.endswith(".staging.stg_shop__customers") for _, name in outputs)


def _database(dag_run: DagRun) -> str:
    return dag_run.house.url.rsplit("/", 1)[1]
