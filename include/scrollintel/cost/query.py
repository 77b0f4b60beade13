"""What the Cost & ROI page shows, read from ``governance.cost_*``: totals, trends, budgets, anomalies, ROI.

One function, :func:`load_report`, builds the whole :class:`CostReport` for a period (the
``days`` UTC days ending ``end``, by default the last day rolled up), which the page renders,
its JSON API returns and the CSV, XLSX and PDF exports are written from.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

NO_DATASET = "(no dataset)"
NO_DAG = "(no DAG)"
MOVER_DAYS = 7
ANOMALY_SCOPES = ("team", "dag_id")


class Total(BaseModel):
    """Cost of one team, DAG, dataset or kind over the period, and its share of the total."""

    key: str
    amount: Decimal
    share: float


class DailyPoint(BaseModel):
    """One day's cost, in total and per kind."""

    day: date
    amount: Decimal
    by_kind: dict[str, Decimal]


class IncreaseView(BaseModel):
    """An increase approved through the ``budget_increase`` gate, part of a team's effective budget."""

    amount: Decimal
    approval_id: str
    approved_by: str
    approved_at: datetime
    reason: str


class BudgetView(BaseModel):
    """A team's month: effective budget (configured + approved increases), actual to date, month-end
    forecast with its 90 % interval, alerts raised."""

    team: str
    month: str
    currency: str
    budget: Decimal
    """The effective budget: ``configured`` plus every approved increase of the month."""
    configured: Decimal
    increases: list[IncreaseView] = Field(default_factory=list)
    budget_source: str = ""
    thresholds: list[float]
    actual_to_date: float
    expected: float
    lower: float
    upper: float
    method: str
    status: str
    cumulative: list[tuple[date, float]]
    forecast: list[tuple[date, float, float, float]]
    """Cumulative forecast per remaining day: (day, expected, lower, upper)."""
    alerts: list[str] = Field(default_factory=list)


class AnomalyView(BaseModel):
    """A day whose cost for a team or DAG is far from its trailing median (robust z-score)."""

    scope: str
    name: str
    day: date
    amount: float
    median: float
    z: float


class Mover(BaseModel):
    """A DAG's cost over the last 7 days against the 7 before."""

    dag_id: str
    current: Decimal
    previous: Decimal
    change: Decimal
    change_pct: float | None


class RoiView(BaseModel):
    """A value definition over the period: value, attributed cost, ROI, and every input."""

    value_id: str
    team: str
    description: str
    kind: str
    currency: str
    value: Decimal
    cost: Decimal
    roi: Decimal | None
    days: int
    inputs: dict[str, Any]


class CostReport(BaseModel):
    """Everything the Cost & ROI page shows for one period."""

    start: date | None = None
    end: date | None = None
    days: int
    currency: str | None = None
    demo: bool = False
    total: Decimal = Decimal(0)
    by_kind: list[Total] = Field(default_factory=list)
    by_team: list[Total] = Field(default_factory=list)
    by_dag: list[Total] = Field(default_factory=list)
    by_dataset: list[Total] = Field(default_factory=list)
    daily: list[DailyPoint] = Field(default_factory=list)
    budgets: list[BudgetView] = Field(default_factory=list)
    anomalies: list[AnomalyView] = Field(default_factory=list)
    movers: list[Mover] = Field(default_factory=list)
    roi: list[RoiView] = Field(default_factory=list)
    query_time: str = ""
    notice: str | None = None


def latest_day(conn: Any) -> date | None:
    """The last day rolled up, or None before the first rollup."""
    row = conn.execute("SELECT max(day) FROM governance.cost_facts").fetchone()
    return row[0] if row else None


def _totals(rows: list[tuple[Any, Any]], total: Decimal, empty: str) -> list[Total]:
    items = [(str(key) if key is not None else empty, Decimal(amount)) for key, amount in rows]
    items.sort(key=lambda item: (-item[1], item[0]))
    return [Total(key=key, amount=amount, share=float(amount / total) if total else 0.0) for key, amount in items]


