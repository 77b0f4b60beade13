"""The rollback DAG ``ml_churn_rollback``: triggered only, check -> model_promotion approval -> rollback."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "ml_churn_rollback.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["ml_churn_rollback"]


def test_it_is_triggered_only_and_passes_the_cluster_policy(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: triggered only
    assert {task.owner for task in dag.tasks} == {"ml"}


def test_the_rollback_waits_for_the_model_promotion_approval_and_announces_the_new_champion(dag: Any) -> None:
    from scrollintel.approvals.gate import ApprovalGate
    from scrollintel.ml.promotion import champion_changed_asset, rollback_dag_id

    assert rollback_dag_id("churn") == dag.dag_id
    assert [task.task_id for task in dag.topological_sort()] == ["check", "approve_rollback", "rollback"]
    gate = dag.get_task("approve_rollback")
    assert isinstance(gate, ApprovalGate) and gate.decision == "model_promotion"
    assert gate.downstream_task_ids == {"rollback"}
    (outlet,) = dag.get_task("rollback").outlets
    assert outlet.uri == champion_changed_asset("churn").uri
