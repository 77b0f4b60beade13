"""Trains the churn model: its first version when the feature mart lands, or a challenger on demand."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from scrollintel.config import load_governance
from scrollintel.dag_defaults import HEAVY_QUEUE, START_DATE, default_args
from scrollintel.transform.dagspec import mart_asset

MODEL = "churn"
FEATURES_MART = "ml_churn_features"

DOC = """
### Churn model training
Trains the churn model (`governance/models.yaml`, model `churn`) on `marts.ml_churn_features`:
time-based split (the newest snapshot is the holdout), a hyperparameter search with the configured
budget, calibration, holdout metrics; the run goes to MLflow with the feature table's lineage and
the model is registered as a new version of `churn`.

- **Bootstrap**: runs when the quality gate publishes the feature mart. While no version is
  `champion`, it trains and its version becomes `champion`; once there is one, these runs skip:
  retraining is the monitoring DAG's decision (drift or decay).
- **By hand** (Trigger): trains a new version and gives it the alias `challenger`; the promotion
  gate (with its approval) decides whether it becomes `champion`.

Each registration is recorded in the audit ledger (`model.registered`). A retry of the same run
reuses the version its earlier try registered. Open the run from the MLflow link in the UI's nav.
"""


@dag(
    schedule=[mart_asset(FEATURES_MART)],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(load_governance().models.model(MODEL).team, timeout_minutes=45, queue=HEAVY_QUEUE),
    tags=["ml", "confidential"],
    doc_md=DOC,
)
def ml_churn_train() -> None:
    @task.short_circuit
    def needs_training() -> bool:
        """Skip a run started by the mart once a champion exists (see the DAG doc)."""
        import logging

        from scrollintel.ml.registry import champion_version, client
        from scrollintel.ml.tracking import registered_model_name
        from scrollintel.ml.training import training_reason

        champion = champion_version(client(), registered_model_name(MODEL))
        version = None if champion is None else str(champion.version)
        run_type = get_current_context()["dag_run"].run_type
        reason = training_reason(version, str(getattr(run_type, "value", run_type)))  # an enum or its value
        log = logging.getLogger(__name__)
        if reason is None:
            log.info("version %s is champion and the mart started this run: nothing to bootstrap", version)
            return False
        log.info("%s", reason)
        return True

    @task
    def train() -> dict[str, object]:
        """Read the features, search, calibrate, log to MLflow, register, record in the ledger."""
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

        ti = get_current_context()["ti"]
        model = load_governance().models.model(MODEL)
        report_feature_input(model)  # the task's OpenLineage events name the table the MLflow run names
        try:
            result = train_and_register(
                model,
                connection_url(WAREHOUSE_CONN_ID),
                lineage_run_id=task_lineage_run_id(ti),
                airflow_run=f"{ti.dag_id}/{ti.run_id}",
            )
        except TrainingError as err:
            # The data cannot train a model (too few snapshots, one class): a retry would only repeat it.
            raise AirflowFailException(str(err)) from err
        record_registration(model, result)
        return result.as_dict()

    needs_training() >> train()


ml_churn_train()
