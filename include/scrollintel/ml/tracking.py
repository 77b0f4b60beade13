"""Where MLflow is and how the platform names things in it: one home for these names.

Tasks reach the tracking server through the Airflow connection :data:`MLFLOW_CONN_ID` (an
``http`` connection whose host and port are the server's); outside Airflow (CLI, tests) the
``MLFLOW_TRACKING_URI`` environment variable is used, as MLflow itself does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from scrollintel.warehouse import ASSET_SCHEME

if TYPE_CHECKING:
    from airflow.sdk import Asset

#: Airflow connection of the MLflow tracking server.
MLFLOW_CONN_ID = "mlflow_default"
#: Environment variable MLflow reads for its tracking server (a fallback outside Airflow).
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"

#: Registry alias of the version in production (scoring reads it at run time).
CHAMPION = "champion"
#: Registry alias of the newest trained candidate waiting for promotion.
CHALLENGER = "challenger"
#: Registry alias of the version ``champion`` pointed at before the last promotion (rollback target).
PREVIOUS_CHAMPION = "previous-champion"

#: Run tag: the feature table (``<schema>.<table>``) a run trained on.
TAG_DATASET = "scrollintel.dataset"
#: Run tag: the OpenLineage namespace of that table (the warehouse's).
TAG_DATASET_NAMESPACE = "scrollintel.dataset_namespace"
#: Run tag: a version of the table's content (digest of the rows read) so two runs compare data.
TAG_DATASET_VERSION = "scrollintel.dataset_version"
#: Run tag: the snapshots (``YYYY-MM-DD`` list, comma-separated) the model was trained on:
#: the reference data of drift monitoring.
TAG_TRAIN_SNAPSHOTS = "scrollintel.train_snapshots"
#: Run tag: the snapshot held out for evaluation.
TAG_HOLDOUT_SNAPSHOT = "scrollintel.holdout_snapshot"
#: Run tag: the run artifact holding the holdout snapshot's rows as training read them (Parquet):
#: drift monitoring's reference data, the most recent data the model knew, kept as it was.
TAG_REFERENCE = "scrollintel.reference"
#: Where training logs that artifact in its run.
REFERENCE_ARTIFACT = "reference/holdout.parquet"
#: Run tag: the OpenLineage run id of the Airflow task that logged the run.
TAG_LINEAGE_RUN_ID = "scrollintel.lineage_run_id"
#: Run tag: the Airflow run (``<dag_id>/<run_id>``) that logged the run; a retry of that Airflow
#: run finds the version its earlier try registered instead of registering another.
TAG_AIRFLOW_RUN = "scrollintel.airflow_run"


#: Ledger actions of the model lifecycle (``details`` name the model, versions and runs, never data).
RETRAIN_REQUESTED = "model.retrain_requested"
#: A challenger was trained, evaluated against the champion and registered.
EVALUATED = "model.evaluated"
#: The promotion checks stopped a challenger before approval (``reasons``).
PROMOTION_REFUSED = "model.promotion_refused"
#: ``champion`` moved to the challenger after approval (``from_version``, ``to_version``, ``approved_by``).
PROMOTED = "model.promoted"
#: The promotion was rejected or expired: the challenger is archived (``reason``).
PROMOTION_REJECTED = "model.promotion_rejected"
#: ``champion`` moved back to the previous champion after approval.
ROLLED_BACK = "model.rolled_back"
#: A scoring run wrote its scores (``version``, ``rows``).
SCORED = "model.scored"

#: Run artifacts of an evaluated challenger (under the challenger's MLflow run).
ARTIFACT_FAIRNESS = "evaluation/fairness.json"
ARTIFACT_SHAP_TABLE = "evaluation/shap_summary.json"
ARTIFACT_SHAP_CHART = "evaluation/shap_summary.png"
ARTIFACT_COMPARISON = "evaluation/comparison.json"
#: Model version tag set when a challenger is archived (rejected, expired or refused), with the reason.
TAG_ARCHIVED = "scrollintel.archived"


def scores_table(model: str) -> tuple[str, str]:
    """(schema, table) the scoring DAG writes, ``marts.<model>_scores``: one row per entity and scoring run."""
    return "marts", f"{model}_scores"


def registered_model_name(model: str) -> str:
    """The MLflow registered model of a governance model (``models.yaml`` name)."""
    return model


def retrain_requested_asset_uri(model: str) -> str:
    """``x-scrollintel://models/<model>/retrain-requested``: drift or decay monitoring asks for retraining."""
    return f"{ASSET_SCHEME}://models/{model}/retrain-requested"


def retrain_requested_asset(model: str) -> Asset:
    """The Airflow Asset whose events start ``model``'s retraining (outlet of the monitoring DAG).

    Each event's ``extra`` carries ``reason`` (what passed which threshold) and
    ``monitoring_run_id`` (the row in ``governance.model_monitoring_runs``).
    """
    from airflow.sdk import Asset

    return Asset(name=f"models.{model}.retrain_requested", uri=retrain_requested_asset_uri(model), group="ml")


def tracking_uri() -> str:
    """The tracking server's URI: the Airflow connection inside tasks, else the environment."""
    configured = os.environ.get(TRACKING_URI_ENV)
    if configured:
        return configured
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(MLFLOW_CONN_ID)
    scheme = conn.schema or "http"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{conn.host}{port}"
