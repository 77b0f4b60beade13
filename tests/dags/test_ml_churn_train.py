"""The training DAG ``ml_churn_train``: on the feature mart's Asset, owned by the model's team, light to parse."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "ml_churn_train.py"
HEAVY = ("mlflow", "sklearn", "pandas", "numpy", "pyarrow", "shap", "evidently", "scipy", "skops")


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


def test_parsing_imports_no_heavy_library() -> None:
    """MLflow, scikit-learn and pandas are imported inside the tasks only: the file parses in milliseconds."""
    script = textwrap.dedent(
        f"""
        import sys
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder={str(DAG_FILE)!r})
        assert not bag.import_errors, bag.import_errors
        assert "ml_churn_train" in bag.dags
        heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
        print("HEAVY", heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "HEAVY []" in result.stdout, result.stdout[-2000:]
