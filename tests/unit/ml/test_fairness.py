"""Fairness at the operating threshold: planted bias breaches and names the groups; small groups are not judged."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from scrollintel.config.loader import load_governance
from scrollintel.ml.fairness import (
    DEMOGRAPHIC_PARITY,
    EQUALIZED_ODDS,
    UNKNOWN,
    FairnessResult,
    assess_fairness,
)

pytestmark = pytest.mark.unit

POLICY = load_governance().model("churn").fairness  # parity 0.2, equalized odds 0.25
THRESHOLD = 0.5


def _population(seed: int = 7) -> pd.DataFrame:
    """Two large regions and a small one; the true label depends on x only."""
    rng = np.random.default_rng(seed)
    region = np.array(["north"] * 1200 + ["south"] * 1200 + ["islands"] * 24)
    x = rng.normal(size=len(region))
    churned = (x + rng.normal(scale=0.5, size=len(region)) > 0.6).astype(int)
    return pd.DataFrame({"x": x, "region": region, "south": (region == "south").astype(int), "churned": churned})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _population()


def _scores(model: Any, frame: pd.DataFrame, columns: list[str]) -> Any:
    return model.predict_proba(frame[columns])[:, 1]


def test_a_model_that_learnt_recorded_bias_breaches_equalized_odds_and_names_the_groups(data: pd.DataFrame) -> None:
    # in the south, two in three churners were recorded as staying: the model learns to miss them
    rng = np.random.default_rng(1)
    recorded = data["churned"].to_numpy().copy()
    hidden = (data["region"] == "south").to_numpy() & (recorded == 1) & (rng.random(len(data)) < 0.67)
    recorded[hidden] = 0
    model = LogisticRegression().fit(data[["x", "south"]], recorded)

    result = assess_fairness(data["churned"], _scores(model, data, ["x", "south"]), data[["region"]], POLICY, THRESHOLD)

    assert not result.passed
    odds = next(breach for breach in result.breaches if breach.metric == EQUALIZED_ODDS)
    assert odds.attribute == "region" and odds.value > POLICY.max_equalized_odds_difference
    assert odds.reason.startswith("region: equalized odds difference ")
    assert "> 0.25 (groups north " in odds.reason and " TPR vs south " in odds.reason
    region = result.attributes[0]
    assert region.odds is not None and (region.odds.high_group, region.odds.low_group) == ("north", "south")
    rates = {group.group: group for group in region.groups}
    assert rates["north"].true_positive_rate is not None and rates["south"].true_positive_rate is not None
    assert rates["north"].true_positive_rate - rates["south"].true_positive_rate == pytest.approx(odds.value)


def test_a_model_of_the_true_signal_passes(data: pd.DataFrame) -> None:
    model = LogisticRegression().fit(data[["x"]], data["churned"])

    result = assess_fairness(data["churned"], _scores(model, data, ["x"]), data[["region"]], POLICY, THRESHOLD)

    assert result.passed, [breach.reason for breach in result.breaches]
    region = result.attributes[0]
    assert region.parity is not None and region.parity.value < POLICY.max_demographic_parity_difference
    assert region.odds is not None and region.odds.value < POLICY.max_equalized_odds_difference
    table = result.summary_table()
    assert list(table["attribute"]) == ["region"] and not table["breach"].any()
    assert set(result.group_table()["group"]) == {"north", "south", "islands"}


def test_small_groups_are_reported_with_their_rates_but_not_judged(data: pd.DataFrame) -> None:
    scores = np.where(data["region"] == "islands", 1.0, np.where(data["churned"] == 1, 0.9, 0.1))

    result = assess_fairness(data["churned"], scores, data[["region"]], POLICY, THRESHOLD)

    # the islands flag everyone (selection rate 1.0, FPR 1.0), but 24 rows cannot be judged
    assert result.passed
    islands = next(group for group in result.attributes[0].groups if group.group == "islands")
    assert (islands.rows, islands.selection_rate, islands.judged_parity, islands.judged_odds) == (24, 1.0, False, False)
    assert "24 rows < 50" in islands.note and "each needs 20" in islands.note
    region = result.attributes[0]
    assert region.parity is not None and {region.parity.high_group, region.parity.low_group} == {"north", "south"}
    assert any(line.startswith("region: groups too small to judge: islands (24 rows < 50") for line in result.notes())


def test_an_attribute_with_one_group_large_enough_is_not_judged(data: pd.DataFrame) -> None:
    # north, and 60 groups of about 20 rows
    big = data["region"].where(data["region"] == "north", "tiny-" + (pd.Series(range(len(data))) % 60).astype(str))

    result = assess_fairness(data["churned"], np.full(len(data), 0.9), {"region": big}, POLICY, THRESHOLD)

    assert result.passed
    assert result.attributes[0].parity is None and result.attributes[0].odds is None
    assert "region: demographic parity difference not judged: fewer than two groups large enough (50 rows each)" in (
        result.notes()
    )


def test_missing_groups_are_unknown_and_the_result_survives_json(data: pd.DataFrame) -> None:
    groups = data["region"].astype(object).where(data["region"] != "islands", None)

    result = assess_fairness(data["churned"], np.full(len(data), 0.2), {"region": groups}, POLICY, THRESHOLD)

    assert {group.group for group in result.attributes[0].groups} == {"north", "south", UNKNOWN}
    assert FairnessResult.from_dict(json.loads(json.dumps(result.as_dict()))) == result
    assert result.summary_rows()[0][DEMOGRAPHIC_PARITY] == 0.0


def test_inputs_of_different_lengths_or_labels_other_than_0_and_1_are_refused() -> None:
    with pytest.raises(ValueError, match=r"y_true and y_score must be two columns of one length"):
        assess_fairness([0, 1], [0.1], {"region": ["a", "b"]}, POLICY, THRESHOLD)
    with pytest.raises(ValueError, match=r"y_true must hold 0 and 1 only"):
        assess_fairness([0, 2], [0.1, 0.2], {"region": ["a", "b"]}, POLICY, THRESHOLD)
    with pytest.raises(ValueError, match=r"protected attribute 'region' has 1 values for 2 rows"):
        assess_fairness([0, 1], [0.1, 0.2], {"region": ["a"]}, POLICY, THRESHOLD)
