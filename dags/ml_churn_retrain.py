"""Retrains the churn model when monitoring asks for it, and promotes the challenger only with an approval."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task
from airflow.task.trigger_rule import TriggerRule

from scrollintel.approvals.gate import approval_gate
from scrollintel.approvals.outcome import GateDecision
from scrollintel.config import load_governance
from scrollintel.dag_defaults import HEAVY_QUEUE, START_DATE, default_args
from scrollintel.ml.promotion import champion_changed_asset
from scrollintel.ml.tracking import retrain_requested_asset, retrain_requested_asset_uri

MODEL = load_governance().models.model("churn")
RETRAIN = retrain_requested_asset(MODEL.name)
CHAMPION_CHANGED = champion_changed_asset(MODEL.name)
GATE = "approve_promotion"
EVALUATION = "{{ ti.xcom_pull(task_ids='evaluate') }}"

DOC = f"""
### Churn model retraining and blue/green promotion
Runs when the monitoring DAG asks for retraining (`{retrain_requested_asset_uri(MODEL.name)}`: drift or
decay past the thresholds of `governance/models.yaml`), or when triggered by hand.

1. **train_challenger**: trains as `ml_churn_train` does (time split, bounded search, calibration) and
   registers the version with alias `challenger`.
2. **evaluate**: champion and challenger on the challenger's holdout snapshot, fairness on the holdout
   plus the snapshots training purged, SHAP, the promotion checks (AUC margin, fairness, signature,
   lineage, upstream quality, registry metadata). A row in `governance.model_evaluations`, artifacts on
   the challenger's MLflow run, a ledger entry. **A refused challenger stops here**: it is archived and
   the task fails with every reason (a gate fails loudly; retrying would give the same verdict).
3. **{GATE}**: the `model_promotion` approval (Slack, the Approvals page) with the metrics side by side,
   checks, fairness, top SHAP features and links to both MLflow runs.
4. **promote** on approval: `champion` moves to the challenger, the old champion becomes
   `previous-champion` (`scrollintel model rollback churn` moves it back); ledger `model.promoted`; an
   event on the champion Asset starts `ml_churn_score`.
   **archive_rejected** on rejection or expiry: the challenger is archived with the reason; `champion`
   is untouched; ledger `model.promotion_rejected`.
"""


def _context(task_id: str) -> Any:
    from scrollintel.ml.monitoring import lineage_run_id
    from scrollintel.ml.promotion import RunContext

    ti = get_current_context()["ti"]
    return RunContext(ti.dag_id, ti.run_id, task_id, lineage_run_id(ti))


@dag(
    schedule=[RETRAIN],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(MODEL.team, timeout_minutes=60, queue=HEAVY_QUEUE),
    tags=["ml", "confidential"],
    doc_md=DOC,
)
def ml_churn_retrain() -> None:
    @task
    def train_challenger() -> dict[str, Any]:
        """Train and register a challenger; why this run retrains goes along (the Asset event's reason)."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.db import connection_url
        from scrollintel.ml.training import (
            TrainingError,
            record_registration,
            report_feature_input,
            task_lineage_run_id,
            train_and_register,
        )
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        context = get_current_context()
        ti = context["ti"]
        reasons = [
            str((event.extra or {}).get("reason"))
            for events in (context.get("triggering_asset_events") or {}).values()
            for event in events
            if (event.extra or {}).get("reason")
        ]
        report_feature_input(MODEL)  # the task's OpenLineage events name the table the MLflow run names
        try:
            result = train_and_register(
                MODEL,
                connection_url(WAREHOUSE_CONN_ID),
                lineage_run_id=task_lineage_run_id(ti),
                airflow_run=f"{ti.dag_id}/{ti.run_id}",
            )
        except TrainingError as err:
            raise AirflowFailException(str(err)) from err
        record_registration(MODEL, result)
        reason = "; ".join(reasons) or "triggered by hand"
        return {**result.as_dict(), "trigger_reason": reason}

    @task
    def evaluate(trained: dict[str, Any]) -> dict[str, Any]:
        """Champion vs challenger and the promotion checks; a refused challenger is archived and the task fails."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from scrollintel.db import connection_url
        from scrollintel.ml import promotion
        from scrollintel.ml.tracking import CHAMPION, tracking_uri
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        if trained["alias"] == CHAMPION:  # no champion existed: the first version became champion
            raise AirflowSkipException(
                f"version {trained['version']} is the first and became {CHAMPION}: nothing to promote"
            )
        outcome = promotion.evaluate(
            MODEL,
            connection_url(WAREHOUSE_CONN_ID),
            trained["version"],
            context=_context("evaluate"),
            trigger_reason=trained.get("trigger_reason"),
            ui_base_url=tracking_uri(),
        )
        if not outcome.ready:
            message = outcome.verdict.message()
            promotion.archive(MODEL.name, outcome.challenger_version, f"refused before approval: {message}")
            raise AirflowFailException(f"{MODEL.name} v{outcome.challenger_version}: {message}")
        return outcome.as_dict()

    gate = approval_gate(
        task_id=GATE,
        subject="model_promotion",
        summary="{{ ti.xcom_pull(task_ids='evaluate')['summary'] }}",
        details="{{ ti.xcom_pull(task_ids='evaluate')['summary_markdown'] }}",
    )

    @task(outlets=[CHAMPION_CHANGED])
    def promote(evaluation: dict[str, Any]) -> dict[str, Any]:
        """On approval: champion -> challenger, previous-champion -> the old champion; ledger entry."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.ml import promotion

        decision = GateDecision.of_gate(get_current_context()["ti"], GATE)
        if decision is None or not decision.granted or not decision.decided_by:
            raise AirflowFailException(f"no approval to promote on (the gate answered {decision})")
        context = _context("promote")
        return promotion.promote(
            MODEL.name,
            evaluation["challenger_version"],
            decision.decided_by,
            lineage_run_id=context.lineage_run_id,
            context=context,
        )

    # NONE_FAILED, not ALL_SKIPPED: when a task before the gate fails, this leaf is upstream_failed and
    # the run is red (ALL_SKIPPED would skip it and Airflow would call the run a success); on
    # approval it skips itself.
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def archive_rejected() -> dict[str, Any]:
        """On rejection or expiry (the gate skipped ``promote``): archive the challenger, champion untouched.

        Its only upstream is ``promote`` (skipped = the gate said no; success = approved, then this skips); the
        evaluation is read from XCom.
        """
        from airflow.sdk.exceptions import AirflowSkipException

        from scrollintel.ml import promotion

        decision = GateDecision.of_gate(get_current_context()["ti"], GATE)
        if decision is None or decision.outcome == "granted":
            raise AirflowSkipException("the promotion was not put to a decision, or was approved: nothing to archive")
        evaluation = get_current_context()["ti"].xcom_pull(task_ids="evaluate")
        return promotion.reject(
            MODEL.name,
            evaluation["challenger_version"],
            decision.describe("promotion"),
            decided_by=decision.decided_by,
            outcome=decision.outcome,
            context=_context("archive_rejected"),
        )

    evaluated = evaluate(train_challenger())
    promoted = promote(evaluated)
    evaluated >> gate >> promoted >> archive_rejected()


ml_churn_retrain()
