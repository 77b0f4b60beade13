"""Training a model from its feature table: time-based split, bounded search, calibration, metrics.

One function does the whole job for a DAG task, :func:`train_and_register`: read the feature
table (COPY into Arrow), split it by time, search hyperparameters, calibrate, evaluate on the
holdout, log the run to MLflow with the table's lineage and register the model
(:mod:`scrollintel.ml.registry`). The pieces are public so the retraining and promotion steps,
tests and the benchmark can use them on their own: :func:`time_split`, :func:`snapshot_folds`,
:func:`fit`, :func:`evaluate`.

**Split.** The newest snapshot is the holdout; the model trains on older ones. A row's label
looks :data:`LABEL_HORIZON` ahead of its snapshot (dbt's ``churn_horizon_days``), so a training
snapshot whose label window reaches past the holdout's date is left out ("purged"): its labels
describe what happened after the holdout snapshot, which the holdout must not see. Cross-
validation inside the training snapshots follows the same rule: every fold trains on snapshots
before the ones it is scored on, with the same purge (:func:`snapshot_folds`, expanding window).

**Search.** scikit-learn's own ``RandomizedSearchCV``: ``training.search_budget`` candidates drawn
(with the seed) from :func:`search_space`, each scored by ROC AUC on :data:`CV_FOLDS` time-ordered
folds, so the budget is exactly ``search_budget x CV_FOLDS`` fits. Random rather than grid search
because a fixed number of random draws covers several continuous hyperparameters better than a
grid of the same size; not successive halving (``HalvingRandomSearchCV``), which is experimental
in scikit-learn and grows its training sets by sampling rows, which mixes periods and breaks the
time order of the folds.

**Model.** ``HistGradientBoostingClassifier`` behind a column selector: gradient boosting on
binned features, fast on two cores, handles the missing values of the table natively
(``days_since_last_order`` is NULL for subscribers who never ordered) and needs no scaling.
Early stopping on a seeded 10% validation split sizes the number of trees.

**Calibration.** The score is used as a probability (the operating threshold, the Brier score),
so the tuned pipeline is wrapped in ``CalibratedClassifierCV`` with the same time-ordered folds:
each fold's model is calibrated on the later snapshots it never saw, and the final model
averages the folds' calibrated models. Sigmoid (Platt) rather than isotonic: a monotone
two-parameter map keeps the ranking (ROC AUC) of each fold's model and does not overfit the few
positives of a small calibration fold.

**Reproducible.** Every random choice takes the seed (``training.seed``): the search's draws, the
model's validation split; the folds are fixed by the data. The same rows and seed give the same
metrics. At most :func:`worker_count` processes (2 cores), one thread each.

Nothing heavy at import: scikit-learn, pandas and numpy are imported inside the functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ScrollIntelError
from scrollintel.ml import registry
from scrollintel.ml.results import FittedModel, Split, TrainingResult
from scrollintel.transform.project import project_var

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from scrollintel.config.models import ModelConfig

__all__ = [
    "FittedModel",
    "Split",
    "TrainingError",
    "TrainingResult",
    "evaluate",
    "fit",
    "snapshot_folds",
    "time_split",
    "train_and_register",
]

log = logging.getLogger(__name__)

#: How far ahead of its snapshot a row's label looks: dbt's ``churn_horizon_days`` (its one home is
#: ``dbt/dbt_project.yml``; the mart's label is computed with it).
LABEL_HORIZON = dt.timedelta(days=int(project_var("churn_horizon_days")))
#: Time-ordered folds of the search and of the calibration.
CV_FOLDS = 3
#: Calibration method of ``CalibratedClassifierCV`` (see the module docstring).
CALIBRATION = "sigmoid"
#: Rows of the training data logged as the model's input example.
INPUT_EXAMPLE_ROWS = 5
#: Most processes the search may use (the platform runs on two cores).
MAX_WORKERS = 2


class TrainingError(ScrollIntelError):
    """The feature table cannot train a model (too few snapshots, one class); the message says why."""


# --------------------------------------------------------------------------- split


def time_split(snapshots: Sequence[dt.date], horizon: dt.timedelta = LABEL_HORIZON) -> Split:
    """Hold out the newest snapshot; train on the older ones whose label window ends by then.

    Raises:
        TrainingError: fewer than two snapshots, or none left to train on after the purge.
    """
    ordered = sorted(set(snapshots))
    if len(ordered) < 2:
        raise TrainingError(
            f"the feature table has {len(ordered)} snapshot(s); training needs at least two "
            "(older ones to train on, the newest one to evaluate on)"
        )
    holdout = ordered[-1]
    train = tuple(day for day in ordered[:-1] if day + horizon <= holdout)
    purged = tuple(day for day in ordered[:-1] if day + horizon > holdout)
    if not train:
        raise TrainingError(
            f"no snapshot older than the holdout {holdout} has a label window ({horizon.days} days) that ends "
            f"by the holdout; snapshots: {', '.join(str(day) for day in ordered)}"
        )
    return Split(train=train, holdout=holdout, purged=purged)


def snapshot_folds(
    row_snapshots: np.ndarray, n_splits: int = CV_FOLDS, horizon: dt.timedelta = LABEL_HORIZON
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over whole snapshots: (train row indices, test row indices) each.

    The snapshots are cut into ``n_splits + 1`` consecutive blocks of about equal row counts
    (the table grows over time, so later blocks hold fewer snapshots); fold k is scored on block
    k and trains on the blocks before it, less the snapshots whose label window reaches the
    first snapshot of block k. A snapshot is never split between train and test.

    Raises:
        TrainingError: too few snapshots for ``n_splits`` folds.
    """
    import numpy as np

    days, counts = np.unique(row_snapshots, return_counts=True)
    if len(days) < n_splits + 1:
        raise TrainingError(
            f"{len(days)} training snapshot(s) cannot make {n_splits} time-ordered folds (need {n_splits + 1})"
        )
    ends = np.cumsum(counts)
    middles = ends - counts / 2
    blocks = np.minimum((middles * (n_splits + 1) / ends[-1]).astype(int), n_splits)
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(1, n_splits + 1):
        test_days = days[blocks == k]
        if len(test_days) == 0:
            raise TrainingError(f"fold {k} of {n_splits} has no snapshot to score on: too few snapshots")
        first_test = _as_date(test_days[0])
        train_days = [day for day in days[blocks < k] if _as_date(day) + horizon <= first_test]
        if not train_days:
            raise TrainingError(
                f"fold {k} of {n_splits} (scored from {first_test}) has no earlier snapshot whose "
                f"{horizon.days}-day label window ends by then"
            )
        train_idx = np.flatnonzero(np.isin(row_snapshots, train_days))
        test_idx = np.flatnonzero(np.isin(row_snapshots, test_days))
        folds.append((train_idx, test_idx))
    return folds


