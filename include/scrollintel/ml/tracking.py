"""Where MLflow is and how the platform names things in it: one home for these names.

Tasks reach the tracking server through the Airflow connection :data:`MLFLOW_CONN_ID` (an
``http`` connection whose host and port are the server's); outside Airflow (CLI, tests) the
``MLFLOW_TRACKING_URI`` environment variable is used, as MLflow itself does.
"""

from __future__ import annotations

import os

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
#: Run tag: the OpenLineage run id of the Airflow task that logged the run.
TAG_LINEAGE_RUN_ID = "scrollintel.lineage_run_id"
#: Run tag: the Airflow run (``<dag_id>/<run_id>``) that logged the run; a retry of that Airflow
#: run finds the version its earlier try registered instead of registering another.
TAG_AIRFLOW_RUN = "scrollintel.airflow_run"


def registered_model_name(model: str) -> str:
    """The MLflow registered model of a governance model (``models.yaml`` name)."""
    return model


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
