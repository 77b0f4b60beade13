"""Drift and decay monitoring of a model's champion, with Evidently; results in the governance schema.

One monitoring run compares the champion's **reference data** with the **newest snapshot** of the
feature table, and scores the rows **labelled since the champion was trained** (snapshots after
its holdout snapshot) with the champion. The reference is the holdout snapshot's rows as training
read them, logged with the champion's run (:data:`~scrollintel.ml.tracking.TAG_REFERENCE`): the
most recent data the model knew, kept as it was, so a later rewrite of that snapshot is seen, and
features that grow with time (tenure, running totals) are compared one snapshot apart rather than
against years of older snapshots (which would call them drifted on every run). A champion logged
before that artifact existed is compared with its training snapshots read from the table
(:data:`~scrollintel.ml.tracking.TAG_TRAIN_SNAPSHOTS`).

- **Drift** (Evidently ``DataDriftPreset``): every feature is tested with the normed Wasserstein
  distance (the distance between the two distributions in units of the reference's standard
  deviation); the feature drifts when the distance is at least ``monitoring.feature_threshold``
  (Evidently's per-column test fails). The normed Wasserstein distance is what Evidently itself
  picks for numerical columns of more than 1,000 rows, with 0.1 as its default threshold; it is
  fixed here for every size so that the threshold keeps one meaning (a p-value test would call
  any shift of a million rows significant, and a distance test of a few hundred rows is noisy
  but still a distance). The dataset drifts when the share of drifted features is at least
  ``monitoring.drift_share`` (Evidently's rule, ``DriftedColumnsCount`` test).
- **Decay** (Evidently ``RocAuc``): ROC AUC of the champion on the newly labelled rows against the
  champion's ROC AUC on its holdout (run metric ``roc_auc``); decay when it is more than
  ``monitoring.max_auc_drop`` below (the metric's test ``gte(champion - max_auc_drop)`` fails).
  Not measured when no snapshot after the holdout exists, or its labels hold one class only.

The verdict (``ok``, ``drift``, ``decay``, ``drift_and_decay``) comes with a reason a person
reads; ``drift`` or ``decay`` asks for retraining (the monitoring DAG emits an Asset event and
writes a ledger entry). The Evidently report (both parts, one HTML page) is written to the object
store: ``<object store>/models/<model>/monitoring/<run id>.html``; the results to
``governance.model_monitoring_runs`` and ``governance.model_feature_drift`` (migration 0011).

A monitoring run's id is derived from the model and the Airflow DAG run, so a retried or cleared
task replaces its own rows and report, and the Asset event of a retry names the same run.

pandas, Evidently and MLflow are imported inside the functions that use them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scrollintel import settings
from scrollintel.exceptions import ScrollIntelError
from scrollintel.ml import features, tracking
from scrollintel.warehouse import GOVERNANCE_SCHEMA, connect

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient

    from scrollintel.config.models import ModelConfig

log = logging.getLogger(__name__)

RUNS_TABLE = f"{GOVERNANCE_SCHEMA}.model_monitoring_runs"
FEATURES_TABLE = f"{GOVERNANCE_SCHEMA}.model_feature_drift"
#: Evidently's drift method for every feature (see the module docstring).
DRIFT_METHOD = "wasserstein"
#: The champion's run metric the decay check compares with (logged by training on the holdout).
HOLDOUT_METRIC = "roc_auc"
#: Ledger action of a retraining request.
RETRAIN_ACTION = tracking.RETRAIN_REQUESTED
#: Column of the champion's score in the decay check (and its report).
SCORE_COLUMN = "prediction"
_RUN_ID_NAMESPACE = uuid.UUID("7d3c8a52-64a4-4f0e-9d8e-1b8d7f2c5a90")

Verdict = Literal["ok", "drift", "decay", "drift_and_decay"]
#: Scores the given rows (the model's feature columns) with the champion: probability of label 1.
Scorer = Callable[["pd.DataFrame"], "np.ndarray"]


class MonitoringError(ScrollIntelError):
    """Monitoring cannot run: the champion's run lacks its reference data, or the feature table does."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ChampionReference:
    """The champion version of a model and what monitoring compares with (from its MLflow run)."""

    model: str
    version: int
    run_id: str
    reference_snapshots: tuple[dt.date, ...]
    holdout_snapshot: dt.date | None
    holdout_roc_auc: float | None
    #: The run artifact with the holdout rows as training read them (None: an older run without it).
    reference_artifact: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (an XCom)."""
        return {
            "model": self.model,
            "version": self.version,
            "run_id": self.run_id,
            "reference_snapshots": [day.isoformat() for day in self.reference_snapshots],
            "holdout_snapshot": self.holdout_snapshot.isoformat() if self.holdout_snapshot else None,
            "holdout_roc_auc": self.holdout_roc_auc,
            "reference_artifact": self.reference_artifact,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChampionReference:
        """The inverse of :meth:`as_dict`."""
        holdout = data.get("holdout_snapshot")
        return cls(
            model=str(data["model"]),
            version=int(data["version"]),
            run_id=str(data["run_id"]),
            reference_snapshots=tuple(dt.date.fromisoformat(day) for day in data["reference_snapshots"]),
            holdout_snapshot=dt.date.fromisoformat(holdout) if holdout else None,
            holdout_roc_auc=None if data.get("holdout_roc_auc") is None else float(data["holdout_roc_auc"]),
            reference_artifact=data.get("reference_artifact") or None,
        )


@dataclass(frozen=True)
class FeatureDrift:
    """Evidently's drift test of one feature."""

    feature: str
    method: str
    statistic: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    """Drift of every feature between the reference data and the newest snapshot."""

    features: tuple[FeatureDrift, ...]
    share: float
    drift_share: float
    dataset_drifted: bool
    reference_rows: int
    current_rows: int

    @property
    def drifted(self) -> list[FeatureDrift]:
        """The drifted features, largest statistic first."""
        return sorted((item for item in self.features if item.drifted), key=lambda item: -item.statistic)

    def describe(self) -> str:
        """``7 of 13 features drifted (54% ≥ 30%): revenue_90d, ...``."""
        drifted = self.drifted
        sign = "≥" if self.dataset_drifted else "<"
        share, limit = _percentages(self.share, self.drift_share)
        text = f"{len(drifted)} of {len(self.features)} features drifted ({share} {sign} {limit})"
        return text + (": " + ", ".join(item.feature for item in drifted) if drifted else "")


