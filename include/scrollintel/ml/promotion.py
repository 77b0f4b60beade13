"""Blue/green promotion of a model in the MLflow registry: evaluate, promote, reject, roll back.

- :func:`evaluate`: a challenger against the champion on the same holdout snapshot (the
  challenger's own, read again from the feature table), both loaded back from the registry;
  fairness and SHAP of the challenger; the promotion checks (:mod:`scrollintel.ml.gates`) plus
  the registry's metadata check (:func:`scrollintel.ml.registry.missing_metadata`); one row of
  ``governance.model_evaluations`` (replaced by a retry of the same DAG run); the artifacts on the
  challenger's run; the ledger entry ``model.evaluated`` or ``model.promotion_refused``.
- :func:`promote`: ``champion`` moves to the challenger, the old champion gets
  ``previous-champion``, ``challenger`` is removed; ledger ``model.promoted``.
- :func:`reject` / :func:`archive`: the challenger loses its alias and is tagged
  :data:`~scrollintel.ml.tracking.TAG_ARCHIVED` with the reason; ``champion`` is untouched.
- :func:`rollback`: ``champion`` and ``previous-champion`` swap; ledger ``model.rolled_back``.

**Fairness rows.** Fairness needs many labelled rows per group (``fairness.MIN_ROWS``, and 20
positives and negatives for equalized odds); one monthly snapshot of a rare label rarely has
them. The challenger is judged on the holdout *and* the snapshots training purged (those between
its last training snapshot and the holdout, whose label windows overlap the holdout): labelled
rows the challenger never trained on. Metrics and the comparison with the champion use the
holdout alone; the champion trained on older snapshots, so both are out of sample there.

**Idempotent.** Each function can be re-run by a retried task: alias moves check where the alias
already points, the evaluation row's id derives from the model and DAG run, ledger entries carry
a key. :func:`rollback` takes the champion version the approval was asked for, so a retry after
the swap does not swap back.

Heavy libraries (MLflow, pandas, scikit-learn, SHAP) are imported inside the functions.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ScrollIntelError
from scrollintel.ml import gates, monitoring, registry
from scrollintel.ml.tracking import (
    ARTIFACT_COMPARISON,
    ARTIFACT_FAIRNESS,
    ARTIFACT_SHAP_CHART,
    ARTIFACT_SHAP_TABLE,
    CHALLENGER,
    CHAMPION,
    EVALUATED,
    PREVIOUS_CHAMPION,
    PROMOTED,
    PROMOTION_REFUSED,
    PROMOTION_REJECTED,
    ROLLED_BACK,
    TAG_ARCHIVED,
    registered_model_name,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from scrollintel.config.models import ModelConfig

log = logging.getLogger(__name__)

EVALUATIONS_TABLE = "governance.model_evaluations"
#: Name of the promotion check built from :func:`scrollintel.ml.registry.missing_metadata`.
METADATA = "registry_metadata"
#: The sentence :func:`registry.missing_metadata` uses for a missing signature (``gates.check_signature`` says it).
_NO_SIGNATURE = "the model was logged without a signature"
#: Top SHAP features kept in the evaluation row and the summary.
TOP_FEATURES = 5
_EVALUATION_NAMESPACE = uuid.UUID("5b0f5c8e-4f0e-4d55-9a51-0c2f8a3d1e17")


class PromotionError(ScrollIntelError):
    """A promotion, rejection or rollback cannot be done as asked; the message says which model and versions."""


class RunContext(monitoring.RunContext):
    """Where a step ran: the Airflow DAG run (None outside Airflow) and its OpenLineage run."""

    def evaluation_id(self, model: str) -> str:
        """The evaluation row's id: the same for every try of one DAG run (a retry replaces its row)."""
        return self.derived_id(_EVALUATION_NAMESPACE, model)

    @property
    def airflow_run(self) -> str | None:
        """``<dag_id>/<run_id>``, or None outside Airflow."""
        return f"{self.dag_id}/{self.dag_run_id}" if self.dag_id and self.dag_run_id else None

    def as_details(self) -> dict[str, Any]:
        """The ledger's copy (only what is known)."""
        items = {
            "dag_id": self.dag_id,
            "dag_run_id": self.dag_run_id,
            "task_id": self.task_id,
            "lineage_run_id": self.lineage_run_id,
        }
        return {key: value for key, value in items.items() if value}


