"""``QualityGateOperator`` in a real Airflow run: a passing gate publishes its Asset, a failing one does not.

A one-task DAG is run with ``dag.test()`` in a child process with its own Airflow home and
SQLite metadata database (a copy of the session's migrated one), against a private copy of the
dbt-built warehouse (the runtime role through the ``postgres_warehouse`` connection). The
metadata database is then read for the task states and the asset events.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.integration.quality.conftest import AS_OF, GateWarehouse

pytestmark = pytest.mark.integration

ASSET = "x-scrollintel://warehouse/marts/orders"
TIMEOUT_S = 600
DAG_FILE = textwrap.dedent(
    f'''
    """A DAG with one quality gate (the words airflow and dag make the processor read this file)."""
    import pendulum
    from airflow.sdk import DAG, Asset

    from scrollintel.quality.operators import QualityGateOperator

    with DAG(
        "quality_gate_check",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["quality", "internal"],
        doc_md="One quality gate publishing the orders mart.",
        default_args={{"owner": "data-platform", "retries": 0}},
    ) as dag:
        QualityGateOperator(task_id="quality_gate", datasets=["marts.orders"], outlets=[Asset("{ASSET}")])

    if __name__ == "__main__":
        print("RUN-STATE", dag.test().state)
    '''
)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def test_a_failed_gate_fails_the_task_and_publishes_no_asset_event(
    gate_warehouse: GateWarehouse, airflow_metadata_template: Path, tmp_path: Path
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "quality_gate_check.py").write_text(DAG_FILE, encoding="utf-8")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_POSTGRES_WAREHOUSE": "postgres://" + gate_warehouse.url.split("://", 1)[1],
        "SCROLLINTEL_AS_OF": AS_OF,
    }
    shutil.copyfile(airflow_metadata_template, tmp_path / "airflow.db")  # what `airflow db migrate` leaves

    passed = _run([sys.executable, str(dags / "quality_gate_check.py")], env)
    gate_warehouse.execute("INSERT INTO marts.orders SELECT * FROM marts.orders ORDER BY order_id LIMIT 5")
    failed = _run([sys.executable, str(dags / "quality_gate_check.py")], env)

    assert "RUN-STATE success" in passed.stdout, (passed.stdout + passed.stderr)[-4000:]
    assert "RUN-STATE failed" in failed.stdout, (failed.stdout + failed.stderr)[-4000:]
    log = failed.stdout + failed.stderr
    assert "AirflowFailException: quality gate failed for marts.orders" in log
    assert "expect_column_values_to_be_unique on order_id: 10 unexpected row(s) of 6005" in log
    with sqlite3.connect(tmp_path / "airflow.db") as meta:
        states = meta.execute(
            "SELECT state FROM task_instance WHERE dag_id = 'quality_gate_check' ORDER BY start_date"
        ).fetchall()
        events = meta.execute(
            "SELECT e.source_run_id FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ?", (ASSET,)
        ).fetchall()
        runs = meta.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = 'quality_gate_check' ORDER BY start_date"
        ).fetchall()
    assert [state for (state,) in states] == ["success", "failed"]
    assert events == [runs[0]]  # only the passing run published the Asset
    # the failing run's results are stored under its own Airflow run id, for the Quality page's link
    stored = gate_warehouse.scalar(
        "SELECT count(*) FROM governance.quality_run WHERE dag_id = 'quality_gate_check' AND run_id = %s "
        "AND NOT success AND task_id = 'quality_gate' AND try_number = 1",
        (runs[1][0],),
    )
    assert stored == 1
