"""Forecast and anomaly functions on series with known answers."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from scrollintel.cost.forecast import anomalies, forecast_month_end, month_end, robust_z

pytestmark = pytest.mark.unit

START = date(2026, 9, 1)


def series(values: list[float], start: date = START) -> list[tuple[date, float]]:
    return [(start + timedelta(days=offset), value) for offset, value in enumerate(values)]


def test_a_constant_cost_forecasts_itself_without_spread() -> None:
    forecast = forecast_month_end(series([10.0] * 50), date(2026, 10, 20))
    # 20 days in October so far, 11 to go, nothing varies: the mean method, a zero-width interval
    assert forecast.method == "mean"
    assert (forecast.actual_to_date, forecast.expected, forecast.lower, forecast.upper) == (200, 310, 310, 310)
    assert forecast.days_left == 11 and len(forecast.daily) == 11


def test_noisy_flat_cost_is_forecast_with_an_interval_that_contains_the_truth() -> None:
    rng = random.Random(7)
    values = [100 + rng.gauss(0, 8) for _ in range(45)]
    as_of = START + timedelta(days=44)  # 15 October, 16 days to go
    forecast = forecast_month_end(series(values), as_of)
    assert forecast.method == "ets"
    expected_total = sum(values[-15:]) + 100 * 16
    assert forecast.lower < expected_total < forecast.upper
    assert abs(forecast.expected - expected_total) < 0.05 * expected_total
    assert forecast.upper - forecast.lower < 0.1 * expected_total
    # the same history gives the same forecast (fixed seed, cached fit)
    assert forecast_month_end(series(values), as_of) == forecast


def test_short_history_uses_the_daily_mean_and_says_so() -> None:
    forecast = forecast_month_end(series([4.0, 6.0, 5.0], date(2026, 11, 1)), date(2026, 11, 3))
    assert forecast.method == "mean"
    assert forecast.expected == 15 + 5 * 27
    assert forecast.lower < forecast.expected < forecast.upper


def test_the_last_day_of_a_month_is_all_actual() -> None:
    forecast = forecast_month_end(series([3.0] * 30, date(2026, 11, 1)), date(2026, 11, 30))
    assert (forecast.method, forecast.expected, forecast.days_left) == ("actual", 90.0, 0)
    assert month_end(date(2028, 2, 10)) == date(2028, 2, 29)


def test_robust_z_uses_median_and_mad() -> None:
    window = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 10.0]  # median 10, MAD 1
    assert robust_z(10.0, window) == 0
    assert robust_z(20.0, window) == pytest.approx(0.6745 * 10)
    assert robust_z(11.0, [5.0] * 7) == float("inf")  # a flat window: any change is an anomaly
    assert robust_z(5.0, [5.0] * 7) == 0


def test_one_spike_is_found_and_its_neighbours_are_not() -> None:
    rng = random.Random(3)
    values = [50 + rng.uniform(-3, 3) for _ in range(60)]
    values[45] = 150.0
    found = anomalies(series(values))
    assert [item.day for item in found] == [START + timedelta(days=45)]
    assert found[0].z > 3.5 and 45 < found[0].median < 55
    assert anomalies(series([50.0, 51.0, 49.0, 150.0])) == []  # too little history to judge
