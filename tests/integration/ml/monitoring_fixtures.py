"""What the monitoring tests build on: a churn feature mart with known distributions and a champion in MLflow.

The mart ``marts.ml_churn_features`` has the shape dbt gives it (key, snapshot, the 13 features of
``governance/models.yaml``, the label) and eight monthly snapshots of :data:`ROWS` rows each, drawn
from one process: the champion trains on the first six (:data:`TRAIN`), is evaluated on the seventh
(:data:`HOLDOUT`), and the eighth (:data:`NEWEST`) is what monitoring looks at. Tests replace the
newest snapshot with :func:`snapshot_frame`: a new sample of the same process (no drift), one with
:data:`SHIFTED` features moved (drift), or one whose labels run against what the champion learnt
(decay).

The champion is a real scikit-learn pipeline logged to a local MLflow store (SQLite, artifacts
in a temporary folder), registered under the model's name with the alias ``champion`` and the run
tags and metric of :mod:`scrollintel.ml.tracking` that training sets. These are plain functions;
each test module makes its own fixtures from them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import psycopg

    from scrollintel.config.models import ModelConfig

SNAPSHOTS = tuple(dt.date(2025, month, 1) for month in range(1, 9))
TRAIN, HOLDOUT, NEWEST = SNAPSHOTS[:6], SNAPSHOTS[6], SNAPSHOTS[7]
ROWS = 1500
#: Features moved by the injected drift: 5 of 13 (38% >= the policy's 30%), each by about one standard deviation.
SHIFTED = ("revenue_90d", "orders_90d", "days_since_last_order", "support_tickets_90d", "tenure_days")

MART_DDL = """
CREATE TABLE marts.ml_churn_features (
    customer_id bigint NOT NULL,
    snapshot_date date NOT NULL,
    subscription_id bigint,
    tenure_days integer,
    support_tickets_90d bigint,
    support_tickets_total bigint,
    failed_payments_90d bigint,
    failed_payments_total bigint,
    downgrades_total bigint,
    upgrades_total bigint,
    orders_90d bigint,
    orders_prior_90d bigint,
    order_trend numeric,
    revenue_90d numeric,
    revenue_total numeric,
    days_since_last_order integer,
    churn_label integer NOT NULL
)
"""


def snapshot_frame(day: dt.date, seed: int, *, shift: Sequence[str] = (), invert_labels: bool = False) -> pd.DataFrame:
    """One snapshot of :data:`ROWS` subscribers; ``shift`` moves those features, ``invert_labels`` flips the signal."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = ROWS
    tickets_90d = rng.poisson(0.8, n)
    failed_90d = rng.poisson(0.3, n)
    orders_90d = rng.poisson(3.0, n)
    orders_prior = rng.poisson(3.0, n)
    revenue_90d = np.round(orders_90d * rng.gamma(4.0, 12.0, n), 2)
    days_since = rng.exponential(30.0, n).round()
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1) + 10_000 * seed,
            "snapshot_date": day,
            "subscription_id": np.arange(1, n + 1) + 10_000 * seed,
            "tenure_days": rng.integers(30, 1500, n),
            "support_tickets_90d": tickets_90d,
            "support_tickets_total": tickets_90d + rng.poisson(2.0, n),
            "failed_payments_90d": failed_90d,
            "failed_payments_total": failed_90d + rng.poisson(1.0, n),
            "downgrades_total": rng.poisson(0.3, n),
            "upgrades_total": rng.poisson(0.5, n),
            "orders_90d": orders_90d,
            "orders_prior_90d": orders_prior,
            "order_trend": np.round((orders_90d + 1.0) / (orders_prior + 1.0), 4),
            "revenue_90d": revenue_90d,
            "revenue_total": np.round(revenue_90d + rng.gamma(3.0, 80.0, n), 2),
            "days_since_last_order": pd.array(np.where(rng.random(n) < 0.1, np.nan, days_since), dtype="Int64"),
        }
    )
    logit = (
        -1.2
        + 0.9 * frame["support_tickets_90d"]
        + 1.2 * frame["failed_payments_90d"]
        - 0.35 * frame["orders_90d"]
        + 0.4 * frame["downgrades_total"]
        - 0.0008 * frame["tenure_days"]
    )
    if invert_labels:
        logit = -logit - 1.5
    frame["churn_label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")
    for name in shift:
        frame[name] = _shifted(frame[name], rng)
    return frame


