"""Training's pure parts: the time split and its folds never leak a snapshot, metrics at the threshold, errors."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.demo.churn_features import generate_churn_features, monthly_snapshots, snapshot_rows
from scrollintel.ml.training import (
    LABEL_HORIZON,
    TrainingError,
    content_digest,
    evaluate,
    feature_frame,
    fit,
    snapshot_folds,
    time_split,
    training_reason,
)
from tests.unit.conftest import REPO_GOVERNANCE

pytestmark = pytest.mark.unit

MONTHLY = monthly_snapshots(33)


def _row_snapshots(days: list[dt.date], rows: list[int]) -> Any:
    import numpy as np

    return np.repeat(np.array(days, dtype="datetime64[D]"), rows)


def test_the_newest_snapshot_is_held_out_and_label_windows_never_reach_it() -> None:
    split = time_split(list(reversed(MONTHLY)))  # any order in, dates out in order

    assert split.holdout == MONTHLY[-1] == dt.date(2025, 10, 1)
    assert split.train == tuple(MONTHLY[:-3])
    assert split.purged == (dt.date(2025, 8, 1), dt.date(2025, 9, 1))
    assert set(split.train).isdisjoint({split.holdout, *split.purged})
    assert all(day + LABEL_HORIZON <= split.holdout for day in split.train)
    assert all(day + LABEL_HORIZON > split.holdout for day in split.purged)


def test_a_table_with_one_snapshot_cannot_train() -> None:
    with pytest.raises(TrainingError, match=r"has 1 snapshot\(s\); training needs at least two"):
        time_split([dt.date(2025, 1, 1), dt.date(2025, 1, 1)])


def test_snapshots_all_inside_the_holdouts_label_window_cannot_train() -> None:
    with pytest.raises(TrainingError, match="no snapshot older than the holdout 2025-03-01 has a label window"):
        time_split(monthly_snapshots(3, dt.date(2025, 1, 1)))


def test_folds_train_on_earlier_whole_snapshots_and_score_on_later_ones() -> None:
    import numpy as np

    days = MONTHLY[:-3]  # the training snapshots of the demo-shaped table
    rows = snapshot_rows()[:-3]
    row_snapshots = _row_snapshots(days, rows)

    folds = snapshot_folds(row_snapshots, n_splits=3)

    assert len(folds) == 3
    scored: list[set[Any]] = []
    for train_idx, test_idx in folds:
        train_days, test_days = set(row_snapshots[train_idx]), set(row_snapshots[test_idx])
        assert train_days and test_days
        assert train_days.isdisjoint(test_days)
        # every row of a snapshot is on one side: no snapshot is split between train and test
        assert len(train_idx) == int(np.isin(row_snapshots, list(train_days)).sum())
        assert len(test_idx) == int(np.isin(row_snapshots, list(test_days)).sum())
        first_scored = min(test_days).astype(dt.date)
        assert all(day.astype(dt.date) + LABEL_HORIZON <= first_scored for day in train_days)
        scored.append(test_days)
    # consecutive blocks, each later than the one before, training sets growing
    assert all(max(a) < min(b) for a, b in itertools.pairwise(scored))
    assert [len(train) for train, _ in folds] == sorted(len(train) for train, _ in folds)
    # blocks of about equal rows: the table grows, so later blocks hold fewer snapshots
    test_rows = [len(test) for _, test in folds]
    assert max(test_rows) < 2 * min(test_rows)
    assert len(scored[0]) > len(scored[-1])


def test_too_few_snapshots_for_the_folds() -> None:
    days = monthly_snapshots(3)
    with pytest.raises(TrainingError, match=r"3 training snapshot\(s\) cannot make 3 time-ordered folds \(need 4\)"):
        snapshot_folds(_row_snapshots(days, [10, 10, 10]), n_splits=3)


def test_a_fold_without_earlier_labelled_snapshots() -> None:
    days = monthly_snapshots(4)
    with pytest.raises(TrainingError, match=r"fold 1 of 3 \(scored from 2023-03-01\) has no earlier snapshot"):
        snapshot_folds(_row_snapshots(days, [10, 10, 10, 10]), n_splits=3)


def test_metrics_at_the_operating_threshold() -> None:
    labels = [0, 0, 1, 1, 1, 0]
    scores = [0.1, 0.6, 0.7, 0.4, 0.9, 0.5]

    metrics = evaluate(labels, scores, threshold=0.5)

    # flagged (>= 0.5): rows 1, 2, 4, 5 -> true positives 2 and 4, false positives 1 and 5, missed 3
    assert metrics["recall_at_threshold"] == pytest.approx(2 / 3)
    assert metrics["precision_at_threshold"] == pytest.approx(2 / 4)
    assert metrics["flagged_share"] == pytest.approx(4 / 6)
    assert metrics["positive_rate"] == pytest.approx(0.5)
    assert metrics["roc_auc"] == pytest.approx(7 / 9)
    assert metrics["brier"] == pytest.approx(sum((s - y) ** 2 for s, y in zip(scores, labels, strict=True)) / 6)
    assert 0 < metrics["pr_auc"] <= 1 and metrics["log_loss"] > 0


def test_nobody_flagged_gives_zero_precision_not_an_error() -> None:
    metrics = evaluate([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], threshold=0.9)

    assert metrics["recall_at_threshold"] == metrics["precision_at_threshold"] == metrics["flagged_share"] == 0.0
    assert metrics["roc_auc"] == 0.75


def test_metrics_of_one_class_are_refused() -> None:
    with pytest.raises(TrainingError, match=r"the evaluation rows hold one class only \(3 rows\)"):
        evaluate([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.5)


def test_features_are_float_and_a_missing_column_is_named() -> None:
    frame = generate_churn_features([5, 5]).to_pandas()

    features = feature_frame(frame, ["tenure_days", "days_since_last_order"])

    assert list(features.columns) == ["tenure_days", "days_since_last_order"]
    assert set(features.dtypes.astype(str)) == {"float64"}
    with pytest.raises(TrainingError, match="the feature table has no column"):
        feature_frame(frame, ["tenure_days", "age_in_days", "shoe_size"])


def test_the_content_digest_follows_the_data() -> None:
    frame = generate_churn_features([20, 20], seed=1).to_pandas()
    same = generate_churn_features([20, 20], seed=1).to_pandas()
    changed = same.copy()
    changed.loc[3, "tenure_days"] += 1

    assert len(content_digest(frame)) == 32
    assert content_digest(frame) == content_digest(same)
    assert content_digest(frame) != content_digest(changed)


def test_a_period_without_churn_cannot_train() -> None:
    model = load_governance(REPO_GOVERNANCE).models.model("churn")
    frame = generate_churn_features([40] * 24, seed=2).to_pandas()
    frame["churn_label"] = 0
    frame.loc[frame.index[-5:], "churn_label"] = 1  # positives only in the holdout

    with pytest.raises(TrainingError, match="fold 1 of 3: its training snapshots hold one class only"):
        fit(frame, model)


def test_an_empty_table_cannot_train() -> None:
    model = load_governance(REPO_GOVERNANCE).models.model("churn")
    frame = generate_churn_features([]).to_pandas()

    with pytest.raises(TrainingError, match=r"the feature table marts\.ml_churn_features is empty"):
        fit(frame, model)


@pytest.mark.parametrize(
    ("champion", "run_type", "trains"),
    [
        (None, "asset_triggered", True),
        (None, "manual", True),
        ("3", "manual", True),
        ("3", "asset_triggered", False),
        ("3", "scheduled", False),
    ],
)
def test_when_a_training_run_trains(champion: str | None, run_type: str, trains: bool) -> None:
    reason = training_reason(champion, run_type)

    assert (reason is not None) == trains
    if champion is None:
        assert reason == "no version is champion yet: training the first one (it becomes champion)"
    elif trains:
        assert reason == "triggered by hand: training a challenger to champion version 3"
