"""The retraining DAG: on the retrain Asset, train -> evaluate -> approval -> promote or archive."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_ID = "ml_churn_retrain"
DAG_FILE = project_root() / "dags" / f"{DAG_ID}.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def test_the_dag_passes_the_cluster_policy_and_belongs_to_the_model_team(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert dag.tags == {"ml", "confidential"}
    assert {task.owner for task in dag.tasks} == {"ml"}
    assert dag.max_active_runs == 1
    assert "refused challenger stops here" in dag.doc_md


def test_it_runs_on_the_retrain_asset_of_the_monitoring_dag(dag: Any) -> None:
    from airflow.sdk import AssetAll

    from scrollintel.ml.tracking import retrain_requested_asset

    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [retrain_requested_asset("churn")]


def test_the_gate_comes_after_the_evaluation_and_branches_to_promote_or_archive(dag: Any) -> None:
    from airflow.task.trigger_rule import TriggerRule

    from scrollintel.approvals.gate import ApprovalGate

    order = [task.task_id for task in dag.topological_sort()]
    assert order == ["train_challenger", "evaluate", "approve_promotion", "promote", "archive_rejected"]
    gate = dag.get_task("approve_promotion")
    assert isinstance(gate, ApprovalGate) and gate.decision == "model_promotion"
    assert "xcom_pull(task_ids='evaluate')['summary_markdown']" in gate.details
    # the gate skips its direct downstream (promote) on a "no"; archive runs unless something failed
    # (then it is upstream_failed and the run red) and skips itself after an approval
    assert gate.downstream_task_ids == {"promote"}
    archive = dag.get_task("archive_rejected")
    assert archive.upstream_task_ids == {"promote"} and archive.trigger_rule == TriggerRule.NONE_FAILED
