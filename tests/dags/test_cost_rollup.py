"""The cost rollup DAG: daily, owned by finance, its tasks in order, and which day a run rolls up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "cost_rollup.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["cost_rollup"]


def test_the_dag_passes_the_cluster_policy(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert {task.owner for task in dag.tasks} == {"finance"}
    assert dag.timetable.summary == "0 2 * * *"
    assert dag.max_active_runs == 1


def test_sources_come_before_the_rollup_and_roi_and_budgets_after(dag: Any) -> None:
    rollup = dag.get_task("rollup")
    assert rollup.upstream_task_ids == {"collect_task_runs", "snapshot_warehouse", "collect_cloud"}
    assert rollup.downstream_task_ids == {"roi", "budgets"}


def test_a_run_rolls_up_the_day_before_its_logical_date(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("cost_rollup_dag", DAG_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "get_current_context", lambda: {"logical_date": datetime(2026, 12, 7, 2, tzinfo=UTC)})
    assert module.rollup_day_of().isoformat() == "2026-12-06"

    class Run:
        run_after = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)

    monkeypatch.setattr(module, "get_current_context", lambda: {"logical_date": None, "dag_run": Run()})
    assert module.rollup_day_of().isoformat() == "2026-11-30"


def test_a_run_given_a_day_rolls_up_that_day(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("cost_rollup_dag", DAG_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    moment = datetime(2026, 12, 7, 2, tzinfo=UTC)
    monkeypatch.setattr(
        module, "get_current_context", lambda: {"logical_date": moment, "params": {"day": "2026-12-07"}}
    )
    assert module.rollup_day_of().isoformat() == "2026-12-07"  # today so far, not the day before
    monkeypatch.setattr(module, "get_current_context", lambda: {"logical_date": moment, "params": {"day": "7/12"}})
    with pytest.raises(ValueError, match=r"cost_rollup param day: '7/12' is not a date \(YYYY-MM-DD\)"):
        module.rollup_day_of()


def test_the_day_param_is_optional_and_validated_as_a_date(dag: Any) -> None:
    from airflow.sdk.definitions.param import ParamsDict

    assert dag.params["day"] is None
    ParamsDict({"day": dag.params.get_param("day")}).validate()
    with pytest.raises(ValueError, match="day"):
        params = ParamsDict({"day": dag.params.get_param("day")})
        params["day"] = "not a date"
        params.validate()
