"""Group fairness of a classifier at its operating threshold, judged against ``FairnessPolicy``.

For each protected attribute of a model (``protected_attributes`` in ``governance/models.yaml``:
coarse groups derived in dbt, never raw personal data) fairlearn's ``MetricFrame`` gives, per
group, the rows, the positives, the selection rate (share flagged), the true positive rate
(recall) and the false positive rate of the decisions ``score >= operating_threshold``. Two gaps
are then compared with the policy:

- ``demographic_parity_difference``: the largest gap in selection rate between two groups;
- ``equalized_odds_difference``: the larger of the largest gaps in true and in false positive
  rate between two groups.

**Groups too small to judge.** A rate measured on a handful of rows is mostly noise, and the gap
between the extremes of many noisy groups is large even for a fair model. A group enters the
selection-rate gap only with at least ``min_rows`` rows (default 50: the standard error of a rate
is then at most 0.07), and the true/false positive rate gap only with at least ``min_per_label``
positives *and* negatives (default 20: a rate's standard error at most 0.11). Smaller groups are
reported with their rates and the reason, never judged; an attribute with fewer than two groups
large enough has no gap for that metric, which is reported as not judged (not as a pass).

Nothing here fails a task: :class:`FairnessResult` lists the breaches with reasons a person
understands, and :func:`scrollintel.ml.gates.check_fairness` turns them into a promotion check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from scrollintel.config.models import FairnessPolicy

#: Rows a group needs before its selection rate counts towards demographic parity.
MIN_ROWS = 50
#: Positives and negatives a group needs before its TPR and FPR count towards equalized odds.
MIN_PER_LABEL = 20
#: Value a missing protected attribute is grouped under (dbt already writes it for missing data).
UNKNOWN = "unknown"

DEMOGRAPHIC_PARITY = "demographic_parity_difference"
EQUALIZED_ODDS = "equalized_odds_difference"
#: How the reasons name each metric and rate.
METRIC_LABELS = {DEMOGRAPHIC_PARITY: "demographic parity difference", EQUALIZED_ODDS: "equalized odds difference"}
RATE_LABELS = {"selection_rate": "selection rate", "true_positive_rate": "TPR", "false_positive_rate": "FPR"}


@dataclass(frozen=True)
class GroupRates:
    """One group of one protected attribute: its size and rates, and whether it was judged."""

    attribute: str
    group: str
    rows: int
    positives: int
    selection_rate: float
    #: None when the group has no positives (or no negatives, for the false positive rate).
    true_positive_rate: float | None
    false_positive_rate: float | None
    judged_parity: bool
    judged_odds: bool
    #: Why the group was not judged (empty when it was, for both metrics).
    note: str = ""


@dataclass(frozen=True)
class Gap:
    """The largest gap of one metric across the judged groups of an attribute, and where it is."""

    metric: str
    value: float
    #: The rate the gap is in (``selection_rate``, ``true_positive_rate`` or ``false_positive_rate``).
    rate: str
    high_group: str
    high: float
    low_group: str
    low: float

    def describe(self) -> str:
        """``groups north 0.82 TPR vs south 0.51``."""
        label = RATE_LABELS[self.rate]
        return f"groups {self.high_group} {self.high:.2f} {label} vs {self.low_group} {self.low:.2f}"


@dataclass(frozen=True)
class Breach:
    """A gap above the policy's limit, with the sentence an approver reads."""

    attribute: str
    metric: str
    value: float
    limit: float
    reason: str


@dataclass(frozen=True)
class AttributeFairness:
    """The groups of one protected attribute and its two gaps (None: fewer than two groups judged)."""

    attribute: str
    groups: list[GroupRates]
    parity: Gap | None
    odds: Gap | None

    def gap(self, metric: str) -> Gap | None:
        """The gap of ``metric`` (:data:`DEMOGRAPHIC_PARITY` or :data:`EQUALIZED_ODDS`)."""
        return self.parity if metric == DEMOGRAPHIC_PARITY else self.odds

    @property
    def not_judged(self) -> list[GroupRates]:
        """Groups left out of at least one gap because they are too small."""
        return [group for group in self.groups if not (group.judged_parity and group.judged_odds)]


