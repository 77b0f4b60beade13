"""Cost & ROI page: attributed cost per team, DAG and dataset, budgets and forecasts, anomalies, ROI.

Pages (HTML, server-rendered; the charts are inline SVG, so they need no script)::

    GET /cost                         the period's totals (cards), cost per day by kind, cost per team,
                                      DAG and dataset, each team's month against its budget with
                                      the month-end forecast and its 90 % interval, top movers,
                                      anomalies, ROI per data product with its inputs

JSON API and downloads (``?days=`` 1-366, default 30; ``?end=YYYY-MM-DD``, default the last day
rolled up)::

    GET /api/cost                     the same figures
    GET /api/cost/export.csv          one table: ?table=daily|teams|dags|datasets|budgets|roi|anomalies
    GET /api/cost/export.xlsx         every table in one workbook
    GET /api/cost/summary.pdf         the executive summary (reportlab)

Source: ``governance.cost_facts`` / ``cost_roi`` / ``cost_alerts`` through
:func:`scrollintel.cost.query.load_report`. Read-only: nothing here changes state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel

from scrollintel.cost.exports import TABLES, Table, to_csv, to_pdf, to_xlsx
from scrollintel.cost.query import CostReport, load_report
from scrollintel.web.deps import CurrentUser, DatabaseUrl, PageUser
from scrollintel.web.problems import PageData, problem_route
from scrollintel.web.templating import render_page

EMPTY_NOTICE = (
    "No cost data yet — figures appear after the first daily cost rollup has run (DAG `cost_rollup`), "
    "or seed a demo history: `scrollintel demo cost-history`."
)
DEMO_NOTICE = (
    "Demo data: this period includes synthetic task runs and cloud bills seeded by `scrollintel demo cost-history`."
)
DEFAULT_DAYS = 30
MAX_DAYS = 366
PERIODS = (7, 30, 90)
#: Colours of the cost kinds in the daily chart (SVG presentation attributes, allowed by the page's policy).
KIND_COLOURS = {"compute": "#3d6fd6", "storage": "#2e9e6b", "query": "#c28a12", "cloud": "#8a55c9"}

COST = PageData(
    "cost",
    data="the cost facts",
    missing="The cost tables do not exist yet",
    tables="governance.cost_facts, cost_roi and cost_alerts",
    readable="the cost tables",
    grant="the governance migrations grant it SELECT on them",
)

router = APIRouter(route_class=problem_route(COST))

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="days in the period")]
End = Annotated[str | None, Query(max_length=10, description="last day of the period, YYYY-MM-DD")]


def _end(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"Query parameter 'end': {value[:10]!r} is not a date (YYYY-MM-DD)") from None


def load(url: str, days: int, end: str | None) -> CostReport:
    """The report, with the empty-state notice when nothing was rolled up."""
    report = load_report(url, days, _end(end))
    if report.end is None:
        report.notice = EMPTY_NOTICE
    return report


# -- charts (inline SVG geometry) -----------------------------------------------------------------


class Bar(BaseModel):
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str


class Axis(BaseModel):
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]


class DailyChart(BaseModel):
    width: int
    height: int
    left: float
    right: float
    bottom: float
    bars: list[Bar]
    axis: Axis
    kinds: list[tuple[str, str]]


def _ticks(peak: float, top: float, bottom: float, count: int = 4) -> list[tuple[float, str]]:
    step = peak / count if peak else 1.0
    return [
        (
            round(bottom - (bottom - top) * index / count, 2),
            f"{step * index:,.0f}" if peak >= 10 else f"{step * index:,.2f}",
        )
        for index in range(count + 1)
    ]


def daily_chart(report: CostReport, *, width: int = 960, height: int = 240) -> DailyChart | None:
    """Stacked bars of cost per day and kind."""
    if not report.daily:
        return None
    left, right, top, bottom = 56.0, float(width - 8), 10.0, float(height - 26)
    peak = max(float(point.amount) for point in report.daily) or 1.0
    slot = (right - left) / len(report.daily)
    bars: list[Bar] = []
    for index, point in enumerate(report.daily):
        base = bottom
        for kind, colour in KIND_COLOURS.items():
            amount = float(point.by_kind.get(kind, 0))
            if amount <= 0:
                continue
            h = (bottom - top) * amount / peak
            base -= h
            bars.append(
                Bar(
                    x=round(left + index * slot + slot * 0.1, 2),
                    y=round(base, 2),
                    width=round(slot * 0.8, 2),
                    height=round(h, 2),
                    fill=colour,
                    label=f"{point.day.isoformat()} {kind}: {amount:,.2f} {report.currency} "
                    f"(day {float(point.amount):,.2f})",
                )
            )
    every = max(1, len(report.daily) // 8)
    x_ticks = [
        (round(left + index * slot + slot / 2, 2), point.day.strftime("%d %b"))
        for index, point in enumerate(report.daily)
        if index % every == 0
    ]
    used = sorted({kind for point in report.daily for kind in point.by_kind}, key=list(KIND_COLOURS).index)
    return DailyChart(
        width=width,
        height=height,
        left=left,
        right=right,
        bottom=bottom,
        bars=bars,
        axis=Axis(y_ticks=_ticks(peak, top, bottom), x_ticks=x_ticks),
        kinds=[(kind, KIND_COLOURS[kind]) for kind in used],
    )


class HBar(BaseModel):
    y: float
    width: float
    name: str
    value: str
    label: str


class HBarChart(BaseModel):
    width: int
    height: int
    left: float
    bar_height: float
    bars: list[HBar]


def hbar_chart(totals: list[Any], currency: str | None, *, top_n: int = 12, width: int = 720) -> HBarChart | None:
    """Horizontal bars of the ``top_n`` largest totals."""
    shown = [item for item in totals[:top_n] if item.amount > 0]
    if not shown:
        return None
    left, right, row = 230.0, 110.0, 22.0
    peak = float(max(item.amount for item in shown)) or 1.0
    bars = [
        HBar(
            y=round(4 + index * row, 2),
            width=round(max(1.0, (width - left - right) * float(item.amount) / peak), 2),
            name=item.key if len(item.key) <= 34 else item.key[:33] + "…",
            value=f"{float(item.amount):,.2f}",
            label=f"{item.key}: {float(item.amount):,.2f} {currency} ({item.share:.1%})",
        )
        for index, item in enumerate(shown)
    ]
    return HBarChart(width=width, height=int(8 + len(shown) * row), left=left, bar_height=row - 6, bars=bars)


class BudgetChart(BaseModel):
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    actual: str
    forecast: str
    band: str
    budget_y: float
    thresholds: list[tuple[float, str]]
    axis: Axis
    title: str


def budget_chart(view: Any, *, width: int = 460, height: int = 200) -> BudgetChart:
    """Cumulative actual, the forecast to month end with its 90 % band, the budget and its thresholds."""
    left, right, top, bottom = 56.0, float(width - 10), 10.0, float(height - 24)
    points = list(view.cumulative)
    ahead = list(view.forecast)
    first = points[0][0] if points else date.today()
    last = ahead[-1][0] if ahead else (points[-1][0] if points else first)
    span = max((last - first).days, 1)
    budget = float(view.budget)
    peak = max([budget * 1.1, *(p[1] for p in points), *(a[3] for a in ahead)]) or 1.0

    def x(day: date) -> float:
        return round(left + (right - left) * (day - first).days / span, 2)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * value / peak, 2)

    actual = " ".join(f"{x(day)},{y(value)}" for day, value in points)
    anchor = points[-1] if points else (first, 0.0)
    forecast = " ".join(f"{x(day)},{y(mid)}" for day, mid in [(anchor[0], anchor[1]), *((a[0], a[1]) for a in ahead)])
    upper = [(anchor[0], anchor[1]), *((a[0], a[3]) for a in ahead)]
    lower = [(anchor[0], anchor[1]), *((a[0], a[2]) for a in ahead)]
    band = " ".join(f"{x(day)},{y(value)}" for day, value in [*upper, *reversed(lower)]) if ahead else ""
    x_ticks = [(x(first), first.strftime("%d %b")), (x(last), last.strftime("%d %b"))]
    return BudgetChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        actual=actual,
        forecast=forecast,
        band=band,
        budget_y=y(budget),
        thresholds=[(y(budget * t), f"{t:.0%}") for t in view.thresholds if t != 1.0 and budget * t <= peak],
        axis=Axis(y_ticks=_ticks(peak, top, bottom), x_ticks=x_ticks),
        title=(
            f"{view.team}, {view.month}: {view.actual_to_date:,.2f} to date, forecast {view.expected:,.2f} "
            f"({view.lower:,.2f} to {view.upper:,.2f}) against a budget of {budget:,.2f} {view.currency}"
        ),
    )


# -- routes ---------------------------------------------------------------------------------------


@router.get("/cost", name="cost_page", include_in_schema=False)
def cost_page(
    request: Request, user: PageUser, url: DatabaseUrl, days: Days = DEFAULT_DAYS, end: End = None
) -> Response:
    """Render the cost & ROI page."""
    report = load(url, days, end)
    query = {"days": days, **({"end": end} if end else {})}
    return render_page(
        request,
        "cost",
        "cost.html",
        user=user,
        state=report,
        demo_notice=DEMO_NOTICE,
        periods=PERIODS,
        query=query,
        daily=daily_chart(report),
        charts={
            "team": hbar_chart(report.by_team, report.currency),
            "dag": hbar_chart(report.by_dag, report.currency),
            "dataset": hbar_chart(report.by_dataset, report.currency),
        },
        budget_charts={view.team: budget_chart(view) for view in report.budgets},
        tables=TABLES,
    )


@router.get("/api/cost", name="cost_api")
def cost_api(user: CurrentUser, url: DatabaseUrl, days: Days = DEFAULT_DAYS, end: End = None) -> CostReport:
    """The period's cost figures, budgets, anomalies and ROI as JSON."""
    return load(url, days, end)


def _download(body: bytes | str, media_type: str, stem: str, suffix: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="cost-{stem}-{stamp}.{suffix}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/api/cost/export.csv", name="cost_export_csv")
def cost_export_csv(
    user: CurrentUser, url: DatabaseUrl, table: Table = "daily", days: Days = DEFAULT_DAYS, end: End = None
) -> Response:
    """One table of the page as CSV."""
    return _download(to_csv(load(url, days, end), table), "text/csv; charset=utf-8", table, "csv")


@router.get("/api/cost/export.xlsx", name="cost_export_xlsx")
def cost_export_xlsx(user: CurrentUser, url: DatabaseUrl, days: Days = DEFAULT_DAYS, end: End = None) -> Response:
    """Every table of the page in one workbook."""
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(to_xlsx(load(url, days, end)), media, "tables", "xlsx")


@router.get("/api/cost/summary.pdf", name="cost_summary_pdf")
def cost_summary_pdf(user: CurrentUser, url: DatabaseUrl, days: Days = DEFAULT_DAYS, end: End = None) -> Response:
    """The executive summary as PDF."""
    report = load(url, days, end)
    if report.end is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, EMPTY_NOTICE)
    return _download(to_pdf(report), "application/pdf", "summary", "pdf")
