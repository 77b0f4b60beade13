"""What a challenger must pass before it is put to the ``model_promotion`` approval gate.

Each check is a pure function over plain inputs (metrics, a fairness result, run tags, the
latest quality verdicts) returning a :class:`Check` with a sentence an approver understands;
:func:`promotion_verdict` runs them all (every failure is reported, not only the first) and
:func:`promotion_summary` writes the Markdown the approval request shows. A task calls
:meth:`Verdict.raise_if_failed`, so a refused challenger stops before the approval with the
reasons (:class:`PromotionRefused`).

The checks:

- **auc_gain**: the challenger's ROC AUC is at least the champion's plus
  ``promotion.min_auc_gain``, both measured on the same holdout;
- **fairness**: no breach of the model's fairness policy (:mod:`scrollintel.ml.fairness`);
- **signature**: the model was logged with an MLflow signature (scoring validates inputs with it);
- **lineage**: the run carries the dataset lineage tags (:data:`~scrollintel.ml.tracking.TAG_DATASET`,
  :data:`~scrollintel.ml.tracking.TAG_DATASET_VERSION`) naming the model's feature table;
- **upstream_quality**: the latest quality gate run of each upstream dataset (at least the
  feature table) passed, and, when given, judged the data no earlier than it was read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from scrollintel.exceptions import GateFailed
from scrollintel.ml.fairness import DEMOGRAPHIC_PARITY, EQUALIZED_ODDS, FairnessResult
from scrollintel.ml.tracking import TAG_DATASET, TAG_DATASET_VERSION

if TYPE_CHECKING:
    from scrollintel.config.models import ModelConfig, PromotionPolicy
    from scrollintel.quality.query import LatestOutcome

AUC_GAIN, FAIRNESS, SIGNATURE, LINEAGE, UPSTREAM_QUALITY = (
    "auc_gain",
    "fairness",
    "signature",
    "lineage",
    "upstream_quality",
)
#: The metric the promotion margin is measured in.
AUC = "roc_auc"
#: How the summary names the usual metrics (others are shown by their key).
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score (lower is better)",
    "log_loss": "log loss (lower is better)",
    "recall_at_threshold": "recall at the operating threshold",
    "precision_at_threshold": "precision at the operating threshold",
    "cv_roc_auc": "ROC AUC in cross-validation",
}
#: At most this many groups are named in a summary's "too small to judge" note.
NAMED_SMALL_GROUPS = 5


class PromotionRefused(GateFailed):
    """A challenger failed a promotion check; the message lists every failed check and its reason."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__(verdict.message())


class QualityVerdict(Protocol):
    """The latest quality gate verdict of a dataset (:class:`scrollintel.quality.query.LatestOutcome`)."""

    dataset: str
    success: bool
    checked_at: datetime


@dataclass(frozen=True)
class Evaluation:
    """One model's metrics on a holdout, and where its MLflow run is."""

    metrics: Mapping[str, float | None]
    #: What it was evaluated on, identical for champion and challenger when they are comparable
    #: (e.g. ``marts.ml_churn_features@2025-10-01#<dataset version>``).
    holdout: str
    version: str | None = None
    run_id: str | None = None
    run_url: str | None = None

    def label(self, role: str) -> str:
        """``champion v3`` (or just the role when the version is unknown)."""
        return f"{role} v{self.version}" if self.version else role


