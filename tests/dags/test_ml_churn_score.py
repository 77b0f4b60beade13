"""The scoring DAG ``ml_churn_score``: daily and on the champion Asset, one task, light to parse."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.policies import dag_violations
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "ml_churn_score.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["ml_churn_score"]


def test_the_dag_passes_the_cluster_policy(dag: Any) -> None:
    assert dag_violations(dag) == []
    assert {task.owner for task in dag.tasks} == {"ml"}
    assert [task.task_id for task in dag.tasks] == ["score"]


def test_it_runs_daily_and_whenever_champion_moves(dag: Any) -> None:
    from airflow.timetables.assets import AssetOrTimeSchedule

    from scrollintel.ml.promotion import champion_changed_asset

    timetable = dag.timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert timetable.summary == "Asset or 0 6 * * *"
    (asset,) = timetable.asset_condition.objects
    expected = champion_changed_asset("churn")
    assert (asset.name, asset.uri) == (expected.name, expected.uri)


def test_the_retraining_and_rollback_tasks_that_move_champion_announce_it() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from scrollintel.ml.promotion import champion_changed_asset

    bag = DagBag(dag_folder=str(project_root() / "dags" / "ml_churn_retrain.py"))
    assert bag.dags["ml_churn_retrain"].get_task("promote").outlets == [champion_changed_asset("churn")]
