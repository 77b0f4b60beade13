"""Read-only queries of a model's monitoring runs and evaluations, for the Model page and its JSON API.

The functions take the warehouse URL (the web app's runtime role may SELECT the tables of
migrations 0011 and 0012) and return pydantic models, ready to return from FastAPI routes:

- :func:`monitoring_history`: a model's newest monitoring runs (oldest first), each with
  Evidently's test of every feature: the drift trend and the latest verdict;
- :func:`latest_evaluation`: a model's newest challenger evaluation: both sides' metrics, the
  fairness assessment and the top SHAP features as the retraining DAG stored them;
- :func:`monitoring_report`: where one run's Evidently HTML report is, when it is a file inside
  the object store's folder for that model's reports (never anywhere else).

The JSON columns are read as stored; :func:`shap_importances` and :func:`fairness_rows` turn
them into rows a table or a chart shows, whatever shape of :mod:`scrollintel.ml.explain` and
:mod:`scrollintel.ml.fairness` output they hold.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from scrollintel.ml.fairness import RATE_LABELS
from scrollintel.warehouse import GOVERNANCE_SCHEMA, connect

RUNS_TABLE = f"{GOVERNANCE_SCHEMA}.model_monitoring_runs"
FEATURES_TABLE = f"{GOVERNANCE_SCHEMA}.model_feature_drift"
EVALUATIONS_TABLE = f"{GOVERNANCE_SCHEMA}.model_evaluations"
#: Monitoring runs the trend shows by default.
DEFAULT_RUNS = 12
MAX_RUNS = 200


class FeatureStatistic(BaseModel):
    """Evidently's drift test of one feature in one monitoring run."""

    feature: str
    method: str
    statistic: float
    threshold: float
    drifted: bool


class MonitoringRun(BaseModel):
    """One monitoring run of a model's champion: drift, decay, the verdict and its reason."""

    id: str
    model: str
    created_at: datetime
    champion_version: int
    champion_run_id: str
    current_snapshot: date
    reference_snapshots: list[date]
    reference_rows: int
    current_rows: int
    features_tested: int
    drifted_features: int
    drift_share: float
    drift_share_limit: float
    feature_threshold: float | None
    dataset_drifted: bool
    labelled_rows: int
    roc_auc: float | None
    champion_roc_auc: float | None
    max_auc_drop: float
    decayed: bool | None = Field(description="None when decay could not be measured")
    verdict: str = Field(description="ok, drift, decay or drift_and_decay")
    reason: str
    has_report: bool = Field(description="the Evidently HTML report is in the object store")
    dag_id: str | None
    dag_run_id: str | None
    features: list[FeatureStatistic] = Field(default_factory=list)


class Evaluation(BaseModel):
    """The newest evaluation of a challenger against the champion, as the retraining DAG stored it."""

    id: str
    model: str
    created_at: datetime
    challenger_version: int
    challenger_run_id: str
    champion_version: int | None
    champion_run_id: str | None
    holdout_snapshot: date
    holdout_rows: int
    challenger_metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    fairness: dict[str, Any] | None = Field(description="ml.fairness.FairnessResult.as_dict()")
    top_features: Any = Field(description="SHAP importances (ml.explain), as stored")
    verdict: str = Field(description="ready (put to approval) or refused (stopped before approval)")
    reasons: list[str]
    trigger_reason: str | None
    dag_id: str | None
    dag_run_id: str | None


_RUN_COLUMNS = (
    "id, model, created_at, champion_version, champion_run_id, current_snapshot, reference_snapshots, "
    "reference_rows, current_rows, features, drifted_features, drift_share, drift_share_limit, feature_threshold, "
    "dataset_drifted, labelled_rows, roc_auc, champion_roc_auc, max_auc_drop, decayed, verdict, reason, report_uri, "
    "dag_id, dag_run_id"
)