@dataclass(frozen=True)
class EvaluationOutcome:
    """One challenger's evaluation: what the approval request shows and what the next tasks need."""

    evaluation_id: str
    model: str
    challenger_version: str
    challenger_run_id: str
    champion_version: str | None
    champion_run_id: str | None
    holdout_snapshot: str
    holdout_rows: int
    fairness_rows: int
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    top_features: list[tuple[str, float]]
    verdict: gates.Verdict
    summary_markdown: str
    trigger_reason: str | None = None
    run_urls: dict[str, str] = field(default_factory=dict)
    #: What the SHAP values are in (``log-odds of the trees, before calibration``).
    shap_output: str | None = None

    @property
    def ready(self) -> bool:
        """Every check passed: the challenger goes to the approval gate."""
        return self.verdict.passed

    @property
    def reasons(self) -> list[str]:
        """Each failed check as ``name: reason`` (empty when ready)."""
        return [f"{check.name}: {check.reason}" for check in self.verdict.failed]

    def headline(self) -> str:
        """One line for the approval request: versions and ROC AUC of both sides."""
        ours = self.challenger_metrics.get("roc_auc")
        theirs = (self.champion_metrics or {}).get("roc_auc")
        against = f"champion v{self.champion_version}" if self.champion_version else "no champion"
        auc = f"ROC AUC {ours:.4f}" if ours is not None else "no ROC AUC"
        if theirs is not None:
            auc += f" vs {theirs:.4f}"
        return (
            f"{self.model}: challenger v{self.challenger_version} against {against} ({auc} on {self.holdout_snapshot})"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (XCom)."""
        return {
            "evaluation_id": self.evaluation_id,
            "model": self.model,
            "challenger_version": self.challenger_version,
            "challenger_run_id": self.challenger_run_id,
            "champion_version": self.champion_version,
            "champion_run_id": self.champion_run_id,
            "holdout_snapshot": self.holdout_snapshot,
            "holdout_rows": self.holdout_rows,
            "fairness_rows": self.fairness_rows,
            "challenger_metrics": self.challenger_metrics,
            "champion_metrics": self.champion_metrics,
            "top_features": [list(pair) for pair in self.top_features],
            "verdict": self.verdict.as_dict(),
            "ready": self.ready,
            "reasons": self.reasons,
            "summary": self.headline(),
            "summary_markdown": self.summary_markdown,
            "trigger_reason": self.trigger_reason,
            "run_urls": self.run_urls,
        }


# --------------------------------------------------------------------------- evaluation


def evaluate(
    model: ModelConfig,
    warehouse_url: str,
    challenger_version: str,
    *,
    context: RunContext | None = None,
    trigger_reason: str | None = None,
    mlflow_client: MlflowClient | None = None,
    ui_base_url: str | None = None,
    upstream: Sequence[str] | None = None,
) -> EvaluationOutcome:
    """Evaluate ``challenger_version`` of ``model`` against its champion (see the module docstring).

    Stores the evaluation row, logs the artifacts to the challenger's run and records the ledger
    entry. Does not raise on a refusal: the caller reads :attr:`EvaluationOutcome.ready`.

    Raises:
        PromotionError: the challenger is the champion, or its holdout is not in the feature table.
    """
    from mlflow.models import get_model_info

    from scrollintel.ml.explain import explain_model
    from scrollintel.ml.fairness import assess_fairness
    from scrollintel.ml.training import evaluate as metrics_of
    from scrollintel.ml.training import feature_frame

    context = context or RunContext()
    client = mlflow_client or registry.client()
    name = registered_model_name(model.name)
    challenger = client.get_model_version(name, challenger_version)
    champion = registry.champion_version(client, name)
    if champion is not None and str(champion.version) == str(challenger_version):
        raise PromotionError(f"model {name} version {challenger_version} is already {CHAMPION}: nothing to evaluate")
    run = client.get_run(challenger.run_id) if challenger.run_id else None
    lineage = registry.run_lineage(run) if run is not None else None
    frame, holdout_day, eval_days = _evaluation_rows(warehouse_url, model, lineage)
    threshold = model.training.operating_threshold
    holdout = frame[frame[model.snapshot_column] == holdout_day]
    labels = holdout[model.label].astype(int).to_numpy()
    challenger_model = registry.load_version(name, str(challenger_version))
    challenger_scores = challenger_model.predict_proba(feature_frame(frame, model.features))[:, 1]
    holdout_mask = (frame[model.snapshot_column] == holdout_day).to_numpy()
    challenger_metrics = metrics_of(labels, challenger_scores[holdout_mask], threshold)
    champion_metrics = None
    if champion is not None:
        champion_model = registry.load_version(name, str(champion.version))
        champion_scores = champion_model.predict_proba(feature_frame(holdout, model.features))[:, 1]
        champion_metrics = metrics_of(labels, champion_scores, threshold)

    from scrollintel.ml.training import content_digest

    holdout_label = f"{model.features_table}@{holdout_day}#{content_digest(holdout)}"
    urls = _run_urls(client, ui_base_url, champion, challenger)
    challenger_eval = gates.Evaluation(
        challenger_metrics, holdout_label, str(challenger_version), challenger.run_id, urls.get("challenger")
    )
    champion_eval = (
        None
        if champion is None or champion_metrics is None
        else gates.Evaluation(
            champion_metrics, holdout_label, str(champion.version), champion.run_id, urls.get("champion")
        )
    )
    protected = frame[list(model.protected_attributes)]
    fairness = assess_fairness(
        frame[model.label].astype(int).to_numpy(), challenger_scores, protected, model.fairness, threshold
    )
    explanation = explain_model(
        challenger_model, frame, model.features, protected=model.protected_attributes, seed=model.training.seed
    )
    top = explanation.top_features(TOP_FEATURES)

    problems = registry.missing_metadata(client, name, str(challenger_version))
    has_signature = get_model_info(f"models:/{name}/{challenger_version}").signature is not None
    quality = gates.read_upstream_quality(warehouse_url, list(upstream or [model.features_table]))
    # data_read_at is not passed: the feature mart's quality gate runs before the mart is published
    # (and so before training reads it); the latest verdict of the data must have passed.
    checked = gates.promotion_verdict(
        model,
        champion=champion_eval,
        challenger=challenger_eval,
        fairness=fairness,
        has_signature=has_signature,
        run_tags=run.data.tags if run is not None else {},
        quality=quality,
        upstream=upstream,
    )
    verdict = gates.Verdict((*checked.checks, _metadata_check(problems)))
    markdown = gates.promotion_summary(
        model,
        champion=champion_eval,
        challenger=challenger_eval,
        verdict=verdict,
        fairness=fairness,
        top_features=top,
        drift_reason=trigger_reason,
    )
    outcome = EvaluationOutcome(
        evaluation_id=context.evaluation_id(model.name),
        model=model.name,
        challenger_version=str(challenger_version),
        challenger_run_id=str(challenger.run_id or ""),
        champion_version=None if champion is None else str(champion.version),
        champion_run_id=None if champion is None else champion.run_id,
        holdout_snapshot=str(holdout_day),
        holdout_rows=len(holdout),
        fairness_rows=len(frame),
        challenger_metrics=challenger_metrics,
        champion_metrics=champion_metrics,
        top_features=top,
        verdict=verdict,
        summary_markdown=markdown,
        trigger_reason=trigger_reason,
        run_urls=urls,
        shap_output=explanation.output,
    )
    log.info(
        "%s: fairness on %d rows of %s; %s",
        outcome.headline(),
        len(frame),
        ", ".join(str(day) for day in eval_days),
        verdict.message(),
    )
    if outcome.challenger_run_id:
        _log_artifacts(client, outcome, fairness.as_dict(), explanation)
    store_evaluation(warehouse_url, outcome, context, fairness.as_dict())
    record_evaluation(outcome, context)
    return outcome


def _metadata_check(problems: Sequence[str]) -> gates.Check:
    """The registry's metadata (input example, lineage tags, training dataset) as a promotion check.

    The signature has its own check (``gates.check_signature``) and is left out here.
    """
    rest = [problem for problem in problems if problem != _NO_SIGNATURE]
    if rest:
        return gates.Check(METADATA, False, "; ".join(rest))
    return gates.Check(METADATA, True, "input example, lineage tags and training dataset recorded")


def _evaluation_rows(
    url: str, model: ModelConfig, lineage: registry.RunLineage | None
) -> tuple[pd.DataFrame, Any, list[Any]]:
    """The holdout and the purged snapshots of the challenger (see the module docstring): rows, holdout, days."""
    import datetime as dt

    from scrollintel.ml import features

    days = features.snapshots(url, model)
    if not days:
        raise PromotionError(f"the feature table {model.features_table} is empty: nothing to evaluate on")
    holdout = dt.date.fromisoformat(lineage.holdout_snapshot) if lineage and lineage.holdout_snapshot else days[-1]
    if holdout not in days:
        raise PromotionError(
            f"the challenger's holdout snapshot {holdout} is no longer in {model.features_table} "
            f"(newest: {days[-1]}): it cannot be compared with the champion"
        )
    trained = [dt.date.fromisoformat(day) for day in (lineage.train_snapshots if lineage else ())]
    after = max(trained) if trained else holdout
    chosen = [day for day in days if after < day <= holdout] or [holdout]
    columns = [*model.entity_key, model.snapshot_column, *model.features, model.label, *model.protected_attributes]
    frame = features.read_frame(url, model, chosen, columns=columns)
    frame[model.snapshot_column] = [
        value if isinstance(value, dt.date) else value.date() for value in frame[model.snapshot_column]
    ]
    return frame, holdout, chosen


def _run_urls(client: MlflowClient, base: str | None, *versions: Any) -> dict[str, str]:
    urls: dict[str, str] = {}
    if not base:
        return urls
    for role, version in zip(("champion", "challenger"), versions, strict=True):
        if version is None or not version.run_id:
            continue
        run = client.get_run(version.run_id)
        urls[role] = gates.run_url(base, run.info.experiment_id, version.run_id)
    return urls


def _log_artifacts(
    client: MlflowClient, outcome: EvaluationOutcome, fairness: Mapping[str, Any], explanation: Any
) -> None:
    """The evaluation's artifacts on the challenger's run (a retry overwrites them)."""
    run_id = outcome.challenger_run_id
    client.log_dict(run_id, dict(fairness), ARTIFACT_FAIRNESS)
    client.log_dict(run_id, explanation.as_dict(), ARTIFACT_SHAP_TABLE)
    comparison = {key: value for key, value in outcome.as_dict().items() if key not in ("summary_markdown", "run_urls")}
    client.log_dict(run_id, comparison, ARTIFACT_COMPARISON)
    folder, chart = ARTIFACT_SHAP_CHART.rsplit("/", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = explanation.plot(Path(tmp) / chart, title=f"{outcome.model} v{outcome.challenger_version}: mean |SHAP|")
        client.log_artifact(run_id, str(path), folder)


def store_evaluation(url: str, outcome: EvaluationOutcome, context: RunContext, fairness: Mapping[str, Any]) -> None:
    """The evaluation's row in ``governance.model_evaluations`` (an earlier try of the DAG run is replaced)."""
    from psycopg.types.json import Jsonb

    from scrollintel.warehouse import connect

    with connect(url) as conn:
        conn.execute(f"DELETE FROM {EVALUATIONS_TABLE} WHERE id = %s", (outcome.evaluation_id,))
        conn.execute(
            f"INSERT INTO {EVALUATIONS_TABLE} (id, model, challenger_version, challenger_run_id, champion_version, "
            "champion_run_id, holdout_snapshot, holdout_rows, challenger_metrics, champion_metrics, fairness, "
            "top_features, verdict, reasons, trigger_reason, dag_id, dag_run_id, task_id, lineage_run_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                outcome.evaluation_id,
                outcome.model,
                int(outcome.challenger_version),
                outcome.challenger_run_id,
                None if outcome.champion_version is None else int(outcome.champion_version),
                outcome.champion_run_id,
                outcome.holdout_snapshot,
                outcome.holdout_rows,
                Jsonb(outcome.challenger_metrics),
                None if outcome.champion_metrics is None else Jsonb(outcome.champion_metrics),
                Jsonb(dict(fairness)),
                Jsonb(
                    {
                        "output": outcome.shap_output,
                        "importance": [
                            {"feature": name, "mean_abs_shap": value} for name, value in outcome.top_features
                        ],
                    }
                ),
                "ready" if outcome.ready else "refused",
                outcome.reasons,
                outcome.trigger_reason,
                context.dag_id,
                context.dag_run_id,
                context.task_id,
                context.lineage_run_id,
            ),
        )