def _series(conn: Any, column: str, start: date, end: date) -> dict[str, list[tuple[date, float]]]:
    rows = conn.execute(
        f"SELECT {column}, day, sum(amount) FROM governance.cost_facts "
        f"WHERE day BETWEEN %s AND %s AND {column} IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        (start, end),
    ).fetchall()
    series: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for key, day, amount in rows:
        series[str(key)].append((day, float(amount)))
    return series


def _budgets(conn: Any, governance: Any, end: date) -> list[BudgetView]:
    from scrollintel.cost.budgets import team_daily
    from scrollintel.cost.forecast import forecast_month_end
    from scrollintel.cost.increases import effective_budgets

    month_start = end.replace(day=1)
    views: list[BudgetView] = []
    effective = effective_budgets(conn, governance, f"{end:%Y-%m}")
    alerts = conn.execute(
        "SELECT team, basis, threshold FROM governance.cost_alerts WHERE period = %s ORDER BY team, basis, threshold",
        (f"{end:%Y-%m}",),
    ).fetchall()
    for budget in governance.budgets.budgets:
        series = [(day, value) for day, value in team_daily(conn, budget.team, end) if day >= end - timedelta(days=90)]
        forecast = forecast_month_end(series, end)
        running = 0.0
        cumulative: list[tuple[date, float]] = []
        values = dict(series)
        for offset in range((end - month_start).days + 1):
            day = month_start + timedelta(days=offset)
            running += values.get(day, 0.0)
            cumulative.append((day, round(running, 2)))
        ahead: list[tuple[date, float, float, float]] = []
        mid = low = high = forecast.actual_to_date
        # the interval of the cumulative sum widens with the square root of the horizon
        for index, (day, expected, _lower, _upper) in enumerate(forecast.daily, start=1):
            mid += expected
            share = (index / forecast.days_left) ** 0.5 if forecast.days_left else 1.0
            low = mid - (forecast.expected - forecast.lower) * share
            high = mid + (forecast.upper - forecast.expected) * share
            ahead.append((day, round(mid, 2), round(max(low, forecast.actual_to_date), 2), round(high, 2)))
        limit = effective[budget.team]
        amount = float(limit.amount)
        if forecast.actual_to_date >= amount:
            status = "over budget"
        elif forecast.expected >= amount:
            status = "forecast over budget"
        elif forecast.upper >= amount:
            status = "at risk"
        else:
            status = "within budget"
        views.append(
            BudgetView(
                team=budget.team,
                month=forecast.month,
                currency=budget.currency,
                budget=limit.amount,
                configured=limit.configured,
                increases=[
                    IncreaseView(
                        amount=item.amount,
                        approval_id=item.approval_id,
                        approved_by=item.approved_by,
                        approved_at=item.approved_at,
                        reason=item.reason,
                    )
                    for item in limit.increases
                ],
                budget_source=limit.source,
                thresholds=budget.alert_thresholds,
                actual_to_date=round(forecast.actual_to_date, 2),
                expected=round(forecast.expected, 2),
                lower=round(forecast.lower, 2),
                upper=round(forecast.upper, 2),
                method=forecast.method,
                status=status,
                cumulative=cumulative,
                forecast=ahead,
                alerts=[f"{basis} ≥ {float(t):.0%}" for team, basis, t in alerts if team == budget.team],
            )
        )
    return views