def monitoring_history(url: str, model: str, *, runs: int = DEFAULT_RUNS) -> list[MonitoringRun]:
    """The newest ``runs`` monitoring runs of ``model``, oldest first, each with its features in tested order."""
    runs = max(1, min(runs, MAX_RUNS))
    with connect(url) as conn:
        rows = conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM {RUNS_TABLE} WHERE model = %s ORDER BY created_at DESC LIMIT %s",
            (model, runs),
        ).fetchall()
        ids = [row[0] for row in rows]
        features = conn.execute(
            f"SELECT run_id, feature, method, statistic, threshold, drifted FROM {FEATURES_TABLE} "
            "WHERE run_id = ANY(%s) ORDER BY run_id, position",
            (ids,),
        ).fetchall()
    by_run: dict[str, list[FeatureStatistic]] = {}
    for run_id, feature, method, statistic, threshold, drifted in features:
        by_run.setdefault(str(run_id), []).append(
            FeatureStatistic(feature=feature, method=method, statistic=statistic, threshold=threshold, drifted=drifted)
        )
    history = []
    for row in reversed(rows):
        (run_id, name, created, version, champion_run, current, references, reference_rows, current_rows) = row[:9]
        (tested, drifted, share, share_limit, threshold, dataset_drifted, labelled, auc, champion_auc) = row[9:18]
        (max_drop, decayed, verdict, reason, report_uri, dag_id, dag_run_id) = row[18:]
        history.append(
            MonitoringRun(
                id=str(run_id),
                model=name,
                created_at=created,
                champion_version=version,
                champion_run_id=champion_run,
                current_snapshot=current,
                reference_snapshots=list(references or []),
                reference_rows=reference_rows,
                current_rows=current_rows,
                features_tested=tested,
                drifted_features=drifted,
                drift_share=share,
                drift_share_limit=share_limit,
                feature_threshold=threshold,
                dataset_drifted=dataset_drifted,
                labelled_rows=labelled,
                roc_auc=auc,
                champion_roc_auc=champion_auc,
                max_auc_drop=max_drop,
                decayed=decayed,
                verdict=verdict,
                reason=reason,
                has_report=report_path(report_uri, name) is not None,
                dag_id=dag_id,
                dag_run_id=dag_run_id,
                features=by_run.get(str(run_id), []),
            )
        )
    return history


_EVALUATION_COLUMNS = (
    "id",
    "model",
    "created_at",
    "challenger_version",
    "challenger_run_id",
    "champion_version",
    "champion_run_id",
    "holdout_snapshot",
    "holdout_rows",
    "challenger_metrics",
    "champion_metrics",
    "fairness",
    "top_features",
    "verdict",
    "reasons",
    "trigger_reason",
    "dag_id",
    "dag_run_id",
)


def latest_evaluation(url: str, model: str) -> Evaluation | None:
    """The newest challenger evaluation of ``model``, or None before the first retraining."""
    with connect(url) as conn:
        row = conn.execute(
            f"SELECT {', '.join(_EVALUATION_COLUMNS)} FROM {EVALUATIONS_TABLE} WHERE model = %s "
            "ORDER BY created_at DESC LIMIT 1",
            (model,),
        ).fetchone()
    if row is None:
        return None
    values = dict(zip(_EVALUATION_COLUMNS, row, strict=True))
    values["id"] = str(values["id"])
    values["reasons"] = list(values["reasons"] or [])
    return Evaluation(**values)


def report_path(report_uri: str | None, model: str) -> Path | None:
    """The report file of ``report_uri`` (a ``file:`` URI or a path), if it is an existing ``.html`` file
    under ``<object store>/models/<model>/monitoring``; None otherwise (moved, elsewhere, or on S3)."""
    from scrollintel import settings

    if not report_uri:
        return None
    parts = urlsplit(report_uri)
    if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
        return None
    folder = (settings.object_store_dir() / "models" / model / "monitoring").resolve()
    try:
        found = Path(unquote(parts.path)).resolve()
    except (OSError, ValueError):
        return None
    if found.suffix != ".html" or not found.is_relative_to(folder) or not found.is_file():
        return None
    return found


def monitoring_report(url: str, run_id: str) -> Path | None:
    """The Evidently HTML report of monitoring run ``run_id`` (see :func:`report_path`), or None."""
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        return None
    with connect(url) as conn:
        row = conn.execute(f"SELECT model, report_uri FROM {RUNS_TABLE} WHERE id = %s", (key,)).fetchone()
    return None if row is None else report_path(row[1], row[0])


# -- the stored JSON as rows ----------------------------------------------------------------------


class Importance(BaseModel):
    """One feature's global SHAP importance (mean |SHAP value|)."""

    feature: str
    mean_abs_shap: float
    share: float | None = None