def record_evaluation(outcome: EvaluationOutcome, context: RunContext) -> None:
    """Ledger ``model.evaluated`` (ready) or ``model.promotion_refused`` (with every reason), once per evaluation."""
    from scrollintel import audit

    action = EVALUATED if outcome.ready else PROMOTION_REFUSED
    details = {
        "model": outcome.model,
        "evaluation_id": outcome.evaluation_id,
        "challenger_version": outcome.challenger_version,
        "challenger_run_id": outcome.challenger_run_id,
        "champion_version": outcome.champion_version,
        "champion_run_id": outcome.champion_run_id,
        "holdout_snapshot": outcome.holdout_snapshot,
        "verdict": "ready" if outcome.ready else "refused",
        "reasons": outcome.reasons,
        "challenger_roc_auc": outcome.challenger_metrics.get("roc_auc"),
        "champion_roc_auc": (outcome.champion_metrics or {}).get("roc_auc"),
        **context.as_details(),
    }
    audit.record(
        action,
        f"model:{registered_model_name(outcome.model)}@v{outcome.challenger_version}",
        details,
        actor=f"dag:{context.dag_id}" if context.dag_id else "scrollintel",
        key=f"{action}:{outcome.evaluation_id}",
    )


# --------------------------------------------------------------------------- alias moves


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    return {alias: str(version) for alias, version in (client.get_registered_model(name).aliases or {}).items()}


