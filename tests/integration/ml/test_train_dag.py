"""``dags/ml_churn_train.py`` in a real Airflow run: the bootstrap trains the champion, a manual run a challenger.

The DAG is run with ``dag.test()`` in a child process with its own Airflow home and SQLite
metadata database (a copy of the session's migrated one), its connections in the environment as
`make run` sets them: ``postgres_warehouse`` to a migrated warehouse (the runtime role, which
created ``marts.ml_churn_features`` as dbt would) and ``mlflow_default`` to the session's MLflow
server. The run registers the governance model ``churn``; the test removes it afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel.ml import registry
from scrollintel.ml.tracking import CHALLENGER, CHAMPION, TAG_AIRFLOW_RUN, TAG_LINEAGE_RUN_ID
from scrollintel.settings import ENV_GOVERNANCE_DIR, project_root
from tests.integration.ml.conftest import FEATURE_ROWS, FEATURE_SEED, MlflowServer
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

MODEL = "churn"
TIMEOUT_S = 900
RUNNER = textwrap.dedent(
    """
    import sys
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["ml_churn_train"]
    run = dag.test()
    print("RUN-STATE", run.state, run.run_id)
    """
)


@pytest.fixture(scope="module")
def warehouse(pg_server: Any) -> Iterator[str]:
    """A migrated warehouse whose runtime role built ``marts.ml_churn_features``; yields the runtime role's URL."""
    from scrollintel.db import libpq_url
    from scrollintel.demo.churn_features import create_feature_table, generate_churn_features, snapshot_rows

    with runtime_database(pg_server, "mldag") as database:
        with psycopg.connect(libpq_url(database.url)) as conn:
            create_feature_table(conn, generate_churn_features(snapshot_rows(FEATURE_ROWS), seed=FEATURE_SEED))
        yield database.url


@pytest.fixture(scope="module")
def run_dag(
    warehouse: str,
    mlflow_server: MlflowServer,
    airflow_metadata_template: Path,
    test_governance: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """Run the DAG once per call (same Airflow home and metadata); returns (state, run id, output)."""
    from scrollintel.platform import mlflow_service
    from scrollintel.platform.postgres import HOST

    tmp = tmp_path_factory.mktemp("ml-train-dag")
    shutil.copyfile(airflow_metadata_template, tmp / "airflow.db")
    (tmp / "runner.py").write_text(RUNNER, encoding="utf-8")
    env = {
        **{key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"},
        "AIRFLOW_HOME": str(tmp / "airflow"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "AIRFLOW_CONN_POSTGRES_WAREHOUSE": "postgres://" + warehouse.split("://", 1)[1],
        "AIRFLOW_CONN_MLFLOW_DEFAULT": mlflow_service.connection(HOST, mlflow_server.port),
        "SCROLLINTEL_HOME": str(tmp / "state"),
        ENV_GOVERNANCE_DIR: str(test_governance),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "scrollintel",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(tmp / "openlineage.jsonl"), "append": True}
        ),
        **mlflow_service.CLIENT_ENV,
    }

    def run() -> tuple[str, str, str]:
        done = subprocess.run(
            [sys.executable, str(tmp / "runner.py"), str(project_root() / "dags" / "ml_churn_train.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        output = done.stdout + done.stderr
        line = next((line for line in done.stdout.splitlines() if line.startswith("RUN-STATE")), None)
        assert line is not None, output[-6000:]
        _, state, run_id = line.split()
        return state, run_id, output

    run.lineage_events = tmp / "openlineage.jsonl"  # type: ignore[attr-defined]
    yield run
    mlflow_client = registry.client(mlflow_server.uri)
    if mlflow_client.search_registered_models(f"name = '{MODEL}'"):
        mlflow_client.delete_registered_model(MODEL)
    experiment = mlflow_client.get_experiment_by_name(MODEL)
    if experiment is not None:
        mlflow_client.delete_experiment(experiment.experiment_id)


@pytest.fixture(scope="module")
def two_runs(run_dag: Any) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """Two runs of the DAG by hand: the bootstrap, then one with a champion in place."""
    return run_dag(), run_dag()


def test_the_first_run_trains_the_champion_and_a_second_a_challenger(
    two_runs: Any, mlflow_server: MlflowServer, warehouse: str
) -> None:
    mlflow_client = registry.client(mlflow_server.uri)
    (first_state, first_run, first_log), (second_state, _, second_log) = two_runs

    assert first_state == "success", first_log[-6000:]
    assert second_state == "success", second_log[-6000:]
    assert "no version is champion yet: training the first one (it becomes champion)" in first_log
    assert "triggered by hand: training a challenger to champion version 1" in second_log
    assert mlflow_client.get_registered_model(MODEL).aliases == {CHAMPION: "1", CHALLENGER: "2"}
    champion = mlflow_client.get_model_version(MODEL, "1")
    tags = mlflow_client.get_run(champion.run_id).data.tags
    assert tags[TAG_AIRFLOW_RUN] == f"ml_churn_train/{first_run}"
    assert uuid.UUID(tags[TAG_LINEAGE_RUN_ID]).version == 7  # the OpenLineage provider's run id of the task
    assert registry.missing_metadata(mlflow_client, MODEL, "1") == []
    # each registration is in the audit ledger, naming the version, its alias and its run
    from scrollintel.db import libpq_url

    with psycopg.connect(libpq_url(warehouse)) as conn:
        entries = conn.execute(
            "SELECT actor, subject, details FROM governance.audit_entry WHERE action = 'model.registered' ORDER BY seq"
        ).fetchall()
    assert [(actor, subject) for actor, subject, _ in entries] == [
        ("dag:ml_churn_train", "model:churn/1"),
        ("dag:ml_churn_train", "model:churn/2"),
    ]
    details = [json.loads(text) for _, _, text in entries]
    assert [(d["version"], d["alias"]) for d in details] == [("1", CHAMPION), ("2", CHALLENGER)]
    assert details[0]["run_id"] == champion.run_id
    assert details[0]["dataset"] == "marts.ml_churn_features"


def test_the_train_task_lineage_names_the_table_of_the_mlflow_run(
    two_runs: Any, run_dag: Any, mlflow_server: MlflowServer
) -> None:
    """The OpenLineage event of the train task has the feature table as input, with the run id MLflow records."""
    events = [json.loads(line) for line in run_dag.lineage_events.read_text().splitlines() if line.strip()]
    complete = [
        e for e in events if e.get("eventType") == "COMPLETE" and e.get("job", {}).get("name") == "ml_churn_train.train"
    ]
    assert complete, [e.get("job", {}).get("name") for e in events]
    mlflow_client = registry.client(mlflow_server.uri)
    champion = mlflow_client.get_model_version(MODEL, "1")
    run = mlflow_client.get_run(champion.run_id)
    (dataset,) = registry.run_datasets(run)
    by_run = {e["run"]["runId"]: e for e in complete}
    event = by_run[run.data.tags[TAG_LINEAGE_RUN_ID]]
    assert (
        [(i["namespace"], i["name"]) for i in event["inputs"]]
        == [(dataset["source"]["namespace"], dataset["source"]["name"])]
        == [("postgres://warehouse:5432", "warehouse.marts.ml_churn_features")]
    )