@dataclass(frozen=True)
class Check:
    """One promotion check: its name, whether it passed, and why."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    """Every promotion check of one challenger."""

    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        """The checks that failed, in the order they ran."""
        return [check for check in self.checks if not check.passed]

    def message(self) -> str:
        """One paragraph: ``passed every check`` or each failed check with its reason."""
        if self.passed:
            return f"the challenger passed every promotion check ({', '.join(c.name for c in self.checks)})"
        failed = self.failed
        listed = "; ".join(f"{check.name}: {check.reason}" for check in failed)
        return f"the challenger failed {len(failed)} promotion check(s): {listed}"

    def raise_if_failed(self) -> None:
        """Raise :class:`PromotionRefused` when a check failed."""
        if not self.passed:
            raise PromotionRefused(self)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (XCom, ledger); :meth:`from_dict` reads it back."""
        return {"passed": self.passed, "checks": [asdict(check) for check in self.checks]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The verdict :meth:`as_dict` wrote."""
        return cls(tuple(Check(**check) for check in data["checks"]))


# -- the checks ---------------------------------------------------------------------------------


def check_auc_gain(
    champion: Evaluation | None, challenger: Evaluation, policy: PromotionPolicy, *, metric: str = AUC
) -> Check:
    """The challenger's ``metric`` is at least the champion's + ``min_auc_gain`` on the same holdout.

    Without a champion (the first version) there is nothing to beat and the check passes.
    """
    ours = _metric(challenger, metric)
    if ours is None:
        return Check(AUC_GAIN, False, f"the challenger has no {metric} to compare")
    if champion is None:
        return Check(AUC_GAIN, True, f"no champion yet: the challenger's {metric} is {ours:.4f}")
    if champion.holdout != challenger.holdout:
        return Check(
            AUC_GAIN,
            False,
            f"champion and challenger were not evaluated on the same holdout "
            f"({champion.holdout} vs {challenger.holdout}): their {metric} cannot be compared",
        )
    theirs = _metric(champion, metric)
    if theirs is None:
        return Check(AUC_GAIN, False, f"the champion has no {metric} on {champion.holdout} to compare with")
    gain = ours - theirs
    needed = policy.min_auc_gain
    facts = f"{metric} {ours:.4f} vs champion {theirs:.4f} on {challenger.holdout}: {gain:+.4f}"
    if gain < needed:
        if gain < 0:
            return Check(AUC_GAIN, False, f"worse than the champion: {facts} (needs at least {needed:+.4f})")
        return Check(AUC_GAIN, False, f"not better than the champion by the required margin: {facts} < {needed:+.4f}")
    return Check(AUC_GAIN, True, f"{facts} (needs at least {needed:+.4f})")


def check_fairness(result: FairnessResult | None) -> Check:
    """No fairness breach; an attribute that could not be judged is said, not failed."""
    if result is None:
        return Check(FAIRNESS, False, "no fairness assessment was made for the challenger")
    if result.breaches:
        return Check(FAIRNESS, False, "; ".join(breach.reason for breach in result.breaches))
    judged = [
        attribute.attribute
        for attribute in result.attributes
        if attribute.parity is not None or attribute.odds is not None
    ]
    if not judged:
        return Check(FAIRNESS, True, "no breach, but no protected attribute had two groups large enough to judge")
    unjudged = [attribute.attribute for attribute in result.attributes if attribute.attribute not in judged]
    extra = f" ({', '.join(unjudged)}: groups too small to judge)" if unjudged else ""
    return Check(FAIRNESS, True, f"within the policy's limits for {', '.join(judged)}{extra}")


def check_signature(has_signature: bool) -> Check:
    """The model was logged with an MLflow signature."""
    if not has_signature:
        return Check(
            SIGNATURE,
            False,
            "the model was logged without a signature: scoring could not check its input columns and types",
        )
    return Check(SIGNATURE, True, "the model was logged with a signature")


def check_lineage(tags: Mapping[str, str], features_table: str | None = None) -> Check:
    """The run names the dataset and its version it trained on (and it is the model's feature table)."""
    missing = [tag for tag in (TAG_DATASET, TAG_DATASET_VERSION) if not str(tags.get(tag) or "").strip()]
    if missing:
        return Check(
            LINEAGE,
            False,
            f"the run has no dataset lineage tag(s) {', '.join(missing)}: "
            "nobody could tell which data the model was trained on",
        )
    dataset, version = tags[TAG_DATASET], tags[TAG_DATASET_VERSION]
    if features_table is not None and dataset != features_table:
        return Check(
            LINEAGE, False, f"the run was trained on {dataset}, but the model's feature table is {features_table}"
        )
    return Check(LINEAGE, True, f"trained on {dataset} version {version}")


def check_upstream_quality(
    outcomes: Sequence[QualityVerdict], datasets: Sequence[str], *, not_before: datetime | None = None
) -> Check:
    """Each of ``datasets`` has a latest quality gate run, it passed, and (given ``not_before``) is recent.

    ``outcomes``: the latest verdicts (:func:`read_upstream_quality`); ``not_before``: when the
    training data was read. A verdict older than that judged other data than the model saw.
    """
    latest = {outcome.dataset: outcome for outcome in outcomes}
    problems = []
    for dataset in datasets:
        outcome = latest.get(dataset)
        if outcome is None:
            problems.append(f"{dataset} has never been checked by a quality gate")
        elif not outcome.success:
            problems.append(f"{dataset} failed its latest quality gate ({_when(outcome.checked_at)})")
        elif not_before is not None and outcome.checked_at < not_before:
            problems.append(
                f"{dataset} was last checked {_when(outcome.checked_at)}, before the training data was read "
                f"({_when(not_before)})"
            )
    if problems:
        return Check(UPSTREAM_QUALITY, False, "; ".join(problems))
    return Check(UPSTREAM_QUALITY, True, f"latest quality gate passed for {', '.join(datasets)}")


def read_upstream_quality(url: str, datasets: Sequence[str]) -> list[LatestOutcome]:
    """The latest quality gate verdict of each of ``datasets`` in the warehouse at ``url``."""
    from scrollintel.quality.query import latest_outcomes
    from scrollintel.warehouse import connect

    with connect(url) as conn:
        return latest_outcomes(conn, datasets)


def promotion_verdict(
    model: ModelConfig,
    *,
    champion: Evaluation | None,
    challenger: Evaluation,
    fairness: FairnessResult | None,
    has_signature: bool,
    run_tags: Mapping[str, str],
    quality: Sequence[QualityVerdict],
    upstream: Sequence[str] | None = None,
    data_read_at: datetime | None = None,
) -> Verdict:
    """Every promotion check of ``challenger`` (see the module docstring).

    ``upstream``: the datasets whose quality gate must have passed (default: the feature table).
    """
    return Verdict(
        (
            check_auc_gain(champion, challenger, model.promotion),
            check_fairness(fairness),
            check_signature(has_signature),
            check_lineage(run_tags, model.features_table),
            check_upstream_quality(quality, list(upstream or [model.features_table]), not_before=data_read_at),
        )
    )


# -- the approval request ------------------------------------------------------------------------


def promotion_summary(
    model: ModelConfig,
    *,
    champion: Evaluation | None,
    challenger: Evaluation,
    verdict: Verdict,
    fairness: FairnessResult | None = None,
    top_features: Sequence[tuple[str, float]] = (),
    drift_reason: str | None = None,
) -> str:
    """The Markdown an approver reads: why, metrics side by side, checks, fairness, top SHAP features, runs."""
    lines = [f"Model **{model.name}**: {challenger.label('challenger')} against {_champion_label(champion)}."]
    if drift_reason:
        lines += ["", f"**Why retrained:** {_inline(drift_reason)}"]
    lines += ["", f"**Metrics** on {_inline(challenger.holdout)}", ""]
    lines += _metrics_table(champion, challenger)
    lines += ["", "**Checks**", ""]
    lines += [
        f"- {'passed' if check.passed else '**FAILED**'} {check.name}: {_inline(check.reason)}"
        for check in verdict.checks
    ]
    if fairness is not None:
        lines += ["", *_fairness_section(fairness)]
    if top_features:
        ranked = ", ".join(f"{feature} ({value:.3f})" for feature, value in top_features)
        lines += ["", f"**Top features** (mean \\|SHAP\\|): {ranked}"]
    links = [
        f"[{_inline(e.label(role))}]({e.run_url})"
        for role, e in (("champion", champion), ("challenger", challenger))
        if e and e.run_url
    ]
    if links:
        lines += ["", f"**MLflow runs:** {' · '.join(links)}"]
    return "\n".join(lines)


def run_url(base_url: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run."""
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def _champion_label(champion: Evaluation | None) -> str:
    return "no champion (first version)" if champion is None else champion.label("champion")


def _metrics_table(champion: Evaluation | None, challenger: Evaluation) -> list[str]:
    keys = [key for key in METRIC_LABELS if key in challenger.metrics or (champion and key in champion.metrics)]
    others = sorted((set(challenger.metrics) | set(champion.metrics if champion else ())) - set(METRIC_LABELS))
    head = f"| metric | {_champion_label(champion)} | {challenger.label('challenger')} | change |"
    rows = [head, "| --- | ---: | ---: | ---: |"]
    for key in [*keys, *others]:
        ours = _metric(challenger, key)
        theirs = _metric(champion, key) if champion else None
        change = f"{ours - theirs:+.4f}" if ours is not None and theirs is not None else "-"
        rows.append(f"| {_inline(METRIC_LABELS.get(key, key))} | {_number(theirs)} | {_number(ours)} | {change} |")
    return rows


def _fairness_section(result: FairnessResult) -> list[str]:
    lines = [
        f"**Fairness** at score ≥ {result.threshold:.2f} on {result.rows} rows "
        f"(limits: demographic parity {result.max_demographic_parity_difference:.2f}, "
        f"equalized odds {result.max_equalized_odds_difference:.2f})",
        "",
        "| attribute | demographic parity difference | equalized odds difference | groups judged |",
        "| --- | ---: | ---: | ---: |",
    ]
    for attribute in result.attributes:
        cells = []
        for metric in (DEMOGRAPHIC_PARITY, EQUALIZED_ODDS):
            gap = attribute.gap(metric)
            if gap is None:
                cells.append("not judged")
                continue
            breach = any(b.attribute == attribute.attribute and b.metric == metric for b in result.breaches)
            text = f"{gap.value:.2f} ({_inline(gap.describe())})"
            cells.append(f"**{text}**" if breach else text)
        judged = sum(1 for group in attribute.groups if group.judged_parity)
        lines.append(
            f"| {_inline(attribute.attribute)} | {cells[0]} | {cells[1]} | {judged} of {len(attribute.groups)} |"
        )
    for attribute in result.attributes:
        small = attribute.not_judged
        if small:
            named = ", ".join(_inline(group.group) for group in small[:NAMED_SMALL_GROUPS])
            more = f" and {len(small) - NAMED_SMALL_GROUPS} more" if len(small) > NAMED_SMALL_GROUPS else ""
            lines += [
                "",
                f"{_inline(attribute.attribute)}: {len(small)} group(s) too small to judge for at least one gap "
                f"({named}{more}); a gap needs {result.min_rows} rows per group, or {result.min_per_label} "
                "positives and negatives for equalized odds.",
            ]
    return lines


def _metric(evaluation: Evaluation | None, key: str) -> float | None:
    if evaluation is None:
        return None
    value = evaluation.metrics.get(key)
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _inline(text: str) -> str:
    """Text safe inside a Markdown table cell or line: no pipes or line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")
