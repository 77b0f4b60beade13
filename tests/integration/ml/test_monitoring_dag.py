"""The ``ml_churn_monitor`` DAG run with ``dag.test()``: skips without a champion, asks for retraining on drift.

One child process (its own Airflow home, a copy of a migrated metadata database, the
``postgres_warehouse`` connection as a runtime role holding only what the migrations grant) runs the
DAG four times in a row, on a warehouse and MLflow stores set up here:

1. ``no_champion``: MLflow holds no model: the run is skipped, saying why; nothing is stored or emitted;
2. ``drift``: the newest snapshot has five shifted features: the retrain Asset gets one event whose
   ``extra`` carries the reason and the monitoring run id, and the ledger a ``model.retrain_requested``;
3. ``drift_again``: a second DAG run on the same data: results stored, no second request;
4. ``no_drift``: a new sample of the training process: results stored, no event.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel.config import load_governance
from scrollintel.demo.shop import libpq_url
from scrollintel.settings import project_root
from tests.integration.ml.monitoring_fixtures import (
    HOLDOUT,
    SHIFTED,
    TRAIN,
    base_frames,
    create_mart,
    register_champion,
    tracking_store,
)
from tests.integration.ml.run_monitor_dag import RESULT_FILE_ENV
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

MODEL = load_governance().model("churn")
RETRAIN_URI = "x-scrollintel://models/churn/retrain-requested"
RUN_TIMEOUT_S = 900


@dataclass
class DagRuns:
    admin: str
    steps: dict[str, dict[str, Any]]
    output: str
    objects: Path

    def rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(libpq_url(self.admin)) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def runs(
    pg_server: Any, airflow_metadata_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagRuns]:
    import pandas as pd

    tmp = tmp_path_factory.mktemp("monitor-dag")
    frames = base_frames()
    with runtime_database(pg_server, "mondag") as database:
        with psycopg.connect(libpq_url(database.url), autocommit=True) as conn:
            create_mart(conn, frames)
        uri = tracking_store(tmp / "mlflow")
        train = pd.concat([frame for frame in frames if frame["snapshot_date"].iloc[0] in TRAIN])
        holdout = next(frame for frame in frames if frame["snapshot_date"].iloc[0] == HOLDOUT)
        register_champion(uri, tmp / "mlflow", MODEL, train, holdout)
        shutil.copyfile(airflow_metadata_template, tmp / "airflow.db")
        steps = [
            {"name": "no_champion", "tracking_uri": tracking_store(tmp / "mlflow-empty")},
            {"name": "drift", "tracking_uri": uri, "newest": {"seed": 11, "shift": list(SHIFTED)}},
            {"name": "drift_again", "tracking_uri": uri},
            {"name": "no_drift", "tracking_uri": uri, "newest": {"seed": 12}},
        ]
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_CTX_", "MLFLOW_"))},
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
            "AIRFLOW_CONN_POSTGRES_WAREHOUSE": "postgres://" + database.url.split("://", 1)[1],
            "MONITOR_TEST_CONNINFO": libpq_url(database.url),
            "SCROLLINTEL_HOME": str(tmp / "state"),
            "SCROLLINTEL_OBJECT_STORE": str(tmp / "object-store"),
            "PYTHONPATH": str(project_root()),
            RESULT_FILE_ENV: str(tmp / "result.json"),
        }
        for key in ("PGOPTIONS", "SCROLLINTEL_AUDIT_DATABASE_URL"):
            env.pop(key, None)
        done = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("run_monitor_dag.py")),
                str(project_root() / "dags" / "ml_churn_monitor.py"),
                json.dumps(steps),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=RUN_TIMEOUT_S,
            cwd=project_root(),
        )
        output = done.stdout + done.stderr
        (tmp / "dag-test.log").write_text(output)
        assert done.returncode == 0, f"dag.test() failed (exit {done.returncode}):\n{output[-6000:]}"
        results = json.loads((tmp / "result.json").read_text(encoding="utf-8"))
        yield DagRuns(database.admin_url, {item["step"]: item for item in results}, output, tmp / "object-store")


def _stored(runs: DagRuns, step: str) -> list[tuple[Any, ...]]:
    return runs.rows(
        "SELECT id::text, verdict, reason, report_uri FROM governance.model_monitoring_runs "
        "WHERE dag_id = 'ml_churn_monitor' AND dag_run_id = %s",
        runs.steps[step]["run_id"],
    )


def test_without_a_champion_the_run_is_skipped_saying_why(runs: DagRuns) -> None:
    step = runs.steps["no_champion"]
    assert step["tasks"] == {"champion": "skipped", "monitor": "skipped", "request_retraining": "skipped"}
    assert step["events"] == []
    assert "model churn has no version with the alias 'champion' yet: nothing to monitor" in runs.output
    assert _stored(runs, "no_champion") == []


def test_injected_drift_emits_one_retrain_event_with_the_reason_and_run_id_and_a_ledger_entry(runs: DagRuns) -> None:
    step = runs.steps["drift"]
    assert step["tasks"] == {"champion": "success", "monitor": "success", "request_retraining": "success"}
    [(run_id, verdict, reason, report_uri)] = _stored(runs, "drift")
    assert verdict == "drift"
    assert reason.startswith("5 of 13 features drifted (38% ≥ 30%): ")
    assert set(reason.split(": ", 1)[1].split(";")[0].split(", ")) == set(SHIFTED)
    [event] = step["events"]
    assert event["uri"] == RETRAIN_URI
    assert event["extra"]["reason"] == reason
    assert event["extra"]["monitoring_run_id"] == run_id
    assert event["extra"]["verdict"] == "drift" and event["extra"]["report_uri"] == report_uri
    assert Path(report_uri.removeprefix("file://")).is_file()
    assert str(runs.objects) in report_uri
    [(actor, subject, details)] = runs.rows(
        "SELECT actor, subject, details FROM governance.audit_entry WHERE action = 'model.retrain_requested'"
    )
    assert (actor, subject) == ("dag:ml_churn_monitor", "model:churn@v1")
    recorded = json.loads(details)
    assert recorded["monitoring_run_id"] == run_id and recorded["reason"] == reason
    assert recorded["dag_run_id"] == step["run_id"]


def test_a_second_run_on_the_same_data_stores_its_results_but_does_not_ask_again(runs: DagRuns) -> None:
    step = runs.steps["drift_again"]
    assert step["tasks"] == {"champion": "success", "monitor": "success", "request_retraining": "skipped"}
    assert step["events"] == []
    [(_, verdict, _, _)] = _stored(runs, "drift_again")
    assert verdict == "drift"
    [(first, *_)] = _stored(runs, "drift")
    assert f"was already requested by monitoring run {first}" in runs.output


def test_no_drift_stores_an_ok_result_and_emits_nothing(runs: DagRuns) -> None:
    step = runs.steps["no_drift"]
    assert step["tasks"] == {"champion": "success", "monitor": "success", "request_retraining": "skipped"}
    assert step["events"] == []
    [(_, verdict, reason, _)] = _stored(runs, "no_drift")
    assert verdict == "ok" and reason.startswith("no drift or decay past its threshold: 0 of 13 features drifted")
    assert runs.rows("SELECT count(*) FROM governance.audit_entry WHERE action = 'model.retrain_requested'") == [(1,)]
