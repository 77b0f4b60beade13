"""SHAP explanations of a fitted classifier: global importances and per-segment summaries.

**Which explainer, and what it costs.** Tree models (gradient boosting, random forests, extra
trees, decision trees) are explained with SHAP's ``TreeExplainer`` (exact Shapley values,
``tree_path_dependent``: no background sample, no randomness), bare, at the end of a
scikit-learn ``Pipeline``, in a ``CalibratedClassifierCV``, or both ways round
(``Pipeline([..., CalibratedClassifierCV(model)])`` or ``CalibratedClassifierCV(Pipeline([..., model]))``,
as training builds it):

- the pipeline steps before the model transform the rows, and the values are computed on the
  features the trees see, then summed back onto the input feature each transformed column comes
  from (``get_feature_names_out``: ``x``, ``num__x``, a one-hot ``x_a``);
- a ``CalibratedClassifierCV`` holds one fitted estimator per fold; each is explained and the
  values averaged, as the calibrated model averages their probabilities. Values are in the units
  of the trees' raw output (log-odds for gradient boosting, probability for forests), before
  calibration: calibration is monotone, so the ranking of features is the served model's.
- cost: linear in rows x trees x leaves x depth^2; 200 rows through 3 folds of 100-tree
  gradient boosting take about 1 s on 2 cores (measured while the machine was busy).

Linear models (logistic regression and the like: anything with ``coef_``), in the same wrappers,
are explained with SHAP's ``LinearExplainer`` (exact, ``coef x (x - mean)`` with the mean of the
explained rows as background; in log-odds for logistic regression); cost: rows x features.

Other models are refused with an error naming them. A model-agnostic explainer (SHAP's
permutation explainer on the calibrated probability) was measured and left out: with a 50-row
background it needs ``(2 x features + 1) x 50`` predictions per explained row (200 rows of the
churn features: 270,000 predictions through 3 calibrated folds, about 5 minutes on a busy 2-core
machine) plus about 10 s of numba compilation in every new process.

**Bounded and deterministic.** At most ``max_rows`` rows (default :data:`MAX_ROWS`) are explained,
drawn without replacement with ``numpy.random.default_rng(seed)``; both explainers are exact, so
the same data, model and seed give the same numbers.

**Segments.** Per protected attribute (age band, region), the mean |SHAP| of each feature within
each group: whether the model leans on different features for different groups. Groups with
fewer than :data:`MIN_SEGMENT_ROWS` explained rows are listed with their size but get no ranking.

Outputs: tidy DataFrames (:meth:`Explanation.summary_table`), a PNG bar chart
(:meth:`Explanation.plot`, matplotlib's Agg canvas, no display needed) and a JSON-ready dict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

#: Rows explained at most.
MAX_ROWS = 1000
#: Explained rows a segment needs before its features are ranked.
MIN_SEGMENT_ROWS = 30

TREE, LINEAR = "tree", "linear"
#: The scikit-learn estimators SHAP's TreeExplainer reads.
TREE_ESTIMATORS = (
    "HistGradientBoostingClassifier",
    "GradientBoostingClassifier",
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
)


@dataclass(frozen=True)
class Explanation:
    """SHAP summaries of one model on a sample of rows."""

    method: str
    #: What the values are in (``log-odds of the trees, before calibration``, ``probability``).
    output: str
    rows: int
    seed: int
    seconds: float
    #: feature, mean_abs_shap, mean_shap, share (of the total mean |SHAP|), rank (1 = most important).
    importance: pd.DataFrame
    #: attribute, group, rows, feature, mean_abs_shap, rank (None for a segment too small to rank).
    segments: pd.DataFrame

    def top_features(self, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` most important features with their mean |SHAP|, most important first."""
        head = self.importance.head(n)
        pairs = zip(head["feature"], head["mean_abs_shap"], strict=True)
        return [(str(feature), float(value)) for feature, value in pairs]

    def top_by_segment(self, n: int = 3) -> pd.DataFrame:
        """Per attribute and group: its rows and its ``n`` most important features (``a, b, c``)."""
        import pandas as pd

        rows = []
        for (attribute, group), part in self.segments.groupby(["attribute", "group"], sort=True):
            size = int(part["rows"].iloc[0])
            ranked = part.dropna(subset=["rank"]).sort_values("rank")
            too_few = f"not ranked: {size} rows < {MIN_SEGMENT_ROWS}"
            top = ", ".join(ranked["feature"].head(n)) if len(ranked) else too_few
            rows.append({"attribute": attribute, "group": group, "rows": size, "top_features": top})
        return pd.DataFrame(rows, columns=["attribute", "group", "rows", "top_features"])

    def summary_table(self) -> pd.DataFrame:
        """One tidy table: the global importances (attribute and group ``all``) then every segment's."""
        import pandas as pd

        overall = self.importance.assign(attribute="all", group="all", rows=self.rows)
        columns = ["attribute", "group", "rows", "feature", "mean_abs_shap", "rank"]
        return pd.concat([overall[columns], self.segments[columns]], ignore_index=True)

    def plot(self, path: str | Path, *, top: int = 15, title: str | None = None) -> Path:
        """A horizontal bar chart of the global mean |SHAP| (``top`` features) written as PNG to ``path``."""
        from matplotlib.figure import Figure

        head = self.importance.head(top).iloc[::-1]
        figure = Figure(figsize=(7, 0.4 * len(head) + 1.4), dpi=110)
        axes = figure.subplots()
        axes.barh(head["feature"], head["mean_abs_shap"], color="#2563eb")
        axes.set_xlabel(f"mean |SHAP value| ({self.output})")
        axes.set_title(title or f"Feature importance ({self.method} SHAP, {self.rows} rows)")
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, format="png", metadata={"Software": None})
        return target

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (XCom, ``mlflow.log_dict``)."""
        return {
            "method": self.method,
            "output": self.output,
            "rows": self.rows,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
            "importance": self.importance.to_dict(orient="records"),
            "segments": self.segments.astype(object).where(self.segments.notna(), None).to_dict(orient="records"),
        }


def explain_model(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[str],
    *,
    protected: Sequence[str] = (),
    seed: int = 0,
    max_rows: int = MAX_ROWS,
) -> Explanation:
    """SHAP importances of ``model`` (a fitted classifier or Pipeline) on rows of ``frame``.

    ``features``: the model's input columns, in the order it was fitted on; ``protected``: columns
    of ``frame`` to summarise per group (not model inputs). At most ``max_rows`` rows are
    explained (see the module docstring for the explainer used and its cost).
    """
    import numpy as np

    missing = [column for column in [*features, *protected] if column not in frame.columns]
    if missing:
        raise ValueError(f"columns missing from the rows to explain: {', '.join(missing)}")
    if frame.empty:
        raise ValueError("no rows to explain")
    started = time.perf_counter()
    paths, calibrated = _paths(model)
    method = _method([estimator for _, estimator in paths])
    sample = _sample(frame, max_rows, seed)
    inputs = sample[list(features)]
    per_path = []
    for steps, estimator in paths:
        transformed, names = _transform(steps, inputs, list(features))
        raw, kind = _shap_values(method, estimator, transformed)
        per_path.append(_fold_back(raw, names, list(features)))
    # the calibrated model averages its folds' probabilities: their explanations are averaged alike
    values = np.mean(per_path, axis=0)
    output = f"{kind}, before calibration" if calibrated else kind
    importance = _importance(values, list(features))
    segments = _segments(values, list(features), sample, protected)
    seconds = time.perf_counter() - started
    log.info("explained %d rows with %s SHAP in %.1f s", len(sample), method, seconds)
    return Explanation(
        method=method,
        output=output,
        rows=len(sample),
        seed=seed,
        seconds=seconds,
        importance=importance,
        segments=segments,
    )


def _split(model: Any) -> tuple[list[Any], Any]:
    """(the fitted steps before the estimator, the final estimator) of a Pipeline, or ([], model)."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return [step for _, step in model.steps[:-1] if step not in (None, "passthrough")], model.steps[-1][1]
    return [], model