def _roi(conn: Any, governance: Any, start: date, end: date) -> list[RoiView]:
    from scrollintel.cost.roi import roi_ratio

    rows = conn.execute(
        "SELECT value_id, day, value, cost, inputs FROM governance.cost_roi WHERE day BETWEEN %s AND %s ORDER BY day",
        (start, end),
    ).fetchall()
    grouped: dict[str, list[tuple[date, Decimal, Decimal, dict[str, Any]]]] = defaultdict(list)
    for value_id, day, amount, spent, stored in rows:
        grouped[value_id].append((day, Decimal(amount), Decimal(spent), stored or {}))
    views: list[RoiView] = []
    for definition in governance.roi.values:
        lines = grouped.get(definition.id, [])
        value = sum((line[1] for line in lines), Decimal(0))
        cost = sum((line[2] for line in lines), Decimal(0))
        inputs: dict[str, Any] = {
            "kind": definition.kind,
            "amount": str(definition.amount),
            "datasets": list(definition.applies_to.datasets),
            "dags": list(definition.applies_to.dags),
        }
        for key in ("successful_runs", "rows_changed"):
            if any(key in line[3] for line in lines):
                inputs[key] = sum(int(line[3].get(key, 0)) for line in lines)
        metrics = [line[3]["metric"] for line in lines if "metric" in line[3]]
        if metrics:
            inputs["latest_metric"] = metrics[-1]
        errors = [line[3]["error"] for line in lines if "error" in line[3]]
        if errors:
            inputs["error"] = errors[-1]
            inputs["days_with_errors"] = len(errors)
        views.append(
            RoiView(
                value_id=definition.id,
                team=definition.team,
                description=definition.description,
                kind=definition.kind,
                currency=definition.currency,
                value=value,
                cost=cost,
                roi=roi_ratio(value, cost),
                days=len(lines),
                inputs=inputs,
            )
        )
    return views


def load_report(url: str, days: int = 30, end: date | None = None, governance: Any = None) -> CostReport:
    """The page's figures for the ``days`` days ending ``end`` (default: the last day rolled up)."""
    from scrollintel.config import load_governance
    from scrollintel.cost.forecast import WINDOW, anomalies
    from scrollintel.cost.sources import query_stats_status
    from scrollintel.warehouse import connect

    governance = governance or load_governance()
    with connect(url) as conn:
        last = latest_day(conn)
        status = query_stats_status(conn)
        query_time = "available" if status is None else status
        if last is None:
            return CostReport(days=days, query_time=query_time)
        end = end or last
        start = end - timedelta(days=days - 1)
        where = "WHERE day BETWEEN %s AND %s"
        total_row = conn.execute(
            f"SELECT coalesce(sum(amount), 0), bool_or(demo), min(currency) FROM governance.cost_facts {where}",
            (start, end),
        ).fetchone() or (0, False, None)
        total = Decimal(total_row[0])
        report = CostReport(
            start=start,
            end=end,
            days=days,
            total=total,
            demo=bool(total_row[1]),
            currency=total_row[2] or (governance.budgets.rates.currency if governance.budgets.rates else None),
            query_time=query_time,
        )
        for field, column, empty in (
            ("by_kind", "kind", ""),
            ("by_team", "team", ""),
            ("by_dag", "dag_id", NO_DAG),
            ("by_dataset", "dataset", NO_DATASET),
        ):
            rows = conn.execute(
                f"SELECT {column}, sum(amount) FROM governance.cost_facts {where} GROUP BY 1", (start, end)
            ).fetchall()
            setattr(report, field, _totals(rows, total, empty))
        daily: dict[date, dict[str, Decimal]] = defaultdict(dict)
        for day, kind, amount in conn.execute(
            f"SELECT day, kind, sum(amount) FROM governance.cost_facts {where} GROUP BY 1, 2 ORDER BY 1", (start, end)
        ).fetchall():
            daily[day][kind] = Decimal(amount)
        report.daily = [
            DailyPoint(day=start + timedelta(days=offset), amount=sum(by.values(), Decimal(0)), by_kind=by)
            for offset in range(days)
            for by in [daily.get(start + timedelta(days=offset), {})]
        ]
        report.budgets = _budgets(conn, governance, end)
        found: list[AnomalyView] = []
        for scope in ANOMALY_SCOPES:
            for name, series in _series(conn, scope, start - timedelta(days=WINDOW), end).items():
                found.extend(
                    AnomalyView(
                        scope="team" if scope == "team" else "DAG",
                        name=name,
                        day=item.day,
                        amount=round(item.value, 2),
                        median=round(item.median, 2),
                        z=round(item.z, 1),
                    )
                    for item in anomalies(series)
                    if start <= item.day <= end
                )
        report.anomalies = sorted(found, key=lambda item: (item.day, -abs(item.z)), reverse=True)
        previous_start = end - timedelta(days=2 * MOVER_DAYS - 1)
        current_start = end - timedelta(days=MOVER_DAYS - 1)
        movers: list[Mover] = []
        for dag_id, current, previous in conn.execute(
            """
            SELECT dag_id, sum(amount) FILTER (WHERE day >= %s), coalesce(sum(amount) FILTER (WHERE day < %s), 0)
            FROM governance.cost_facts WHERE dag_id IS NOT NULL AND day BETWEEN %s AND %s GROUP BY 1
            """,
            (current_start, current_start, previous_start, end),
        ).fetchall():
            now, before = Decimal(current or 0), Decimal(previous)
            movers.append(
                Mover(
                    dag_id=dag_id,
                    current=now,
                    previous=before,
                    change=now - before,
                    change_pct=float((now - before) / before) if before else None,
                )
            )
        report.movers = sorted(movers, key=lambda item: -abs(item.change))[:10]
        report.roi = _roi(conn, governance, start, end)
    return report


