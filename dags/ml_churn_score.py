"""Scores subscribers' churn risk daily and after every promotion or rollback, with the champion of that moment."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from scrollintel.config import load_governance
from scrollintel.dag_defaults import HEAVY_QUEUE, START_DATE, default_args
from scrollintel.ml.promotion import champion_changed_asset

MODEL = load_governance().models.model("churn")
CHAMPION_CHANGED = champion_changed_asset(MODEL.name)

DOC = f"""
### Churn scoring
Scores every current subscriber (`{MODEL.scoring.features_table or MODEL.features_table}`: features as of
today, defined as in the training table) with the version the
registry alias `champion` points at **when the run starts**, and writes `marts.churn_scores`: the key,
the snapshot, the score, the model version, `scored_at` and the scoring run. Runs daily at 06:00 UTC
and whenever `champion` moves (promotion in `ml_churn_retrain`, rollback in `ml_churn_rollback`): a
promotion or a rollback changes the next run only. A retry replaces its own rows; ledger `model.scored`.
"""


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"), assets=[CHAMPION_CHANGED]
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(MODEL.team, timeout_minutes=30, queue=HEAVY_QUEUE),
    tags=["ml", "confidential"],
    doc_md=DOC,
)
def ml_churn_score() -> None:
    @task
    def score() -> dict[str, Any]:
        """Resolve champion, score the newest feature rows, replace this run's rows, record in the ledger."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from scrollintel.db import connection_url
        from scrollintel.ml import registry, scoring
        from scrollintel.ml.monitoring import lineage_run_id
        from scrollintel.ml.promotion import RunContext
        from scrollintel.ml.registry import RegistryError
        from scrollintel.ml.tracking import registered_model_name
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        if registry.champion_version(registry.client(), registered_model_name(MODEL.name)) is None:
            # a fresh platform: the daily run comes before any model was trained; nothing is wrong
            raise AirflowSkipException(
                f"no champion version of {MODEL.name} yet: nothing to score (train it first: DAG ml_{MODEL.name}_train)"
            )
        ti = get_current_context()["ti"]
        context = RunContext(ti.dag_id, ti.run_id, ti.task_id, lineage_run_id(ti))
        try:
            return scoring.score(MODEL, connection_url(WAREHOUSE_CONN_ID), context=context).as_dict()
        except (RegistryError, scoring.ScoringError) as err:  # no champion or no rows: a retry would not help
            raise AirflowFailException(str(err)) from err

    score()


ml_churn_score()