def promote(
    model: str,
    version: str,
    approved_by: str,
    *,
    lineage_run_id: str | None = None,
    context: RunContext | None = None,
    mlflow_client: MlflowClient | None = None,
) -> dict[str, Any]:
    """Make ``version`` of ``model`` the champion (blue/green): returns the ledger entry's details.

    The old champion gets ``previous-champion`` (the rollback target), ``challenger`` is removed
    when it names ``version``. A retry after the move changes nothing and records nothing twice.

    Raises:
        PromotionError: the version is archived, or lacks its signature or lineage (registry.missing_metadata).
    """
    context = context or RunContext()
    client = mlflow_client or registry.client()
    name = registered_model_name(model)
    found = client.get_model_version(name, str(version))
    if (found.tags or {}).get(TAG_ARCHIVED):
        raise PromotionError(f"model {name} version {version} is archived ({found.tags[TAG_ARCHIVED]}): not promoted")
    problems = registry.missing_metadata(client, name, str(version))
    if problems:
        raise PromotionError(f"model {name} version {version} is refused: {'; '.join(problems)}")
    aliases = _aliases(client, name)
    current = aliases.get(CHAMPION)
    if current == str(version):
        previous = aliases.get(PREVIOUS_CHAMPION)  # an earlier try moved it already
        log.info("model %s version %s is already %s", name, version, CHAMPION)
    else:
        previous = current
        if previous is not None:
            client.set_registered_model_alias(name, PREVIOUS_CHAMPION, previous)
        client.set_registered_model_alias(name, CHAMPION, str(version))
    if aliases.get(CHALLENGER) == str(version):
        client.delete_registered_model_alias(name, CHALLENGER)
    details = {
        "model": model,
        "from_version": previous,
        "to_version": str(version),
        "approved_by": approved_by,
        "lineage_run_id": lineage_run_id or context.lineage_run_id,
        "challenger_run_id": found.run_id,
        **{key: value for key, value in context.as_details().items() if key != "lineage_run_id"},
    }
    from scrollintel import audit

    audit.record(
        PROMOTED,
        f"model:{name}@v{version}",
        details,
        actor=approved_by,
        key=f"{PROMOTED}:{name}:{version}:{context.airflow_run or uuid.uuid4()}",
    )
    log.info("model %s: %s v%s -> v%s, approved by %s", name, CHAMPION, previous, version, approved_by)
    return details


