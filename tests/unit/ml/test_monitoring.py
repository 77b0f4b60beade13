"""Monitoring results in words, verdicts, run ids and Evidently's snapshot read back (no database, no MLflow)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from scrollintel.ml import monitoring, tracking
from scrollintel.ml.monitoring import (
    ChampionReference,
    DecayResult,
    DriftResult,
    FeatureDrift,
    MonitoringError,
    MonitoringResult,
    RunContext,
)

pytestmark = pytest.mark.unit

DAY = dt.date(2025, 8, 1)
CHAMPION = ChampionReference("churn", 3, "run-3", (dt.date(2025, 1, 1), dt.date(2025, 2, 1)), dt.date(2025, 7, 1), 0.79)


def drift(statistics: dict[str, float], limit: float = 0.3) -> DriftResult:
    items = tuple(FeatureDrift(name, "wasserstein", value, 0.1, value >= 0.1) for name, value in statistics.items())
    share = sum(item.drifted for item in items) / len(items)
    return DriftResult(items, share, limit, share >= limit, 9000, 1500)


def decay(auc: float | None, *, rows: int = 1204, why: str | None = None) -> DecayResult:
    decayed = auc is not None and 0.79 - auc > 0.05
    return DecayResult((DAY,), rows, auc, 0.79, 0.05, decayed, why)


def result(drift_result: DriftResult, decay_result: DecayResult) -> MonitoringResult:
    return MonitoringResult("id-1", "churn", CHAMPION, DAY, drift_result, decay_result)


NO_DRIFT = {"tenure_days": 0.02, "revenue_90d": 0.04, "orders_90d": 0.01}


def test_drift_names_the_drifted_features_largest_first_with_the_share_and_limit() -> None:
    stats = {f"f{i}": 0.01 for i in range(6)} | {"revenue_90d": 0.4, "orders_90d": 1.2, "tenure_days": 0.1}
    stats |= {"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.15}
    assert len(stats) == 13
    assert drift(stats).describe() == (
        "7 of 13 features drifted (54% ≥ 30%): orders_90d, a, revenue_90d, b, c, d, tenure_days"
    )
    assert drift(NO_DRIFT).describe() == "0 of 3 features drifted (0% < 30%)"


def test_shares_are_rounded_only_as_far_as_the_comparison_stays_visible() -> None:
    assert monitoring._percentages(0.3, 0.3) == ("30%", "30%")
    assert monitoring._percentages(0.2996, 0.3) == ("29.96%", "30.00%")
    assert monitoring._percentages(4 / 13, 0.3) == ("31%", "30%")


def test_decay_says_how_far_below_or_above_the_champion_and_the_limit() -> None:
    assert decay(0.71).describe() == (
        "ROC AUC on 1,204 newly labelled rows 0.71, 0.08 below the champion's 0.79 (limit 0.05)"
    )
    assert decay(0.81).describe() == (
        "ROC AUC on 1,204 newly labelled rows 0.81, 0.02 above the champion's 0.79 (limit 0.05)"
    )
    assert decay(None, rows=0, why="no row labelled after the champion's holdout snapshot 2025-07-01").describe() == (
        "decay not measured: no row labelled after the champion's holdout snapshot 2025-07-01"
    )


@pytest.mark.parametrize(
    ("stats", "auc", "verdict"),
    [
        (NO_DRIFT, 0.78, "ok"),
        ({"tenure_days": 0.5, "revenue_90d": 0.04, "orders_90d": 0.01}, 0.78, "drift"),
        (NO_DRIFT, 0.70, "decay"),
        ({"tenure_days": 0.5, "revenue_90d": 0.04, "orders_90d": 0.01}, 0.70, "drift_and_decay"),
    ],
)
def test_verdicts(stats: dict[str, float], auc: float, verdict: str) -> None:
    found = result(drift(stats), decay(auc))
    assert found.verdict == verdict
    assert found.retrain == (verdict != "ok")


def test_the_reason_puts_what_passed_its_threshold_first() -> None:
    decayed = result(drift(NO_DRIFT), decay(0.70))
    assert decayed.reason == (
        "ROC AUC on 1,204 newly labelled rows 0.70, 0.09 below the champion's 0.79 (limit 0.05); "
        "0 of 3 features drifted (0% < 30%)"
    )
    fine = result(drift(NO_DRIFT), decay(0.78))
    assert fine.reason == (
        "no drift or decay past its threshold: 0 of 3 features drifted (0% < 30%); "
        "ROC AUC on 1,204 newly labelled rows 0.78, 0.01 below the champion's 0.79 (limit 0.05)"
    )
    summary = decayed.summary()
    assert summary["verdict"] == "decay" and summary["reason"] == decayed.reason
    assert summary["monitoring_run_id"] == "id-1" and summary["champion_version"] == 3


def test_a_dag_run_keeps_its_monitoring_run_id_across_tries() -> None:
    first = RunContext("ml_churn_monitor", "scheduled__2026-01-02", "monitor").monitoring_run_id("churn")
    retry = RunContext("ml_churn_monitor", "scheduled__2026-01-02", "monitor", "other").monitoring_run_id("churn")
    assert first == retry
    assert RunContext("ml_churn_monitor", "scheduled__2026-01-03").monitoring_run_id("churn") != first
    assert RunContext("ml_churn_monitor", "scheduled__2026-01-02").monitoring_run_id("other") != first
    assert RunContext().monitoring_run_id("churn") != RunContext().monitoring_run_id("churn")


def test_the_champion_reference_survives_xcom() -> None:
    assert ChampionReference.from_dict(CHAMPION.as_dict()) == CHAMPION
    bare = ChampionReference("churn", 1, "r", (DAY,), None, None)
    assert ChampionReference.from_dict(bare.as_dict()) == bare


def _snapshot(columns: list[str], failed: set[str], share: float, dataset_failed: bool) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = [
        {"id": "count", "config": {"type": "evidently:metric_v2:DriftedColumnsCount"}, "value": {"share": share}}
    ]
    tests = [{"metric_config": {"metric_id": "count"}, "status": "FAIL" if dataset_failed else "SUCCESS"}]
    for column in columns:
        metrics.append(
            {
                "id": f"m-{column}",
                "config": {
                    "type": "evidently:metric_v2:ValueDrift",
                    "column": column,
                    "method": "wasserstein",
                    "threshold": 0.1,
                },
                "value": 0.5 if column in failed else 0.01,
            }
        )
        status = "FAIL" if column in failed else "SUCCESS"
        tests.append({"metric_config": {"metric_id": f"m-{column}"}, "status": status})
    return {"metrics": metrics, "tests": tests}


def test_evidentlys_tests_decide_what_drifted() -> None:
    read = monitoring._drift_result(_snapshot(["a", "b", "c"], {"b"}, 1 / 3, True), ["a", "b", "c"], 0.3, 10, 5)
    assert [item.feature for item in read.drifted] == ["b"]
    assert read.dataset_drifted and read.share == pytest.approx(1 / 3)
    assert [item.feature for item in read.features] == ["a", "b", "c"]


def test_a_feature_missing_from_evidentlys_report_is_an_error() -> None:
    with pytest.raises(MonitoringError, match=r"^Evidently's drift report has no result for c$"):
        monitoring._drift_result(_snapshot(["a", "b"], set(), 0.0, False), ["a", "b", "c"], 0.3, 10, 5)


def test_the_retrain_asset_has_one_name_and_uri() -> None:
    asset = tracking.retrain_requested_asset("churn")
    assert (asset.name, asset.uri) == (
        "models.churn.retrain_requested",
        "x-scrollintel://models/churn/retrain-requested",
    )
    assert tracking.retrain_requested_asset_uri("churn") == asset.uri