def _paths(model: Any) -> tuple[list[tuple[list[Any], Any]], bool]:
    """Per estimator that predicts (one per calibration fold): the steps its input goes through, and it.

    Handles ``Pipeline(..., CalibratedClassifierCV(estimator))`` and ``CalibratedClassifierCV(Pipeline(...))``
    alike; the second says whether the prediction is calibrated.
    """
    from sklearn.calibration import CalibratedClassifierCV

    outer, final = _split(model)
    if not isinstance(final, CalibratedClassifierCV):
        return [(outer, final)], False
    paths = []
    for fold in final.calibrated_classifiers_:
        inner, estimator = _split(fold.estimator)
        paths.append(([*outer, *inner], estimator))
    return paths, True


def _method(estimators: list[Any]) -> str:
    names = {type(estimator).__name__ for estimator in estimators}
    if names <= set(TREE_ESTIMATORS):
        return TREE
    if all(hasattr(estimator, "coef_") and hasattr(estimator, "intercept_") for estimator in estimators):
        return LINEAR
    raise ValueError(
        f"cannot explain {', '.join(sorted(names))}: SHAP summaries are computed for tree models "
        f"({', '.join(TREE_ESTIMATORS)}) and linear models, bare, in a Pipeline or in CalibratedClassifierCV"
    )