def archive(model: str, version: str, reason: str, *, mlflow_client: MlflowClient | None = None) -> None:
    """Take ``version`` out of the running: ``challenger`` removed when it names it, tagged archived with ``reason``.

    Raises:
        PromotionError: ``version`` is the champion (archive a champion by promoting or rolling back first).
    """
    client = mlflow_client or registry.client()
    name = registered_model_name(model)
    aliases = _aliases(client, name)
    if aliases.get(CHAMPION) == str(version):
        raise PromotionError(f"model {name} version {version} is {CHAMPION}: it cannot be archived")
    if aliases.get(CHALLENGER) == str(version):
        client.delete_registered_model_alias(name, CHALLENGER)
    client.set_model_version_tag(name, str(version), TAG_ARCHIVED, reason[:5000])
    log.info("model %s version %s archived: %s", name, version, reason)


def reject(
    model: str,
    version: str,
    reason: str,
    *,
    decided_by: str | None = None,
    outcome: str = "rejected",
    context: RunContext | None = None,
    mlflow_client: MlflowClient | None = None,
) -> dict[str, Any]:
    """The promotion was rejected (or expired): archive the challenger, ledger ``model.promotion_rejected``.

    ``champion`` is untouched. Returns the ledger entry's details.
    """
    from scrollintel import audit

    context = context or RunContext()
    client = mlflow_client or registry.client()
    name = registered_model_name(model)
    archive(model, version, reason, mlflow_client=client)
    champion = _aliases(client, name).get(CHAMPION)
    details = {
        "model": model,
        "version": str(version),
        "champion_version": champion,
        "outcome": outcome,
        "reason": reason,
        "decided_by": decided_by,
        **context.as_details(),
    }
    audit.record(
        PROMOTION_REJECTED,
        f"model:{name}@v{version}",
        details,
        actor=decided_by or (f"dag:{context.dag_id}" if context.dag_id else "scrollintel"),
        key=f"{PROMOTION_REJECTED}:{name}:{version}:{context.airflow_run or uuid.uuid4()}",
    )
    return details