# --------------------------------------------------------------------------- one dataset (the lineage explorer)

#: What a dataset with no cost fact shows (never 0: nothing was measured, which is not "free").
NO_COST = "no cost attributed yet"
DATASET_DAYS = 30


class PeriodCost(BaseModel):
    """A dataset's attributed cost over one period; ``amount`` None when nothing was attributed in it."""

    label: str
    start: date
    end: date
    amount: Decimal | None = None
    by_kind: dict[str, Decimal] = Field(default_factory=dict)


class DatasetCost(BaseModel):
    """What the lineage explorer's side panel shows for a dataset: the last 30 days and the month to date."""

    dataset: str
    currency: str | None = None
    as_of: date | None = None
    """The last day rolled up (the periods end there)."""
    demo: bool = False
    periods: list[PeriodCost] = Field(default_factory=list)
    notice: str | None = None


def dataset_cost(conn: Any, dataset: str, *, end: date | None = None) -> DatasetCost:
    """The cost attributed to ``dataset`` (a :func:`~scrollintel.cost.rollup.dataset_key`) in the last
    :data:`DATASET_DAYS` days and the month to date, both ending ``end`` (default: the last day rolled up).

    ``notice`` is :data:`NO_COST` when no fact of either period names the dataset.
    """
    end = end or latest_day(conn)
    if end is None:
        return DatasetCost(dataset=dataset, notice=f"{NO_COST} (no cost rollup has run)")
    recent, month = end - timedelta(days=DATASET_DAYS - 1), end.replace(day=1)
    rows = conn.execute(
        """
        SELECT kind, sum(amount) FILTER (WHERE day >= %(recent)s), sum(amount) FILTER (WHERE day >= %(month)s),
               bool_or(demo), min(currency)
        FROM governance.cost_facts
        WHERE dataset = %(dataset)s AND day BETWEEN least(%(recent)s, %(month)s) AND %(end)s
        GROUP BY kind ORDER BY kind
        """,
        {"dataset": dataset, "recent": recent, "month": month, "end": end},
    ).fetchall()
    periods = []
    for label, start, column in ((f"last {DATASET_DAYS} days", recent, 1), ("month to date", month, 2)):
        by_kind = {row[0]: Decimal(row[column]) for row in rows if row[column] is not None}
        amount = sum(by_kind.values(), Decimal(0)) if by_kind else None
        periods.append(PeriodCost(label=label, start=start, end=end, amount=amount, by_kind=by_kind))
    return DatasetCost(
        dataset=dataset,
        currency=next((row[4] for row in rows if row[4]), None),
        as_of=end,
        demo=any(row[3] for row in rows),
        periods=periods,
        notice=None if rows else NO_COST,
    )
