"""The Cost & ROI page's chart geometry: bars stack to the day's total, the budget chart stays inside its frame."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from scrollintel.cost.query import BudgetView, CostReport, DailyPoint, Total
from scrollintel.web.routes.cost import budget_chart, daily_chart, hbar_chart

pytestmark = pytest.mark.unit

START = date(2026, 11, 1)


def test_daily_bars_stack_to_each_days_total() -> None:
    daily = [
        DailyPoint(
            day=START + timedelta(days=i),
            amount=Decimal(10 + i),
            by_kind={"compute": Decimal(6 + i), "cloud": Decimal(4)},
        )
        for i in range(10)
    ]
    chart = daily_chart(CostReport(days=10, daily=daily, currency="EUR"))
    assert chart is not None
    heights = [sum(bar.height for bar in chart.bars if bar.x == x) for x in sorted({bar.x for bar in chart.bars})]
    scale = (chart.bottom - 10) / 19  # the tallest day (19) fills the plot
    assert heights == pytest.approx([(10 + i) * scale for i in range(10)], abs=0.05)
    assert [kind for kind, _ in chart.kinds] == ["compute", "cloud"]


def test_budget_chart_lines_stay_in_the_frame() -> None:
    view = BudgetView(
        team="ml", month="2026-11", currency="EUR", budget=Decimal(2500), configured=Decimal(2500),
        thresholds=[0.5, 0.8, 1.0, 1.2],
        actual_to_date=1500.0, expected=3000.0, lower=2800.0, upper=3300.0, method="ets", status="forecast over budget",
        cumulative=[(START + timedelta(days=i), 100.0 * (i + 1)) for i in range(15)],
        forecast=[(START + timedelta(days=15 + i), 1600.0 + 100 * i, 1590.0 + 90 * i, 1620.0 + 120 * i)
                  for i in range(15)],
    )  # fmt: skip
    chart = budget_chart(view)
    points = [tuple(map(float, p.split(","))) for p in (chart.actual + " " + chart.forecast + " " + chart.band).split()]
    assert all(chart.left <= x <= chart.right and chart.top <= y <= chart.bottom for x, y in points)
    assert chart.top < chart.budget_y < chart.bottom
    assert [label for _, label in chart.thresholds] == ["50%", "80%", "120%"]
    assert "against a budget of 2,500.00 EUR" in chart.title


def test_bars_of_nothing_are_no_chart() -> None:
    assert hbar_chart([Total(key="x", amount=Decimal(0), share=0.0)], "EUR") is None
    assert daily_chart(CostReport(days=7)) is None