@dataclass(frozen=True)
class DecayResult:
    """The champion's ROC AUC on rows labelled since it was trained, against its holdout ROC AUC."""

    labelled_snapshots: tuple[dt.date, ...]
    rows: int
    roc_auc: float | None
    champion_roc_auc: float | None
    max_auc_drop: float
    decayed: bool
    #: Why it was not measured (None when it was).
    not_measured: str | None = None

    @property
    def drop(self) -> float | None:
        """How far below the champion's holdout ROC AUC (negative: above)."""
        if self.roc_auc is None or self.champion_roc_auc is None:
            return None
        return self.champion_roc_auc - self.roc_auc

    def describe(self) -> str:
        """``ROC AUC on 1,204 newly labelled rows 0.71, 0.08 below the champion's 0.79 (limit 0.05)``."""
        drop = self.drop
        if self.not_measured or drop is None or self.roc_auc is None:
            return f"decay not measured: {self.not_measured or 'no ROC AUC'}"
        direction = f"{drop:.2f} below" if drop >= 0 else f"{-drop:.2f} above"
        return (
            f"ROC AUC on {self.rows:,} newly labelled rows {self.roc_auc:.2f}, {direction} the champion's "
            f"{self.champion_roc_auc:.2f} (limit {self.max_auc_drop:.2f})"
        )


@dataclass(frozen=True)
class RunContext:
    """Where a monitoring run ran: the Airflow DAG run (None outside Airflow) and its lineage run."""

    dag_id: str | None = None
    dag_run_id: str | None = None
    task_id: str | None = None
    lineage_run_id: str | None = None

    def derived_id(self, namespace: uuid.UUID, model: str) -> str:
        """The same id for every try of one DAG run (a retry replaces its rows); random outside Airflow."""
        if self.dag_id and self.dag_run_id:
            return str(uuid.uuid5(namespace, f"{model}\x00{self.dag_id}\x00{self.dag_run_id}"))
        return str(uuid.uuid4())

    def monitoring_run_id(self, model: str) -> str:
        """The monitoring run's id (:meth:`derived_id`)."""
        return self.derived_id(_RUN_ID_NAMESPACE, model)