def rollback_target(model: str, *, mlflow_client: MlflowClient | None = None) -> tuple[str, str]:
    """(champion, previous champion) versions a rollback would swap.

    Raises:
        PromotionError: no champion or no previous champion.
    """
    client = mlflow_client or registry.client()
    name = registered_model_name(model)
    aliases = _aliases(client, name)
    champion, previous = aliases.get(CHAMPION), aliases.get(PREVIOUS_CHAMPION)
    if champion is None:
        raise PromotionError(f"model {name} has no {CHAMPION}: nothing to roll back")
    if previous is None:
        raise PromotionError(
            f"model {name} has no {PREVIOUS_CHAMPION} (no promotion since version {champion}): nothing to roll back to"
        )
    return champion, previous


def rollback(
    model: str,
    approved_by: str,
    *,
    expected_champion: str | None = None,
    context: RunContext | None = None,
    mlflow_client: MlflowClient | None = None,
) -> dict[str, Any]:
    """``champion`` back to ``previous-champion`` (they swap): ledger ``model.rolled_back``; returns its details.

    ``expected_champion``: the champion the rollback was approved for. When the champion is
    already the version it pointed back to (an earlier try swapped them), nothing moves again;
    when it is another version, the rollback is refused (the registry changed since the request).

    Raises:
        PromotionError: nothing to roll back, or the champion moved since the request.
    """
    from scrollintel import audit

    context = context or RunContext()
    client = mlflow_client or registry.client()
    name = registered_model_name(model)
    champion, previous = rollback_target(model, mlflow_client=client)
    if expected_champion is not None and champion != str(expected_champion):
        if previous == str(expected_champion):  # an earlier try of this run swapped them
            champion, previous = previous, champion
            log.info("model %s: rolled back already (v%s -> v%s)", name, champion, previous)
        else:
            raise PromotionError(
                f"model {name}: the rollback was approved for {CHAMPION} version {expected_champion}, "
                f"but {CHAMPION} is now version {champion}; ask again"
            )
    else:
        client.set_registered_model_alias(name, CHAMPION, previous)
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, champion)
    details = {
        "model": model,
        "from_version": champion,
        "to_version": previous,
        "approved_by": approved_by,
        **context.as_details(),
    }
    audit.record(
        ROLLED_BACK,
        f"model:{name}@v{previous}",
        details,
        actor=approved_by,
        key=f"{ROLLED_BACK}:{name}:{champion}:{context.airflow_run or uuid.uuid4()}",
    )
    log.info("model %s: %s v%s -> v%s (rollback), approved by %s", name, CHAMPION, champion, previous, approved_by)
    return details


