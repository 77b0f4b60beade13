"""The retention DAG (daily, dry-run param), the legal hold DAG (retention_override approval), the Art. 30 DAG."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAGS = project_root() / "dags"


@pytest.fixture(scope="module")
def bag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    dags: dict[str, Any] = {}
    for name in ("compliance_retention", "compliance_legal_hold", "compliance_record"):
        loaded = DagBag(dag_folder=str(DAGS / f"{name}.py"))
        assert loaded.import_errors == {}
        dags.update(loaded.dags)
    return dags


def test_retention_runs_daily_with_a_dry_run_switch(bag: Any) -> None:
    dag = bag["compliance_retention"]
    assert dag_violations(dag) == []
    assert str(dag.schedule) == "@daily"
    assert dag.params["dry_run"] is False
    assert "never purged" in dag.doc_md
    assert [task.task_id for task in dag.tasks] == ["enforce_retention"]


def test_a_legal_hold_needs_two_distinct_retention_override_approvals(bag: Any) -> None:
    from airflow.task.trigger_rule import TriggerRule

    from scrollintel.approvals.gate import ApprovalGate

    dag = bag["compliance_legal_hold"]
    assert dag_violations(dag) == []
    gates = [task for task in dag.tasks if isinstance(task, ApprovalGate)]
    assert [gate.task_id for gate in gates] == ["approve_hold.approval_1", "approve_hold.approval_2"]
    assert {gate.decision for gate in gates} == {"retention_override"}
    order = [task.task_id for task in dag.topological_sort()]
    assert order == [
        "check_hold",
        "approve_hold.approval_1",
        "approve_hold.approval_2",
        "record_hold",
        "close_rejected",
    ]
    assert dag.get_task("close_rejected").trigger_rule == TriggerRule.NONE_FAILED


def test_the_art30_record_is_regenerated_daily(bag: Any) -> None:
    dag = bag["compliance_record"]
    assert dag_violations(dag) == []
    assert str(dag.schedule) == "@daily"
    assert [task.task_id for task in dag.tasks] == ["generate_record"]