def _as_date(value: Any) -> dt.date:
    """A numpy datetime64 / pandas Timestamp / date as a ``datetime.date``."""
    import pandas as pd

    return pd.Timestamp(value).date()


# --------------------------------------------------------------------------- model


def worker_count() -> int:
    """Processes the search may use: the cores there are, at most :data:`MAX_WORKERS`."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def build_pipeline(features: Sequence[str], seed: int) -> Pipeline:
    """Column selection (by name, in the configured order) then gradient boosting."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    select = ColumnTransformer(
        [("features", "passthrough", list(features))], remainder="drop", verbose_feature_names_out=False
    )
    model = HistGradientBoostingClassifier(
        max_iter=400, early_stopping=True, validation_fraction=0.1, n_iter_no_change=15, random_state=seed
    )
    return Pipeline([("select", select), ("model", model)])


def search_space() -> dict[str, Any]:
    """The distributions the search draws candidates from (parameters of the pipeline's model)."""
    from scipy.stats import loguniform, randint, uniform

    return {
        "model__learning_rate": loguniform(0.02, 0.3),
        "model__max_leaf_nodes": randint(7, 64),
        "model__min_samples_leaf": randint(10, 200),
        "model__l2_regularization": loguniform(1e-3, 10.0),
        "model__max_features": uniform(0.5, 0.5),
    }