@dataclass(frozen=True)
class FairnessResult:
    """Fairness of one model on one evaluation set: per attribute, per group, and the breaches."""

    threshold: float
    max_demographic_parity_difference: float
    max_equalized_odds_difference: float
    min_rows: int
    min_per_label: int
    rows: int
    attributes: list[AttributeFairness]
    breaches: list[Breach] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No judged gap is above its limit."""
        return not self.breaches

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per attribute: both gaps (None = not judged), their limits, groups judged of all."""
        rows = []
        for attribute in self.attributes:
            judged = sum(1 for group in attribute.groups if group.judged_parity)
            rows.append(
                {
                    "attribute": attribute.attribute,
                    "groups": len(attribute.groups),
                    "groups_judged": judged,
                    DEMOGRAPHIC_PARITY: None if attribute.parity is None else attribute.parity.value,
                    "max_" + DEMOGRAPHIC_PARITY: self.max_demographic_parity_difference,
                    EQUALIZED_ODDS: None if attribute.odds is None else attribute.odds.value,
                    "max_" + EQUALIZED_ODDS: self.max_equalized_odds_difference,
                    "breach": any(breach.attribute == attribute.attribute for breach in self.breaches),
                }
            )
        return rows

    def group_rows(self) -> list[dict[str, Any]]:
        """One row per attribute and group (the full table)."""
        return [asdict(group) for attribute in self.attributes for group in attribute.groups]

    def summary_table(self) -> pd.DataFrame:
        """:meth:`summary_rows` as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.summary_rows())

    def group_table(self) -> pd.DataFrame:
        """:meth:`group_rows` as a DataFrame (to log as an artifact or show on the Model page)."""
        import pandas as pd

        return pd.DataFrame(self.group_rows())

    def notes(self) -> list[str]:
        """Sentences on what was not judged and why (empty when every group was judged)."""
        lines = []
        for attribute in self.attributes:
            for metric in (DEMOGRAPHIC_PARITY, EQUALIZED_ODDS):
                if attribute.gap(metric) is None:
                    lines.append(
                        f"{attribute.attribute}: {METRIC_LABELS[metric]} not judged: "
                        f"fewer than two groups large enough ({_minimum(metric, self.min_rows, self.min_per_label)})"
                    )
            small = attribute.not_judged
            if small:
                listed = ", ".join(f"{group.group} ({group.note})" for group in small)
                lines.append(f"{attribute.attribute}: groups too small to judge: {listed}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (XCom, ``mlflow.log_dict``); :meth:`from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessResult:
        """The result :meth:`as_dict` wrote."""
        attributes = [
            AttributeFairness(
                attribute=item["attribute"],
                groups=[GroupRates(**group) for group in item["groups"]],
                parity=Gap(**item["parity"]) if item.get("parity") else None,
                odds=Gap(**item["odds"]) if item.get("odds") else None,
            )
            for item in data["attributes"]
        ]
        return cls(
            threshold=data["threshold"],
            max_demographic_parity_difference=data["max_demographic_parity_difference"],
            max_equalized_odds_difference=data["max_equalized_odds_difference"],
            min_rows=data["min_rows"],
            min_per_label=data["min_per_label"],
            rows=data["rows"],
            attributes=attributes,
            breaches=[Breach(**breach) for breach in data.get("breaches", [])],
        )


def assess_fairness(
    y_true: Sequence[int] | Any,
    y_score: Sequence[float] | Any,
    protected: Mapping[str, Sequence[Any] | Any] | pd.DataFrame,
    policy: FairnessPolicy,
    threshold: float,
    *,
    min_rows: int = MIN_ROWS,
    min_per_label: int = MIN_PER_LABEL,
) -> FairnessResult:
    """Fairness of the decisions ``y_score >= threshold`` across each protected attribute.

    ``y_true``: labels (0/1); ``y_score``: the model's scores (probability of 1) for the same rows;
    ``protected``: per protected attribute, its group of each row (a DataFrame or a mapping of
    columns); a missing group is counted as :data:`UNKNOWN`. ``threshold``: the operating threshold
    (``training.operating_threshold``).
    """
    import numpy as np

    labels = np.asarray(y_true, dtype=int)
    scores = np.asarray(y_score, dtype=float)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"y_true and y_score must be two columns of one length, got {labels.shape} and {scores.shape}")
    if not set(np.unique(labels)) <= {0, 1}:
        raise ValueError("y_true must hold 0 and 1 only")
    if min_rows < 1 or min_per_label < 1:
        raise ValueError("min_rows and min_per_label must be at least 1")
    decisions = (scores >= threshold).astype(int)
    columns = {name: protected[name] for name in protected}
    attributes = []
    for name, values in columns.items():
        groups = _group_labels(values, len(labels), name)
        attributes.append(_attribute(name, labels, decisions, groups, minimum=(min_rows, min_per_label)))
    limits = {
        DEMOGRAPHIC_PARITY: policy.max_demographic_parity_difference,
        EQUALIZED_ODDS: policy.max_equalized_odds_difference,
    }
    breaches = [
        _breach(attribute.attribute, gap, limits[gap.metric])
        for attribute in attributes
        for gap in (attribute.parity, attribute.odds)
        if gap is not None and gap.value > limits[gap.metric]
    ]
    return FairnessResult(
        threshold=threshold,
        max_demographic_parity_difference=policy.max_demographic_parity_difference,
        max_equalized_odds_difference=policy.max_equalized_odds_difference,
        min_rows=min_rows,
        min_per_label=min_per_label,
        rows=len(labels),
        attributes=attributes,
        breaches=breaches,
    )


def _group_labels(values: Any, length: int, name: str) -> Any:
    import numpy as np
    import pandas as pd

    series = pd.Series(np.asarray(values, dtype=object))
    if len(series) != length:
        raise ValueError(f"protected attribute {name!r} has {len(series)} values for {length} rows")
    return series.where(series.notna(), UNKNOWN).astype(str).to_numpy()


def _positives(y_true: Any, y_pred: Any) -> int:
    return int(sum(y_true))


def _attribute(name: str, labels: Any, decisions: Any, groups: Any, *, minimum: tuple[int, int]) -> AttributeFairness:
    import numpy as np
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    frame = MetricFrame(
        metrics={
            "rows": count,
            "positives": _positives,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        },
        y_true=labels,
        y_pred=decisions,
        sensitive_features=groups,
    )
    min_rows, min_per_label = minimum
    rates = []
    for group, row in frame.by_group.iterrows():
        rows, positives = int(row["rows"]), int(row["positives"])
        negatives = rows - positives
        judged_parity = rows >= min_rows
        judged_odds = positives >= min_per_label and negatives >= min_per_label
        reasons = []
        if not judged_parity:
            reasons.append(f"{rows} rows < {min_rows}")
        if not judged_odds:
            reasons.append(f"{positives} positives / {negatives} negatives, each needs {min_per_label}")
        rates.append(
            GroupRates(
                attribute=name,
                group=str(group),
                rows=rows,
                positives=positives,
                selection_rate=float(row["selection_rate"]),
                true_positive_rate=float(row["true_positive_rate"]) if positives else None,
                false_positive_rate=float(row["false_positive_rate"]) if negatives else None,
                judged_parity=judged_parity,
                judged_odds=judged_odds,
                note="; ".join(reasons),
            )
        )

    parity_groups = [rate for rate in rates if rate.judged_parity]
    parity = None
    if len(parity_groups) >= 2:
        mask = np.isin(groups, [rate.group for rate in parity_groups])
        value = float(demographic_parity_difference(labels[mask], decisions[mask], sensitive_features=groups[mask]))
        parity = _gap(DEMOGRAPHIC_PARITY, value, parity_groups, "selection_rate")

    odds_groups = [rate for rate in rates if rate.judged_odds]
    odds = None
    if len(odds_groups) >= 2:
        mask = np.isin(groups, [rate.group for rate in odds_groups])
        value = float(equalized_odds_difference(labels[mask], decisions[mask], sensitive_features=groups[mask]))
        tpr = _gap(EQUALIZED_ODDS, value, odds_groups, "true_positive_rate")
        fpr = _gap(EQUALIZED_ODDS, value, odds_groups, "false_positive_rate")
        # name the rate whose gap is the worst case fairlearn reports
        odds = tpr if (tpr.high - tpr.low) >= (fpr.high - fpr.low) else fpr
    return AttributeFairness(attribute=name, groups=rates, parity=parity, odds=odds)


def _gap(metric: str, value: float, groups: Iterable[GroupRates], rate: str) -> Gap:
    by_rate = sorted(groups, key=lambda group: (getattr(group, rate), group.group))
    low, high = by_rate[0], by_rate[-1]
    return Gap(
        metric=metric,
        value=round(value, 6),
        rate=rate,
        high_group=high.group,
        high=float(getattr(high, rate)),
        low_group=low.group,
        low=float(getattr(low, rate)),
    )


def _breach(attribute: str, gap: Gap, limit: float) -> Breach:
    reason = f"{attribute}: {METRIC_LABELS[gap.metric]} {gap.value:.2f} > {limit:.2f} ({gap.describe()})"
    return Breach(attribute=attribute, metric=gap.metric, value=gap.value, limit=limit, reason=reason)


def _minimum(metric: str, min_rows: int, min_per_label: int) -> str:
    if metric == DEMOGRAPHIC_PARITY:
        return f"{min_rows} rows each"
    return f"{min_per_label} positives and {min_per_label} negatives each"


def format_rate(value: float | None) -> str:
    """A rate with two decimals, ``-`` when there is none."""
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"
