"""The training DAG ``ml_churn_train``: on the feature mart's Asset, owned by the model's team, light to parse."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "ml_churn_train.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["ml_churn_train"]


def test_the_dag_passes_the_cluster_policy_and_belongs_to_the_model_team(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert dag.tags == {"ml", "confidential"}
    assert {task.owner for task in dag.tasks} == {load_governance().models.model("churn").team} == {"ml"}
    assert dag.max_active_runs == 1
    assert "Bootstrap" in dag.doc_md and "challenger" in dag.doc_md


def test_it_runs_when_the_quality_gate_publishes_the_feature_mart(dag: Any) -> None:
    from airflow.sdk import AssetAll

    from scrollintel.transform.dagspec import mart_asset

    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [mart_asset("ml_churn_features")]
    (asset,) = condition.objects
    assert (asset.name, asset.uri) == ("marts.ml_churn_features", "x-scrollintel://warehouse/marts/ml_churn_features")


def test_it_decides_then_trains(dag: Any) -> None:
    assert [task.task_id for task in dag.topological_sort()] == ["needs_training", "train"]
    assert dag.get_task("train").execution_timeout.total_seconds() == 45 * 60