def feature_frame(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The model's input: the feature columns as float64 (NULL -> NaN).

    Float64 for every feature, whatever the warehouse type: a count column without NULLs in one
    batch and with NULLs in the next would otherwise change dtype, and the logged signature
    (all ``double``) would refuse the second batch.
    """
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise TrainingError(f"the feature table has no column(s) {', '.join(missing)}")
    return frame[list(features)].astype("float64")


def content_digest(frame: pd.DataFrame) -> str:
    """A version of the rows read: 32 hex digits over column names, dtypes and values (row order counts).

    Short enough for MLflow's dataset digest (36 characters at most); equal for equal data.
    """
    import pandas as pd

    digest = hashlib.blake2b(digest_size=16)
    digest.update("\0".join(f"{name}:{dtype}" for name, dtype in frame.dtypes.items()).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- metrics


def evaluate(y_true: Any, proba: Any, threshold: float) -> dict[str, float]:
    """Holdout metrics of churn probabilities ``proba`` against labels ``y_true``.

    ``roc_auc``, ``pr_auc`` (average precision), ``brier``, ``log_loss``, and at ``threshold``
    (a subscriber is flagged when its probability is at least the threshold):
    ``recall_at_threshold``, ``precision_at_threshold`` (0 when nobody is flagged) and
    ``flagged_share``; ``positive_rate`` is the share of positive labels.

    Raises:
        TrainingError: the labels hold one class only (ROC AUC is undefined).
    """
    import numpy as np
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    labels = np.asarray(y_true).astype(int)
    scores = np.asarray(proba, dtype=float)
    if len(np.unique(labels)) < 2:
        raise TrainingError(f"the evaluation rows hold one class only ({len(labels)} rows): metrics are undefined")
    flagged = (scores >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "brier": float(brier_score_loss(labels, scores)),
        "log_loss": float(log_loss(labels, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "recall_at_threshold": float(recall_score(labels, flagged, zero_division=0)),
        "precision_at_threshold": float(precision_score(labels, flagged, zero_division=0)),
        "flagged_share": float(flagged.mean()),
        "positive_rate": float(labels.mean()),
    }


# --------------------------------------------------------------------------- fit


def _check_folds(labels: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    import numpy as np

    for k, (train_idx, test_idx) in enumerate(folds, start=1):
        for part, idx in (("training", train_idx), ("scoring", test_idx)):
            if len(np.unique(labels[idx])) < 2:
                raise TrainingError(
                    f"fold {k} of {len(folds)}: its {part} snapshots hold one class only "
                    f"({len(idx)} rows); the feature table needs churned and retained subscribers in every period"
                )


def fit(frame: pd.DataFrame, model: ModelConfig, *, n_jobs: int | None = None) -> FittedModel:
    """Split, search, calibrate and evaluate on ``frame`` (the feature table, ordered by snapshot and key).

    ``frame`` holds at least the model's snapshot column, features and label. No MLflow here.

    Raises:
        TrainingError: the data cannot train a model (see :func:`time_split`, :func:`snapshot_folds`).
    """
    import pandas as pd
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import RandomizedSearchCV
    from threadpoolctl import threadpool_limits

    policy = model.training
    snapshot = model.snapshot_column
    if frame.empty:
        raise TrainingError(f"the feature table {model.features_table} is empty")
    days = pd.to_datetime(frame[snapshot]).dt.date
    split = time_split(list(days.unique()))
    train_mask = days.isin(split.train).to_numpy()
    holdout_mask = (days == split.holdout).to_numpy()
    train, holdout = frame.loc[train_mask], frame.loc[holdout_mask]
    x_train, y_train = feature_frame(train, model.features), train[model.label].astype(int).to_numpy()
    x_holdout, y_holdout = feature_frame(holdout, model.features), holdout[model.label].astype(int).to_numpy()
    folds = snapshot_folds(pd.to_datetime(train[snapshot]).to_numpy())
    _check_folds(y_train, folds)

    jobs = n_jobs or worker_count()
    pipeline = build_pipeline(model.features, policy.seed)
    search = RandomizedSearchCV(
        pipeline,
        search_space(),
        n_iter=policy.search_budget,
        scoring="roc_auc",
        cv=folds,
        refit=False,  # the winner is refitted inside the calibration below
        random_state=policy.seed,
        n_jobs=jobs,
        error_score="raise",
    )
    # Processes for the candidates and one OpenMP thread per fit: gradient boosting's threads
    # spin while they wait, and on two cores shared with Airflow and PostgreSQL two threads per
    # fit were several times slower than one. One thread also fixes the order of every sum.
    seconds: dict[str, float] = {}
    with threadpool_limits(limits=1):
        started = time.perf_counter()
        search.fit(x_train, y_train)
        seconds["search"] = time.perf_counter() - started
        best = clone(pipeline).set_params(**search.best_params_)
        calibrated = CalibratedClassifierCV(best, method=CALIBRATION, cv=folds, ensemble=True, n_jobs=jobs)
        started = time.perf_counter()
        calibrated.fit(x_train, y_train)
        seconds["calibration"] = time.perf_counter() - started
    started = time.perf_counter()
    proba = calibrated.predict_proba(x_holdout)[:, 1]
    metrics = evaluate(y_holdout, proba, policy.operating_threshold)
    seconds["evaluation"] = time.perf_counter() - started
    metrics["cv_roc_auc"] = float(search.best_score_)
    results = _search_results(search.cv_results_)
    params: dict[str, Any] = {
        **{key.removeprefix("model__"): _plain(value) for key, value in search.best_params_.items()},
        "seed": policy.seed,
        "search_budget": policy.search_budget,
        "search": "RandomizedSearchCV",
        "cv_folds": len(folds),
        "calibration": CALIBRATION,
        "operating_threshold": policy.operating_threshold,
        "label_horizon_days": LABEL_HORIZON.days,
    }
    return FittedModel(
        estimator=calibrated,
        features=list(model.features),
        split=split,
        metrics=metrics,
        params=params,
        search_results=results,
        input_example=x_train.head(INPUT_EXAMPLE_ROWS).reset_index(drop=True),
        train_rows=len(x_train),
        holdout_rows=len(x_holdout),
        dataset_version=content_digest(frame),
        seconds=seconds,
    )


def _plain(value: Any) -> Any:
    """numpy scalars -> Python (for MLflow params and JSON)."""
    return value.item() if hasattr(value, "item") else value


def _search_results(cv_results: dict[str, Any]) -> list[dict[str, Any]]:
    """One JSON-ready row per candidate: its parameters, mean and spread of ROC AUC, rank."""
    rows = []
    for i, params in enumerate(cv_results["params"]):
        rows.append(
            {
                "rank": int(cv_results["rank_test_score"][i]),
                "mean_roc_auc": float(cv_results["mean_test_score"][i]),
                "std_roc_auc": float(cv_results["std_test_score"][i]),
                "mean_fit_seconds": float(cv_results["mean_fit_time"][i]),
                "params": {key.removeprefix("model__"): _plain(value) for key, value in params.items()},
            }
        )
    return sorted(rows, key=lambda row: row["rank"])


# --------------------------------------------------------------------------- the whole job


def read_training_frame(url: str, model: ModelConfig) -> pd.DataFrame:
    """The feature table's key, snapshot, features and label (no other column), oldest snapshot first.

    Raises:
        TrainingError: the table does not exist yet (a task fails once, saying what builds it; no retry).
    """
    from scrollintel.ml.features import FeatureTableMissing, read_frame

    columns = [*model.entity_key, model.snapshot_column, *model.features, model.label]
    try:
        return read_frame(url, model, columns=columns)
    except FeatureTableMissing as err:
        raise TrainingError(str(err)) from err


def train_and_register(
    model: ModelConfig,
    warehouse_url: str,
    *,
    tracking_uri: str | None = None,
    lineage_run_id: str | None = None,
    airflow_run: str | None = None,
    n_jobs: int | None = None,
) -> TrainingResult:
    """Train ``model`` on its feature table, log the run to MLflow and register the version.

    The first version of a model becomes ``champion``; later ones ``challenger`` (the promotion
    gate moves ``champion``). ``lineage_run_id`` is the OpenLineage run id of the Airflow task;
    ``airflow_run`` (``<dag_id>/<run_id>``) makes a retry of the same Airflow run reuse the
    version its earlier try registered instead of registering another.

    Raises:
        TrainingError: the data cannot train a model.
    """
    client = registry.client(tracking_uri)
    if airflow_run:
        earlier = registry.find_registered_run(client, model.name, airflow_run)
        if earlier is not None:
            log.info("run %s already registered %s version %s: reused", airflow_run, model.name, earlier.version)
            return earlier
    frame = read_training_frame(warehouse_url, model)
    log.info("read %d rows of %s", len(frame), model.features_table)
    fitted = fit(frame, model, n_jobs=n_jobs)
    log.info(
        "trained %s on %d rows (%d snapshots), holdout %s: ROC AUC %.4f",
        model.name,
        fitted.train_rows,
        len(fitted.split.train),
        fitted.split.holdout,
        fitted.metrics["roc_auc"],
    )
    logged = registry.log_training_run(
        client, model, fitted, training_frame=frame, lineage_run_id=lineage_run_id, airflow_run=airflow_run
    )
    registration = registry.register_version(client, model, logged)
    return TrainingResult(
        run_id=logged.run_id,
        model_uri=logged.model_uri,
        registered_model=registration.name,
        version=registration.version,
        alias=registration.alias,
        metrics=fitted.metrics,
        dataset_version=fitted.dataset_version,
        train_snapshots=tuple(str(day) for day in fitted.split.train),
        holdout_snapshot=str(fitted.split.holdout),
    )


# --------------------------------------------------------------------------- in an Airflow task


def training_reason(champion: str | None, run_type: str) -> str | None:
    """Why a run of a training DAG trains, or None when it should skip.

    With no champion every run trains (the bootstrap: its version becomes champion). With one, a
    manual run trains a challenger; a run started by a new feature table does not, because
    retraining is the monitoring DAG's call (drift or decay), not every data refresh's.
    """
    if champion is None:
        return "no version is champion yet: training the first one (it becomes champion)"
    if run_type == "manual":
        return f"triggered by hand: training a challenger to champion version {champion}"
    return None


def task_lineage_run_id(ti: Any) -> str | None:
    """The OpenLineage run id of an Airflow task instance (what its lineage events carry), or None.

    An observer: when the OpenLineage provider is missing or cannot build the id, the run is
    logged without it.
    """
    try:
        from airflow.providers.openlineage.plugins.macros import lineage_run_id
    except ImportError:
        return None
    try:
        return str(lineage_run_id(ti))
    except Exception as err:  # an observer never fails the task
        log.warning("no OpenLineage run id for %s.%s: %s", ti.dag_id, ti.task_id, err)
        return None


def report_feature_input(model: ModelConfig) -> None:
    """Tell Airflow's OpenLineage provider that the running task read the model's feature table.

    A TaskFlow task has no lineage of its own; the provider adds what a task reports to its hook
    lineage collector to the task's events. The table is reported as the postgres provider names
    it (``postgres://warehouse:5432/warehouse/<schema>/<table>``), so the event's input is the
    dataset ``postgres://warehouse:5432`` / ``warehouse.<schema>.<table>``: the one the MLflow run
    names as its input (:mod:`scrollintel.ml.datasets`). An observer: never fails the task.
    """
    from scrollintel.warehouse import WAREHOUSE_CONN_ID, WAREHOUSE_DATABASE, WAREHOUSE_HOST, WAREHOUSE_PORT

    try:
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
        from airflow.providers.postgres.hooks.postgres import PostgresHook
    except ImportError:
        return
    schema, table = model.features_table.split(".", 1)
    uri = f"postgres://{WAREHOUSE_HOST}:{WAREHOUSE_PORT}/{WAREHOUSE_DATABASE}/{schema}/{table}"
    try:
        get_hook_lineage_collector().add_input_asset(context=PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID), uri=uri)
    except Exception as err:  # an observer never fails the task
        log.warning("could not report %s as the task's lineage input: %s", model.features_table, err)


def record_registration(model: ModelConfig, result: TrainingResult) -> None:
    """Put the registration in the audit ledger (``model.registered``; once per version).

    A version that becomes champion without an approval (the first one) is a governance
    decision; every later version is recorded too, so the ledger lists every model the registry
    has held.
    """
    from scrollintel import audit

    audit.record(
        "model.registered",
        f"model:{result.registered_model}/{result.version}",
        {
            "model": model.name,
            "version": result.version,
            "alias": result.alias,
            "run_id": result.run_id,
            "dataset": model.features_table,
            "dataset_version": result.dataset_version,
            "holdout_snapshot": result.holdout_snapshot,
            "roc_auc": round(result.metrics["roc_auc"], 6) if "roc_auc" in result.metrics else None,
        },
        key=f"model.registered:{result.registered_model}:{result.version}",
    )