# --------------------------------------------------------------------------- the champion's Asset


def champion_changed_asset_uri(model: str) -> str:
    """``x-scrollintel://models/<model>/champion``: ``champion`` moved (a promotion or a rollback)."""
    from scrollintel.warehouse import ASSET_SCHEME

    return f"{ASSET_SCHEME}://models/{model}/champion"


def champion_changed_asset(model: str) -> Any:
    """The Airflow Asset a promotion or rollback updates: the scoring DAG runs on it as well as daily."""
    from airflow.sdk import Asset

    return Asset(name=f"models.{model}.champion", uri=champion_changed_asset_uri(model), group="ml")


# --------------------------------------------------------------------------- asking for a rollback


def rollback_dag_id(model: str) -> str:
    """The DAG that rolls ``model`` back after an approval (``dags/ml_<model>_rollback.py``)."""
    return f"ml_{model}_rollback"


def request_rollback(api_url: str, username: str, password: str, model: str, reason: str) -> str:
    """Trigger the model's rollback DAG through Airflow's REST API as ``username``; returns the run id.

    The DAG asks for the ``model_promotion`` approval; ``username`` is the requester, so separation
    of duties keeps them from approving their own request.

    Raises:
        TriggerRefused: the sign-in or the trigger was refused (the message has the HTTP status).
    """
    from scrollintel.approvals.trigger import trigger_as

    return trigger_as(
        api_url,
        username,
        password,
        rollback_dag_id(model),
        conf={"reason": reason},
        note=f"rollback requested: {reason}",
    )