def _shifted(column: pd.Series, rng: Any) -> pd.Series:
    """The column moved up by about one standard deviation (counts stay whole numbers)."""
    import numpy as np

    moved = column + float(np.nanstd(column.astype("float64")))
    if str(column.dtype) in ("int64", "Int64"):
        return moved.round().astype(column.dtype)
    return moved.round(2)


def create_mart(conn: psycopg.Connection[Any], frames: Sequence[pd.DataFrame]) -> None:
    """``marts.ml_churn_features`` with ``frames`` as its rows (run as the role that should own it)."""
    conn.execute("DROP TABLE IF EXISTS marts.ml_churn_features")
    conn.execute(MART_DDL)
    for frame in frames:
        _copy(conn, frame)


def replace_snapshot(conn: psycopg.Connection[Any], frame: pd.DataFrame) -> None:
    """The rows of ``frame``'s snapshot replaced by ``frame`` (one transaction)."""
    (day,) = set(frame["snapshot_date"])
    with conn.transaction():
        conn.execute("DELETE FROM marts.ml_churn_features WHERE snapshot_date = %s", (day,))
        _copy(conn, frame)


def _copy(conn: psycopg.Connection[Any], frame: pd.DataFrame) -> None:
    text = io.StringIO()
    frame.to_csv(text, index=False, header=False)
    names = ", ".join(frame.columns)
    with conn.cursor().copy(f"COPY marts.ml_churn_features ({names}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(text.getvalue())


def base_frames() -> list[pd.DataFrame]:
    """The eight snapshots of the process, newest unshifted."""
    return [snapshot_frame(day, seed) for seed, day in enumerate(SNAPSHOTS, start=1)]


@dataclass(frozen=True)
class Champion:
    """What :func:`register_champion` logged."""

    version: int
    run_id: str
    holdout_roc_auc: float


def tracking_store(folder: Path) -> str:
    """A local MLflow tracking and registry store (SQLite) under ``folder``; returns its URI."""
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def register_champion(
    uri: str,
    folder: Path,
    model: ModelConfig,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    tags: dict[str, str] | None = None,
    reference: pd.DataFrame | None = None,
) -> Champion:
    """Fit a small pipeline, log it as training does (tags, ``roc_auc`` on the holdout), register it as champion.

    With ``reference``, those rows are logged as the run's reference artifact, as training logs its holdout.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from scrollintel.ml import tracking

    columns = list(model.features)
    pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=500))
    pipeline.fit(train[columns].astype("float64"), train[model.label])
    auc = float(roc_auc_score(holdout[model.label], pipeline.predict_proba(holdout[columns].astype("float64"))[:, 1]))
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    name = f"{model.name}-monitoring-tests"
    experiment = mlflow.get_experiment_by_name(name)
    experiment_id = (
        experiment.experiment_id
        if experiment
        else mlflow.create_experiment(name, artifact_location=(folder / "artifacts").as_uri())
    )
    days = sorted(set(train[model.snapshot_column]))
    run_tags = {
        tracking.TAG_DATASET: model.features_table,
        tracking.TAG_TRAIN_SNAPSHOTS: ",".join(day.isoformat() for day in days),
        tracking.TAG_HOLDOUT_SNAPSHOT: HOLDOUT.isoformat(),
        **(tags or {}),
    }
    with mlflow.start_run(experiment_id=experiment_id, tags=run_tags) as run:
        mlflow.log_metric("roc_auc", auc)
        if reference is not None:
            folder_name, file_name = tracking.REFERENCE_ARTIFACT.rsplit("/", 1)
            path = folder / file_name
            reference.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=folder_name)
            mlflow.set_tag(tracking.TAG_REFERENCE, tracking.REFERENCE_ARTIFACT)
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            registered_model_name=tracking.registered_model_name(model.name),
            input_example=train[columns].astype("float64").head(3),
            # what training logs too: skops refuses numpy's dtype objects in the pipeline unless trusted
            skops_trusted_types=["numpy.dtype"],
            pip_requirements=["scikit-learn"],  # not inferred from the environment (slow, and not tested here)
        )
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = int(info.registered_model_version)
    client.set_registered_model_alias(tracking.registered_model_name(model.name), tracking.CHAMPION, str(version))
    return Champion(version=version, run_id=run.info.run_id, holdout_roc_auc=auc)
