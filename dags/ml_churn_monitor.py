"""Watches the churn model's champion for drift and decay each time its feature mart is rebuilt; asks for retraining."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from scrollintel.config import load_governance
from scrollintel.dag_defaults import HEAVY_QUEUE, START_DATE, default_args
from scrollintel.ml.tracking import retrain_requested_asset, retrain_requested_asset_uri
from scrollintel.transform.dagspec import mart_asset, mart_asset_uri

MODEL = load_governance().model("churn")
MART = MODEL.features_table.split(".", 1)[1]
FEATURES = mart_asset(MART)
RETRAIN = retrain_requested_asset(MODEL.name)

DOC = f"""
### Churn model monitoring: drift and decay of the champion
Runs whenever the quality gate publishes `{MODEL.features_table}` (`{mart_asset_uri(MART)}`).

1. **champion**: the version MLflow's `champion` alias points at, and the snapshots it was trained on
   (its run's tags). No champion yet: the run is skipped and says so.
2. **monitor**: Evidently compares the newest snapshot with the champion's training snapshots, feature
   by feature (normed Wasserstein distance; a feature drifts at `feature_threshold` =
   {MODEL.monitoring.feature_threshold}, the data when at least `drift_share` =
   {MODEL.monitoring.drift_share:.0%} of the features drift), and scores the rows labelled since the
   champion's holdout: decay when their ROC AUC is more than `max_auc_drop` =
   {MODEL.monitoring.max_auc_drop} below the champion's holdout ROC AUC. Thresholds:
   `governance/models.yaml`. Results: `governance.model_monitoring_runs` and
   `governance.model_feature_drift`; the Evidently report (HTML) in the object store under
   `models/{MODEL.name}/monitoring/`. A retried task replaces its own rows.
3. **request_retraining**: when drift or decay passed its threshold, an event on
   `{retrain_requested_asset_uri(MODEL.name)}` (its `extra`: the reason and the monitoring run id), which
   starts retraining, and a `model.retrain_requested` entry in the audit ledger. Skipped otherwise, and
   when a run before it already asked to retrain this champion on this snapshot.
"""


@dag(
    schedule=[FEATURES],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(MODEL.team, timeout_minutes=60, queue=HEAVY_QUEUE),
    tags=["ml", "confidential"],
    description=f"Drift and decay of the {MODEL.name} champion; asks for retraining past the thresholds",
    doc_md=DOC,
)
def ml_churn_monitor() -> None:
    @task
    def champion() -> dict[str, Any]:
        """The champion version and its reference snapshots; skip when there is no champion."""
        from airflow.sdk.exceptions import AirflowSkipException

        from scrollintel.ml import monitoring

        found = monitoring.champion_reference(monitoring.mlflow_client(), MODEL)
        if found is None:
            raise AirflowSkipException(
                f"model {MODEL.name} has no version with the alias 'champion' yet: nothing to monitor "
                f"(the first training run registers one)"
            )
        return found.as_dict()

    @task(inlets=[FEATURES])
    def monitor(reference: dict[str, Any]) -> dict[str, Any]:
        """Both checks, the report in the object store, the results in the governance schema."""
        from airflow.sdk import get_current_context

        from scrollintel.db import connection_url
        from scrollintel.ml import monitoring
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        context = get_current_context()
        ti = context["ti"]
        run = monitoring.RunContext(
            dag_id=ti.dag_id,
            dag_run_id=context["run_id"],
            task_id=ti.task_id,
            lineage_run_id=monitoring.lineage_run_id(ti),
        )
        champion = monitoring.ChampionReference.from_dict(reference)
        return monitoring.monitor_and_store(connection_url(WAREHOUSE_CONN_ID), MODEL, champion, run)

    @task(outlets=[RETRAIN])
    def request_retraining(summary: dict[str, Any]) -> dict[str, Any]:
        """The retraining event and its ledger entry, only when drift or decay passed its threshold."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from scrollintel.ml import monitoring

        if not summary["retrain"]:
            raise AirflowSkipException(f"no retraining: {summary['reason']}")
        if summary["already_requested_by"]:
            raise AirflowSkipException(
                f"retraining of {MODEL.name} v{summary['champion_version']} on snapshot {summary['current_snapshot']} "
                f"was already requested by monitoring run {summary['already_requested_by']}; this run "
                f"({summary['monitoring_run_id']}) found: {summary['reason']}"
            )
        monitoring.record_retrain_request(summary)
        extra = {
            key: summary[key]
            for key in ("reason", "monitoring_run_id", "verdict", "model", "champion_version", "current_snapshot")
        }
        extra["report_uri"] = summary["report_uri"]
        get_current_context()["outlet_events"][RETRAIN].extra = extra
        return extra

    request_retraining(monitor(champion()))


ml_churn_monitor()
