"""The erasure DAG: triggered with a request id -> plan -> approval -> execute or close."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_ID = "compliance_erasure"
DAG_FILE = project_root() / "dags" / f"{DAG_ID}.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def test_the_dag_passes_the_cluster_policy_and_belongs_to_compliance(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert dag.tags == {"compliance", "restricted"}
    assert {task.owner for task in dag.tasks} == {"compliance"}
    assert type(dag.timetable).__name__ == "NullTimetable"  # triggered per request only
    assert "request_id" in dag.params
    assert "nothing is erased" in dag.doc_md


def test_execution_waits_for_the_erasure_approval_and_a_no_closes_the_request(dag: Any) -> None:
    from airflow.task.trigger_rule import TriggerRule

    from scrollintel.approvals.gate import ApprovalGate

    order = [task.task_id for task in dag.topological_sort()]
    assert order == ["plan_erasure", "approve_erasure", "execute_erasure", "close_rejected"]
    gate = dag.get_task("approve_erasure")
    assert isinstance(gate, ApprovalGate) and gate.decision == "erasure"
    assert "xcom_pull(task_ids='plan_erasure')['details']" in gate.details
    assert gate.downstream_task_ids == {"execute_erasure"}
    close = dag.get_task("close_rejected")
    assert close.upstream_task_ids == {"execute_erasure"} and close.trigger_rule == TriggerRule.NONE_FAILED


def test_the_gate_applies_the_erasure_policy() -> None:
    from scrollintel.config import load_governance

    policy = load_governance().approval_policy("erasure")
    assert [(a.team, a.role) for a in policy.approvers] == [("compliance", "steward")]
    assert policy.separation_of_duties
