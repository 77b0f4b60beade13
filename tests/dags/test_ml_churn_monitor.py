"""The ``ml_churn_monitor`` DAG: on the churn mart's Asset, three thin tasks, the retrain Asset as its outlet."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "ml_churn_monitor.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["ml_churn_monitor"]


def test_the_dag_passes_the_cluster_policy_and_is_owned_by_the_models_team(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert dag.tags == {"ml", "confidential"}
    assert {task.owner for task in dag.tasks} == {load_governance().model("churn").team}
    assert "drift" in dag.doc_md and "x-scrollintel://models/churn/retrain-requested" in dag.doc_md
    assert dag.max_active_runs == 1


def test_it_runs_on_the_asset_the_transform_quality_gate_publishes_for_the_mart(dag: Any) -> None:
    from scrollintel.transform.dagspec import mart_asset

    condition = dag.timetable.asset_condition
    (asset,) = condition.objects
    published = mart_asset("ml_churn_features")
    assert (asset.name, asset.uri) == (published.name, published.uri)
    assert (asset.name, asset.uri) == ("marts.ml_churn_features", "x-scrollintel://warehouse/marts/ml_churn_features")
    assert [inlet.uri for inlet in dag.get_task("monitor").inlets] == [asset.uri]


def test_champion_then_monitor_then_the_retraining_request_which_alone_publishes(dag: Any) -> None:
    assert dag.get_task("champion").downstream_task_ids == {"monitor"}
    assert dag.get_task("monitor").downstream_task_ids == {"request_retraining"}
    request = dag.get_task("request_retraining")
    assert [(outlet.name, outlet.uri) for outlet in request.outlets] == [
        ("models.churn.retrain_requested", "x-scrollintel://models/churn/retrain-requested")
    ]
    assert [task.task_id for task in dag.tasks if task.outlets] == ["request_retraining"]
    for task in dag.tasks:
        assert task.retries == 2 and task.execution_timeout is not None


def _env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CTX_")}