def _sample(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    import numpy as np

    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    positions = np.sort(np.random.default_rng(seed).choice(len(frame), size=limit, replace=False))
    return frame.iloc[positions].reset_index(drop=True)


def _transform(steps: list[Any], inputs: pd.DataFrame, features: list[str]) -> tuple[Any, list[str]]:
    """The rows as the estimator sees them, and the name of each of its columns."""
    data: Any = inputs
    names = list(features)
    for step in steps:
        data = step.transform(data)
        names = _names_out(step, data, names)
    if hasattr(data, "toarray"):  # sparse one-hot output
        data = data.toarray()
    return data, names


def _names_out(step: Any, data: Any, names_in: list[str]) -> list[str]:
    width = data.shape[1]
    if hasattr(data, "columns"):
        return [str(name) for name in data.columns]
    try:
        names = [str(name) for name in step.get_feature_names_out(names_in)]
    except (AttributeError, ValueError, TypeError):
        names = []
    if len(names) == width:
        return names
    if width == len(names_in):  # a step without names that keeps one column per input
        return list(names_in)
    raise ValueError(
        f"cannot tell which input feature each of the {width} columns out of {type(step).__name__} comes from: "
        "give every pipeline step get_feature_names_out"
    )


def _shap_values(method: str, estimator: Any, transformed: Any) -> tuple[Any, str]:
    """SHAP values of the positive class on the rows the estimator sees, and their unit."""
    import numpy as np
    import shap

    matrix = np.asarray(transformed, dtype=float)
    if method == TREE:
        explainer: Any = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
    else:
        explainer = shap.LinearExplainer(estimator, shap.maskers.Independent(matrix, max_samples=len(matrix)))
    values = np.asarray(explainer.shap_values(matrix))
    if values.ndim == 3:  # (rows, features, classes): the positive class
        values = values[:, :, -1]
    name = type(estimator).__name__
    if "GradientBoosting" in name or name == "LogisticRegression":
        kind = "log-odds"
    else:
        kind = "probability" if method == TREE else "decision score"
    return values, f"{kind} of the {'trees' if method == TREE else 'linear model'}"


def _source_feature(name: str, features: list[str]) -> str:
    """The input feature a transformed column comes from: ``x``, ``num__x``, ``x_a`` (one-hot), ``num__x_a``."""
    bare = name.split("__", 1)[1] if "__" in name else name
    if bare in features:
        return bare
    candidates = [feature for feature in features if bare.startswith(f"{feature}_")]
    if candidates:
        return max(candidates, key=len)
    return name


def _fold_back(values: np.ndarray, names: list[str], features: list[str]) -> np.ndarray:
    """Sum the SHAP values of transformed columns onto their input features (additivity keeps the total)."""
    import numpy as np

    index = {feature: position for position, feature in enumerate(features)}
    folded = np.zeros((values.shape[0], len(features)))
    for column, name in enumerate(names):
        source = _source_feature(name, features)
        if source not in index:
            raise ValueError(f"transformed column {name!r} comes from no input feature ({', '.join(features)})")
        folded[:, index[source]] += values[:, column]
    return folded


def _importance(values: np.ndarray, features: list[str]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    mean_abs = np.abs(values).mean(axis=0)
    total = float(mean_abs.sum()) or 1.0
    table = pd.DataFrame(
        {
            "feature": features,
            "mean_abs_shap": mean_abs,
            "mean_shap": values.mean(axis=0),
            "share": mean_abs / total,
        }
    )
    # ties broken by name, so equal values give one order
    table = table.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="mergesort")
    table["rank"] = range(1, len(table) + 1)
    return table.reset_index(drop=True)


def _segments(values: np.ndarray, features: list[str], sample: pd.DataFrame, protected: Sequence[str]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rows = []
    for attribute in protected:
        groups = sample[attribute].astype(object).where(sample[attribute].notna(), "unknown").astype(str).to_numpy()
        for group in sorted(set(groups)):
            mask = groups == group
            size = int(mask.sum())
            mean_abs = np.abs(values[mask]).mean(axis=0)
            order = sorted(range(len(features)), key=lambda i: (-mean_abs[i], features[i]))
            ranks = {position: rank for rank, position in enumerate(order, start=1)}
            for position, feature in enumerate(features):
                rows.append(
                    {
                        "attribute": attribute,
                        "group": group,
                        "rows": size,
                        "feature": feature,
                        "mean_abs_shap": float(mean_abs[position]),
                        "rank": ranks[position] if size >= MIN_SEGMENT_ROWS else None,
                    }
                )
    columns = ["attribute", "group", "rows", "feature", "mean_abs_shap", "rank"]
    table = pd.DataFrame(rows, columns=columns)
    table["rank"] = table["rank"].astype("Int64")
    return table
