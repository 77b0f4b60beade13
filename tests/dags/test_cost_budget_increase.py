"""The budget increase DAG: triggered with a request -> validate -> budget_increase approval -> apply or close."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_ID = "cost_budget_increase"
DAG_FILE = project_root() / "dags" / f"{DAG_ID}.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def test_the_dag_passes_the_cluster_policy_and_belongs_to_finance(dag: Any) -> None:
    from scrollintel.cost.increases import DAG_ID as REQUESTED_DAG

    assert dag.dag_id == REQUESTED_DAG  # what the CLI triggers
    assert dag_violations(dag) == []
    assert {task.owner for task in dag.tasks} == {"finance"}
    assert type(dag.timetable).__name__ == "NullTimetable"  # triggered per request only
    assert set(dag.params) == {"team", "month", "amount", "reason"}
    assert "effective budget" in dag.doc_md


def test_the_increase_waits_for_the_budget_increase_approval_and_a_no_changes_nothing(dag: Any) -> None:
    from airflow.task.trigger_rule import TriggerRule

    from scrollintel.approvals.gate import ApprovalGate

    order = [task.task_id for task in dag.topological_sort()]
    assert order == ["validate_request", "approve_increase", "apply_increase", "close_rejected"]
    gate = dag.get_task("approve_increase")
    assert isinstance(gate, ApprovalGate) and gate.decision == "budget_increase"
    assert "xcom_pull(task_ids='validate_request')['details']" in gate.details
    assert gate.downstream_task_ids == {"apply_increase"}
    close = dag.get_task("close_rejected")
    assert close.upstream_task_ids == {"apply_increase"} and close.trigger_rule == TriggerRule.NONE_FAILED


def test_the_gate_applies_the_budget_increase_policy() -> None:
    from scrollintel.approvals.policy import resolve

    policy = resolve("budget_increase")
    assert policy.approvers == ("fi-controller", "fi-analyst")
    assert policy.separation_of_duties and policy.min_approvals == 1
    assert policy.approvers_for("fi-controller") == ("fi-analyst",)  # the requester is left out