@dataclass(frozen=True)
class MonitoringResult:
    """One monitoring run of a model's champion."""

    run_id: str
    model: str
    champion: ChampionReference
    current_snapshot: dt.date
    drift: DriftResult
    decay: DecayResult
    context: RunContext = field(default_factory=RunContext)
    report_uri: str | None = None

    @property
    def verdict(self) -> Verdict:
        """``drift`` / ``decay`` / ``drift_and_decay`` ask for retraining; ``ok`` does not."""
        drift, decay = self.drift.dataset_drifted, self.decay.decayed
        if drift and decay:
            return "drift_and_decay"
        return "drift" if drift else "decay" if decay else "ok"

    @property
    def retrain(self) -> bool:
        """True when drift or decay passed its threshold."""
        return self.verdict != "ok"

    @property
    def reason(self) -> str:
        """What passed which threshold first, then the other check, in words."""
        parts = [(self.drift.dataset_drifted, self.drift.describe()), (self.decay.decayed, self.decay.describe())]
        parts.sort(key=lambda part: not part[0])
        text = "; ".join(description for _, description in parts)
        return text if self.retrain else f"no drift or decay past its threshold: {text}"

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (the task's XCom, the ledger entry, the Asset event)."""
        return {
            "monitoring_run_id": self.run_id,
            "model": self.model,
            "champion_version": self.champion.version,
            "champion_run_id": self.champion.run_id,
            "reference_snapshots": [day.isoformat() for day in self.champion.reference_snapshots],
            "current_snapshot": self.current_snapshot.isoformat(),
            "verdict": self.verdict,
            "retrain": self.retrain,
            "reason": self.reason,
            "drift_share": round(self.drift.share, 4),
            "drifted_features": [item.feature for item in self.drift.drifted],
            "roc_auc": self.decay.roc_auc,
            "champion_roc_auc": self.decay.champion_roc_auc,
            "report_uri": self.report_uri,
            "dag_id": self.context.dag_id,
            "dag_run_id": self.context.dag_run_id,
            "lineage_run_id": self.context.lineage_run_id,
        }


def _percentages(share: float, limit: float) -> tuple[str, str]:
    """Both as whole percentages, with a decimal where rounding would hide which is larger."""
    for digits in (0, 1, 2):
        text, bound = f"{share:.{digits}%}", f"{limit:.{digits}%}"
        if (text == bound) == (share == limit):
            return text, bound
    return f"{share:.4%}", f"{limit:.4%}"


# --------------------------------------------------------------------------- the champion


def champion_reference(client: MlflowClient, model: ModelConfig) -> ChampionReference | None:
    """The version the ``champion`` alias points at, with its reference data; None without a champion.

    Reads the version's run: the training snapshots (:data:`~scrollintel.ml.tracking.TAG_TRAIN_SNAPSHOTS`),
    the holdout snapshot (:data:`~scrollintel.ml.tracking.TAG_HOLDOUT_SNAPSHOT`) and the holdout ROC AUC
    (run metric ``roc_auc``).

    Raises:
        MonitoringError: the champion's run has no training snapshots tag, or a bad date in one.
    """
    from mlflow.exceptions import MlflowException

    name = tracking.registered_model_name(model.name)
    try:
        registered = client.get_registered_model(name)
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = (registered.aliases or {}).get(tracking.CHAMPION)
    if version is None:
        return None
    found = client.get_model_version(name, str(version))
    if not found.run_id:
        raise MonitoringError(f"model {name} version {version} ({tracking.CHAMPION}) was registered without a run")
    run = client.get_run(found.run_id)
    tags = run.data.tags
    where = f"the run {found.run_id} of model {name} version {version} ({tracking.CHAMPION})"
    raw = tags.get(tracking.TAG_TRAIN_SNAPSHOTS, "")
    reference = _dates(raw, tracking.TAG_TRAIN_SNAPSHOTS, where)
    if not reference:
        raise MonitoringError(
            f"{where} has no tag {tracking.TAG_TRAIN_SNAPSHOTS} (the snapshots it was trained on): "
            "drift monitoring has no reference data"
        )
    holdout = _dates(tags.get(tracking.TAG_HOLDOUT_SNAPSHOT, ""), tracking.TAG_HOLDOUT_SNAPSHOT, where)
    auc = run.data.metrics.get(HOLDOUT_METRIC)
    return ChampionReference(
        model=model.name,
        version=int(found.version),
        run_id=found.run_id,
        reference_snapshots=tuple(sorted(reference)),
        holdout_snapshot=holdout[0] if holdout else None,
        holdout_roc_auc=None if auc is None else float(auc),
        reference_artifact=tags.get(tracking.TAG_REFERENCE) or None,
    )


def _dates(value: str, tag: str, where: str) -> list[dt.date]:
    try:
        return [dt.date.fromisoformat(part.strip()) for part in value.split(",") if part.strip()]
    except ValueError as err:
        raise MonitoringError(
            f"{where}: tag {tag} must be YYYY-MM-DD dates separated by commas, not {value!r}"
        ) from err


def mlflow_client() -> MlflowClient:
    """A client of the platform's tracking server and registry (:func:`scrollintel.ml.tracking.tracking_uri`)."""
    import mlflow
    from mlflow import MlflowClient

    uri = tracking.tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion_reference_rows(champion: ChampionReference) -> pd.DataFrame:
    """The holdout rows logged with the champion's run (its reference artifact), from MLflow.

    Raises:
        MonitoringError: the run has no reference artifact, or it cannot be read.
    """
    import pandas as pd
    from mlflow.exceptions import MlflowException

    if not champion.reference_artifact:
        raise MonitoringError(f"the champion's run {champion.run_id} logged no reference data")
    with tempfile.TemporaryDirectory(prefix="scrollintel-reference-") as tmp:
        try:
            path = mlflow_client().download_artifacts(champion.run_id, champion.reference_artifact, tmp)
        except (MlflowException, OSError) as err:
            raise MonitoringError(
                f"cannot read {champion.reference_artifact} of the champion's run {champion.run_id}: {err}"
            ) from err
        return pd.read_parquet(path)


def champion_scorer(model: ModelConfig, champion: ChampionReference) -> Scorer:
    """Scores rows with the champion version, loaded from the registry.

    The one place that loads a model here: the training helper's loader can replace it. The
    version is pinned (``models:/<name>/<version>``), so an alias that moves meanwhile does not mix two
    versions in one run. MLflow stores the skops trusted types the model was logged with, and uses them.
    """
    import mlflow.sklearn

    mlflow_client()  # the platform's registry, also for models:/ URIs
    loaded = mlflow.sklearn.load_model(f"models:/{tracking.registered_model_name(model.name)}/{champion.version}")
    columns = list(model.features)

    def score(frame: pd.DataFrame) -> np.ndarray:
        return loaded.predict_proba(frame[columns])[:, 1]

    return score


# --------------------------------------------------------------------------- checks


def detect_drift(reference: pd.DataFrame, current: pd.DataFrame, model: ModelConfig) -> tuple[DriftResult, Any]:
    """Evidently's drift report of the model's features; returns the result and Evidently's snapshot."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = list(model.features)
    definition = DataDefinition(numerical_columns=columns, categorical_columns=[])
    policy = model.monitoring
    report = Report(
        [
            DataDriftPreset(
                columns=columns,
                method=DRIFT_METHOD,
                threshold=policy.feature_threshold,
                drift_share=policy.drift_share,
            )
        ],
        include_tests=True,
    )
    snapshot = report.run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    return _drift_result(snapshot.dict(), columns, policy.drift_share, len(reference), len(current)), snapshot


def _drift_result(
    report: Mapping[str, Any], columns: Sequence[str], drift_share: float, reference_rows: int, current_rows: int
) -> DriftResult:
    """Per-column and dataset results out of Evidently's snapshot (``Snapshot.dict()``)."""
    status = {test["metric_config"]["metric_id"]: test["status"] for test in report["tests"]}
    per_column: dict[str, FeatureDrift] = {}
    share: float | None = None
    dataset_drifted: bool | None = None
    for metric in report["metrics"]:
        config = metric["config"]
        kind = str(config.get("type", "")).rsplit(":", 1)[-1]
        if kind == "ValueDrift":
            column = config["column"]
            per_column[column] = FeatureDrift(
                feature=column,
                method=str(config["method"]),
                statistic=float(metric["value"]),
                threshold=float(config["threshold"]),
                drifted=status.get(metric["id"]) == "FAIL",
            )
        elif kind == "DriftedColumnsCount":
            share = float(metric["value"]["share"])
            dataset_drifted = status.get(metric["id"]) == "FAIL"
    missing = [column for column in columns if column not in per_column]
    if missing or share is None or dataset_drifted is None:
        raise MonitoringError(f"Evidently's drift report has no result for {', '.join(missing) or 'the dataset'}")
    return DriftResult(
        features=tuple(per_column[column] for column in columns),
        share=share,
        drift_share=drift_share,
        dataset_drifted=dataset_drifted,
        reference_rows=reference_rows,
        current_rows=current_rows,
    )


def measure_decay(
    labelled: pd.DataFrame,
    model: ModelConfig,
    champion: ChampionReference,
    scorer: Scorer | None,
    snapshots: Sequence[dt.date],
) -> tuple[DecayResult, Any | None]:
    """The champion's ROC AUC on ``labelled`` (Evidently ``RocAuc``) against its holdout ROC AUC.

    ``scorer`` defaults to :func:`champion_scorer`, loaded only when there is something to score.
    Returns the result and Evidently's snapshot (None when decay could not be measured).
    """
    limit = model.monitoring.max_auc_drop
    rows = labelled[labelled[model.label].notna()]

    def unmeasured(why: str) -> tuple[DecayResult, None]:
        result = DecayResult(tuple(snapshots), len(rows), None, champion.holdout_roc_auc, limit, False, why)
        return result, None

    if champion.holdout_snapshot is None:
        return unmeasured(f"the champion's run has no tag {tracking.TAG_HOLDOUT_SNAPSHOT}")
    if champion.holdout_roc_auc is None:
        return unmeasured(f"the champion's run has no metric {HOLDOUT_METRIC} (its holdout ROC AUC)")
    if rows.empty:
        return unmeasured(f"no row labelled after the champion's holdout snapshot {champion.holdout_snapshot}")
    if rows[model.label].nunique() < 2:
        return unmeasured(f"the {len(rows):,} rows labelled after the holdout all have one label")

    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.metrics import RocAuc
    from evidently.tests import gte

    score = scorer or champion_scorer(model, champion)
    frame = rows[[model.label]].astype("int64").assign(**{SCORE_COLUMN: score(rows)})
    definition = DataDefinition(
        classification=[BinaryClassification(target=model.label, prediction_probas=SCORE_COLUMN, pos_label=1)],
        numerical_columns=[SCORE_COLUMN],
        categorical_columns=[model.label],
    )
    floor = champion.holdout_roc_auc - limit
    snapshot = Report([RocAuc(tests=[gte(floor)])], include_tests=True).run(
        Dataset.from_pandas(frame, data_definition=definition), None
    )
    report = snapshot.dict()
    (metric,) = report["metrics"]
    failed = any(test["status"] == "FAIL" for test in report["tests"])
    result = DecayResult(
        labelled_snapshots=tuple(snapshots),
        rows=len(rows),
        roc_auc=float(metric["value"]),
        champion_roc_auc=champion.holdout_roc_auc,
        max_auc_drop=limit,
        decayed=failed,
    )
    return result, snapshot


# --------------------------------------------------------------------------- one run


def monitor(
    url: str,
    model: ModelConfig,
    champion: ChampionReference,
    *,
    context: RunContext | None = None,
    scorer: Scorer | None = None,
    reference_rows: Callable[[ChampionReference], pd.DataFrame] = champion_reference_rows,
    folder: Path | None = None,
) -> MonitoringResult:
    """Run both checks on the warehouse at ``url`` and write the HTML report; nothing is stored yet.

    ``scorer`` defaults to :func:`champion_scorer` (loaded only when there are labelled rows to score);
    ``reference_rows`` reads the champion's reference artifact (when its run has one); the report goes
    to ``folder``, by default :func:`reports_dir`.

    Raises:
        MonitoringError: the feature table is empty, or holds none of the champion's training snapshots.
    """
    context = context or RunContext()
    present = features.snapshots(url, model)
    if not present:
        raise MonitoringError(f"{model.features_table} has no rows: nothing to monitor")
    newest, held = present[-1], set(present)
    holdout = champion.holdout_snapshot
    labelled_days = [day for day in present if holdout is not None and day > holdout]
    columns = [*model.entity_key, model.snapshot_column, *model.features, model.label]
    if champion.reference_artifact and holdout is not None:
        reference = reference_rows(champion)
        reference_days = [holdout]
        champion = replace(champion, reference_snapshots=(holdout,))
    else:
        reference_days = [day for day in champion.reference_snapshots if day in held]
        if not reference_days:
            raise MonitoringError(
                f"none of the champion's training snapshots ({_days(champion.reference_snapshots)}) is in "
                f"{model.features_table} any more (it holds {_days(present)}): drift monitoring has no reference data"
            )
        if len(reference_days) < len(champion.reference_snapshots):
            gone = [day for day in champion.reference_snapshots if day not in held]
            log.warning("training snapshots %s of the champion are no longer in %s", _days(gone), model.features_table)
        reference = features.read_frame(url, model, reference_days, columns)
    recent = features.read_frame(url, model, sorted({*labelled_days, newest}), columns)
    day_column = recent[model.snapshot_column]
    current = recent[day_column == newest]
    labelled = recent[day_column.isin(labelled_days)]
    log.info(
        "monitoring %s v%s: %s reference rows (%s), %s current rows (%s), %s rows after the holdout",
        model.name,
        champion.version,
        f"{len(reference):,}",
        _days(reference_days),
        f"{len(current):,}",
        newest,
        f"{len(labelled):,}",
    )
    drift, drift_snapshot = detect_drift(reference, current, model)
    decay, decay_snapshot = measure_decay(labelled, model, champion, scorer, labelled_days)
    result = MonitoringResult(
        run_id=context.monitoring_run_id(model.name),
        model=model.name,
        champion=champion,
        current_snapshot=newest,
        drift=drift,
        decay=decay,
        context=context,
    )
    path = (folder or reports_dir(model.name)) / f"{result.run_id}.html"
    write_report(path, drift_snapshot, decay_snapshot)
    return replace(result, report_uri=path.as_uri())


def _days(days: Sequence[dt.date]) -> str:
    return ", ".join(day.isoformat() for day in days) or "none"


# --------------------------------------------------------------------------- the report


def reports_dir(model: str) -> Path:
    """``<object store>/models/<model>/monitoring``: the HTML reports of a model's monitoring runs."""
    return settings.object_store_dir() / "models" / model / "monitoring"


def write_report(path: Path, drift: Any, decay: Any | None) -> None:
    """Evidently's drift report and, when measured, the decay report, as one HTML page at ``path``.

    Written to a temporary file and renamed: a retried task replaces the page whole.
    """
    from evidently.core.metric_types import render_widgets
    from evidently.legacy.renderers.html_widgets import group_widget

    # A Snapshot renders itself alone (get_html_str); both parts on one page take the widgets of
    # its public serialisation model (what Snapshot.dump_dict writes).
    title = "Data drift: the newest snapshot against the champion's training snapshots"
    drifted = drift.to_snapshot_model()
    widgets = [group_widget(title=title, widgets=drifted.widgets), *drifted.tests_widgets]
    if decay is not None:
        decayed = decay.to_snapshot_model()
        title = "Performance on rows labelled after the holdout"
        widgets += [group_widget(title=title, widgets=decayed.widgets), *decayed.tests_widgets]
    html = render_widgets(widgets, as_iframe=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- storage


def store_result(url: str, result: MonitoringResult) -> None:
    """Write the run and its per-feature rows in one transaction, replacing an earlier try of the same run."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DELETE FROM {RUNS_TABLE} WHERE id = %s", (result.run_id,))
        drift, decay, context = result.drift, result.decay, result.context
        cur.execute(
            f"INSERT INTO {RUNS_TABLE} (id, model, champion_version, champion_run_id, reference_snapshots, "
            "current_snapshot, reference_rows, current_rows, features, drifted_features, drift_share, "
            "drift_share_limit, feature_threshold, dataset_drifted, labelled_snapshots, labelled_rows, roc_auc, "
            "champion_roc_auc, max_auc_drop, decayed, verdict, reason, report_uri, dag_id, dag_run_id, task_id, "
            "lineage_run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s)",
            (
                result.run_id,
                result.model,
                result.champion.version,
                result.champion.run_id,
                list(result.champion.reference_snapshots),
                result.current_snapshot,
                drift.reference_rows,
                drift.current_rows,
                len(drift.features),
                len(drift.drifted),
                drift.share,
                drift.drift_share,
                drift.features[0].threshold if drift.features else None,
                drift.dataset_drifted,
                list(decay.labelled_snapshots),
                decay.rows,
                decay.roc_auc,
                decay.champion_roc_auc,
                decay.max_auc_drop,
                decay.decayed if decay.not_measured is None else None,
                result.verdict,
                result.reason,
                result.report_uri,
                context.dag_id,
                context.dag_run_id,
                context.task_id,
                context.lineage_run_id,
            ),
        )
        cur.executemany(
            f"INSERT INTO {FEATURES_TABLE} (run_id, position, feature, method, statistic, threshold, drifted) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (result.run_id, position, item.feature, item.method, item.statistic, item.threshold, item.drifted)
                for position, item in enumerate(drift.features)
            ],
        )


def earlier_request(url: str, result: MonitoringResult) -> str | None:
    """An earlier monitoring run that asked to retrain the same champion version on the same snapshot.

    Its id, or None. The mart is rebuilt after every load: one request per champion version and
    newest snapshot is enough, later runs on the same data record their results without asking again.
    """
    with connect(url) as conn:
        row = conn.execute(
            f"SELECT id FROM {RUNS_TABLE} WHERE model = %s AND champion_version = %s AND current_snapshot = %s "
            "AND verdict <> 'ok' AND id <> %s ORDER BY created_at LIMIT 1",
            (result.model, result.champion.version, result.current_snapshot, result.run_id),
        ).fetchone()
    return str(row[0]) if row else None


def monitor_and_store(
    url: str, model: ModelConfig, champion: ChampionReference, context: RunContext, **options: Any
) -> dict[str, Any]:
    """:func:`monitor`, :func:`store_result`, and whether an earlier run already asked to retrain on this data.

    Returns :meth:`MonitoringResult.summary` with ``already_requested_by`` (an earlier run's id, or None).
    """
    result = monitor(url, model, champion, context=context, **options)
    store_result(url, result)
    log.info("%s v%s: %s (report %s)", model.name, champion.version, result.reason, result.report_uri)
    return {**result.summary(), "already_requested_by": earlier_request(url, result) if result.retrain else None}


def record_retrain_request(summary: Mapping[str, Any]) -> None:
    """The ledger entry of a retraining request, from a run's :meth:`MonitoringResult.summary` (idempotent per run)."""
    from scrollintel import audit

    dag_id = summary.get("dag_id")
    details = {key: value for key, value in summary.items() if key not in ("retrain", "already_requested_by")}
    audit.record(
        RETRAIN_ACTION,
        f"model:{summary['model']}@v{summary['champion_version']}",
        details,
        actor=f"dag:{dag_id}" if dag_id else "scrollintel",
        key=f"{RETRAIN_ACTION}:{summary['monitoring_run_id']}",
    )


def lineage_run_id(ti: Any) -> str | None:
    """The task instance's OpenLineage run id (what its lineage events carry), when the provider is there."""
    try:
        from airflow.providers.openlineage.plugins.macros import lineage_run_id as run_id_of
    except ImportError:
        return None
    try:
        return str(run_id_of(ti))
    except Exception:  # an observer: monitoring stands without the id
        return None