def shap_importances(top_features: Any) -> list[Importance]:
    """The global importances in ``top_features``, most important first.

    Accepts what :mod:`scrollintel.ml.explain` writes: ``Explanation.as_dict()`` (its
    ``importance`` records), the records alone, or ``top_features()`` pairs ``[feature, value]``.
    Anything else gives no rows (the page then says the evaluation has no explanation).
    """
    records: Any = top_features.get("importance") if isinstance(top_features, dict) else top_features
    found: list[Importance] = []
    for item in records if isinstance(records, list) else []:
        if isinstance(item, dict) and "feature" in item and _number(item.get("mean_abs_shap")) is not None:
            share = _number(item.get("share"))
            found.append(
                Importance(feature=str(item["feature"]), mean_abs_shap=float(item["mean_abs_shap"]), share=share)
            )
        elif isinstance(item, (list, tuple)) and len(item) == 2 and _number(item[1]) is not None:
            found.append(Importance(feature=str(item[0]), mean_abs_shap=float(item[1])))
    return sorted(found, key=lambda row: -row.mean_abs_shap)


def shap_output(top_features: Any) -> str | None:
    """What the SHAP values are in (``log-odds ...``), when ``top_features`` says."""
    if isinstance(top_features, dict) and isinstance(top_features.get("output"), str):
        return str(top_features["output"])
    return None


class FairnessRow(BaseModel):
    """One protected attribute: both gaps against their limits, the groups judged, and a breach."""

    attribute: str
    groups: int
    groups_judged: int
    demographic_parity_difference: float | None
    max_demographic_parity_difference: float | None
    equalized_odds_difference: float | None
    max_equalized_odds_difference: float | None
    breach: bool
    parity_between: str | None = Field(default=None, description="where the parity gap is")
    odds_between: str | None = Field(default=None, description="where the equalized odds gap is")


class FairnessGroup(BaseModel):
    """One group of one protected attribute: its size and rates, and why it was not judged."""

    attribute: str
    group: str
    rows: int
    positives: int
    selection_rate: float | None
    true_positive_rate: float | None
    false_positive_rate: float | None
    note: str = ""


def fairness_rows(fairness: Any) -> tuple[list[FairnessRow], list[FairnessGroup], list[str]]:
    """Per attribute, per group, and the breach sentences of a stored ``FairnessResult.as_dict()``."""
    if not isinstance(fairness, dict) or not isinstance(fairness.get("attributes"), list):
        return [], [], []
    breaches = [item for item in fairness.get("breaches") or [] if isinstance(item, dict)]
    breached = {item.get("attribute") for item in breaches}
    rows, groups = [], []
    for attribute in fairness["attributes"]:
        if not isinstance(attribute, dict):
            continue
        name = str(attribute.get("attribute", ""))
        members = [group for group in attribute.get("groups") or [] if isinstance(group, dict)]
        parity, odds = attribute.get("parity") or {}, attribute.get("odds") or {}
        rows.append(
            FairnessRow(
                attribute=name,
                groups=len(members),
                groups_judged=sum(1 for group in members if group.get("judged_parity")),
                demographic_parity_difference=_number(parity.get("value")),
                max_demographic_parity_difference=_number(fairness.get("max_demographic_parity_difference")),
                equalized_odds_difference=_number(odds.get("value")),
                max_equalized_odds_difference=_number(fairness.get("max_equalized_odds_difference")),
                breach=name in breached,
                parity_between=_between(parity),
                odds_between=_between(odds),
            )
        )
        groups += [
            FairnessGroup(
                attribute=name,
                group=str(group.get("group", "")),
                rows=int(group.get("rows") or 0),
                positives=int(group.get("positives") or 0),
                selection_rate=_number(group.get("selection_rate")),
                true_positive_rate=_number(group.get("true_positive_rate")),
                false_positive_rate=_number(group.get("false_positive_rate")),
                note=str(group.get("note") or ""),
            )
            for group in members
        ]
    return rows, groups, [str(item.get("reason", "")) for item in breaches if item.get("reason")]


def _between(gap: dict[str, Any]) -> str | None:
    if not gap or gap.get("high_group") is None:
        return None
    rate = RATE_LABELS.get(str(gap.get("rate")), str(gap.get("rate")))
    high, low = _number(gap.get("high")), _number(gap.get("low"))
    if high is None or low is None:
        return None
    return f"{gap['high_group']} {high:.2f} {rate} vs {gap.get('low_group')} {low:.2f}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
