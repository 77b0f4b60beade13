"""SHAP explanations: a planted strong feature ranks first, the same seed gives the same numbers, segments and chart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scrollintel.ml.explain import LINEAR, MIN_SEGMENT_ROWS, TREE, explain_model

pytestmark = pytest.mark.unit

FEATURES = ["tenure_days", "failed_payments_90d", "orders_90d", "noise"]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Churn driven mostly by failed payments, a little by orders; some missing values; two protected columns."""
    rng = np.random.default_rng(3)
    n = 1000
    frame = pd.DataFrame(
        {
            "tenure_days": rng.integers(0, 900, n).astype(float),
            "failed_payments_90d": rng.poisson(1.0, n).astype(float),
            "orders_90d": rng.poisson(3.0, n).astype(float),
            "noise": rng.normal(size=n),
            "age_band": rng.choice(["18-24", "25-34", "65+"], n),
            "region": np.where(rng.random(n) < 0.02, "islands", rng.choice(["north", "south"], n)),
        }
    )
    logit = 1.8 * frame["failed_payments_90d"] - 0.3 * frame["orders_90d"] - 1.5
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.random(n) < 0.05, "orders_90d"] = np.nan
    return frame


@pytest.fixture(scope="module")
def calibrated(rows: pd.DataFrame) -> Pipeline:
    """As training builds it: imputation, then gradient boosting calibrated over 3 folds."""
    model = CalibratedClassifierCV(HistGradientBoostingClassifier(max_iter=30, random_state=0), cv=3)
    pipeline = Pipeline([("impute", SimpleImputer(strategy="median")), ("model", model)])
    return pipeline.fit(rows[FEATURES], rows["churned"])


def test_the_planted_strong_feature_ranks_first_through_calibration_in_a_pipeline(
    rows: pd.DataFrame, calibrated: Pipeline
) -> None:
    explanation = explain_model(calibrated, rows, FEATURES, protected=["age_band", "region"], seed=1, max_rows=400)

    assert explanation.method == TREE and explanation.rows == 400
    assert explanation.output == "log-odds of the trees, before calibration"
    assert explanation.top_features(1)[0][0] == "failed_payments_90d"
    importance = explanation.importance.set_index("feature")
    assert importance.loc["failed_payments_90d", "mean_abs_shap"] > 3 * importance.loc["noise", "mean_abs_shap"]
    assert importance["share"].sum() == pytest.approx(1.0)
    assert list(explanation.importance["rank"]) == [1, 2, 3, 4]


def test_the_same_seed_gives_the_same_numbers_and_another_seed_another_sample(
    rows: pd.DataFrame, calibrated: Pipeline
) -> None:
    first = explain_model(calibrated, rows, FEATURES, protected=["region"], seed=5, max_rows=300)
    again = explain_model(calibrated, rows, FEATURES, protected=["region"], seed=5, max_rows=300)
    other = explain_model(calibrated, rows, FEATURES, protected=["region"], seed=6, max_rows=300)

    pd.testing.assert_frame_equal(first.importance, again.importance)
    pd.testing.assert_frame_equal(first.segments, again.segments)
    assert not np.allclose(first.importance["mean_abs_shap"], other.importance["mean_abs_shap"])


def test_segments_rank_features_per_group_and_leave_small_groups_unranked(
    rows: pd.DataFrame, calibrated: Pipeline
) -> None:
    explanation = explain_model(calibrated, rows, FEATURES, protected=["age_band", "region"], seed=1, max_rows=600)

    top = explanation.top_by_segment(2).set_index(["attribute", "group"])
    assert set(top.index) == {("age_band", "18-24"), ("age_band", "25-34"), ("age_band", "65+"),
                              ("region", "islands"), ("region", "north"), ("region", "south")}  # fmt: skip
    assert top.loc[("region", "north"), "top_features"].startswith("failed_payments_90d, ")
    islands = int(top.loc[("region", "islands"), "rows"])
    assert islands < MIN_SEGMENT_ROWS
    assert top.loc[("region", "islands"), "top_features"] == f"not ranked: {islands} rows < {MIN_SEGMENT_ROWS}"
    table = explanation.summary_table()
    assert list(table.columns) == ["attribute", "group", "rows", "feature", "mean_abs_shap", "rank"]
    assert len(table) == len(FEATURES) * (1 + 6)
    assert table.iloc[0]["attribute"] == "all" and table.iloc[0]["feature"] == "failed_payments_90d"


def test_the_chart_is_a_png_and_the_explanation_is_json_ready(
    rows: pd.DataFrame, calibrated: Pipeline, tmp_path: Path
) -> None:
    explanation = explain_model(calibrated, rows, FEATURES, protected=["region"], seed=1, max_rows=200)

    path = explanation.plot(tmp_path / "charts" / "shap_importance.png")

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(json.dumps(explanation.as_dict()))
    assert data["method"] == TREE and data["importance"][0]["feature"] == "failed_payments_90d"
    assert any(segment["rank"] is None for segment in data["segments"])  # the islands


def test_a_calibrated_pipeline_as_training_builds_it_is_explained_per_fold(rows: pd.DataFrame) -> None:
    # CalibratedClassifierCV around Pipeline(column selector, gradient boosting): one pipeline per fold
    select = ColumnTransformer(
        [("features", "passthrough", FEATURES)], remainder="drop", verbose_feature_names_out=False
    )
    pipeline = Pipeline([("select", select), ("model", HistGradientBoostingClassifier(max_iter=20, random_state=0))])
    model = CalibratedClassifierCV(pipeline, cv=2).fit(rows[[*FEATURES, "region"]], rows["churned"])

    explanation = explain_model(model, rows, FEATURES, protected=["region"], seed=1, max_rows=300)

    assert explanation.method == TREE and explanation.output == "log-odds of the trees, before calibration"
    assert explanation.top_features(1)[0][0] == "failed_payments_90d"
    assert list(explanation.importance["feature"].sort_values()) == sorted(FEATURES)


def test_one_hot_columns_fold_back_onto_their_input_feature(rows: pd.DataFrame) -> None:
    features = ["failed_payments_90d", "noise", "age_band"]
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(), ["age_band"]), ("num", "passthrough", ["failed_payments_90d", "noise"])]
    )
    model = Pipeline([("encode", encode), ("model", HistGradientBoostingClassifier(max_iter=20, random_state=0))])
    model.fit(rows[features], rows["churned"])

    explanation = explain_model(model, rows, features, seed=0, max_rows=200)

    assert explanation.importance["feature"].iloc[0] == "failed_payments_90d"
    assert set(explanation.importance["feature"]) == set(features)
    assert explanation.output == "log-odds of the trees"


def test_a_calibrated_linear_model_is_explained_exactly_too(rows: pd.DataFrame) -> None:
    features = ["failed_payments_90d", "noise"]
    model = Pipeline([("scale", StandardScaler()), ("model", CalibratedClassifierCV(LogisticRegression(), cv=3))])
    model.fit(rows[features], rows["churned"])

    explanation = explain_model(model, rows, features, seed=2, max_rows=300)

    assert explanation.method == LINEAR
    assert explanation.output == "log-odds of the linear model, before calibration"
    assert explanation.top_features(1)[0][0] == "failed_payments_90d"


def test_a_model_that_is_neither_tree_nor_linear_is_refused_naming_it(rows: pd.DataFrame) -> None:
    model = KNeighborsClassifier().fit(rows[["noise"]], rows["churned"])

    with pytest.raises(ValueError, match=r"^cannot explain KNeighborsClassifier: SHAP summaries are computed for tree"):
        explain_model(model, rows, ["noise"])


def test_missing_columns_and_empty_rows_are_refused(rows: pd.DataFrame, calibrated: Pipeline) -> None:
    with pytest.raises(ValueError, match=r"columns missing from the rows to explain: tenure_days, region"):
        explain_model(calibrated, rows.drop(columns=["tenure_days", "region"]), FEATURES, protected=["region"])
    with pytest.raises(ValueError, match=r"no rows to explain"):
        explain_model(calibrated, rows.head(0), FEATURES)
