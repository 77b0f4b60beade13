"""Quality page: each guarded dataset's latest gate outcome, the trend of failures, the data docs.

Pages (HTML, server-rendered; the chart is inline SVG, so it needs no script)::

    GET /quality                   latest status per dataset, failures over the last 30 days, what failed
    GET /quality/docs/             the data docs: every validation page and suite page, listed here
    GET /quality/docs/{path}       a page (or its stylesheet) of the GX data docs site the gates build

JSON API::

    GET /api/quality               the same data: datasets (with links), trend, docs link, notice

Every read goes through :mod:`scrollintel.quality.query` on the warehouse URL of the shared
:func:`~scrollintel.web.deps.warehouse_url` dependency (tests replace it with
``app.dependency_overrides``). When the warehouse cannot be reached, or the quality tables do
not exist yet, the page shows a panel saying so and what to do, and the API answers 503.
The data docs are files under the platform's state folder, served only from inside it. GX's
own index page builds its tables with scripts the content security policy does not allow, so
``/quality/docs/`` (and ``index.html``, where the pages' "Home" links go) is this app's listing.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field

from scrollintel.quality.docs import DOCS_ROUTE
from scrollintel.quality.query import DEFAULT_DAYS, DatasetStatus, TrendPoint
from scrollintel.web.deps import DatabaseUrl, PageUser
from scrollintel.web.problems import PageData, problem_route
from scrollintel.web.templating import format_time, render, render_page, time_ago

log = logging.getLogger(__name__)

EMPTY_NOTICE = (
    "No quality results yet — each dataset's status appears here after its first quality gate run "
    "(the checkpoint task that follows dbt in the transformation DAG)."
)
NO_DOCS_NOTICE = "No data docs yet — the first quality gate run builds them."
MAX_DAYS = 365

RESULTS = PageData(
    "quality",
    data="the quality results",
    missing="The quality results tables do not exist yet",
    tables="governance.quality_run and governance.quality_result",
    readable="the quality tables",
    grant="the governance migrations grant it SELECT on them",
)

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="days of history in the trend and counts")]

router = APIRouter(route_class=problem_route(RESULTS))


# -- data ----------------------------------------------------------------------------------------


class DatasetRow(DatasetStatus):
    """A dataset's status with links: its Airflow run and its data docs page."""

    airflow_run_href: str | None = Field(default=None, description="the gate's DAG run in the Airflow UI")
    docs_href: str | None = Field(default=None, description="the data docs page of the latest run")


class QualityOverview(BaseModel):
    """What the Quality page shows."""

    datasets: list[DatasetRow]
    trend: list[TrendPoint] = Field(description="one point per UTC day, oldest first")
    days: int
    docs_href: str | None = Field(description="the data docs index, when the gates have built it")
    notice: str | None = None


def airflow_run_href(request: Request, dag_id: str | None, run_id: str | None) -> str | None:
    """``<Airflow UI root>/dags/<dag_id>/runs/<run_id>``, or None for a run outside Airflow."""
    if not dag_id or not run_id:
        return None
    root = str(request.scope.get("app_root_path", "")).rstrip("/")
    return f"{root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _docs_href(request: Request, relative: str | None) -> str | None:
    from scrollintel.quality.docs import resolve_docs_file

    if not relative or resolve_docs_file(relative) is None:
        return None
    if relative == "index.html":
        return str(request.url_for("quality_docs_index").path)
    return str(request.url_for("quality_docs", path=relative).path)


def load_overview(request: Request, url: str, days: int = DEFAULT_DAYS) -> QualityOverview:
    """Read the page's data from the warehouse at ``url`` and add the links."""
    from scrollintel.quality.query import failure_trend, latest_by_dataset

    statuses = latest_by_dataset(url, days=days)
    trend = failure_trend(url, days=days)
    rows = [
        DatasetRow(
            **item.model_dump(),
            airflow_run_href=airflow_run_href(request, item.dag_id, item.run_id),
            docs_href=_docs_href(request, item.docs_path),
        )
        for item in statuses
    ]
    ran = any(item.state != "not_run" for item in statuses)
    return QualityOverview(
        datasets=rows,
        trend=trend,
        days=days,
        docs_href=_docs_href(request, "index.html"),
        notice=None if ran else EMPTY_NOTICE,
    )


# -- the trend chart ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One day's stacked bar: passed validations below, failed on top (SVG user units)."""

    x: float
    width: float
    ok_y: float
    ok_height: float
    bad_y: float
    bad_height: float
    label: str


@dataclass(frozen=True)
class TrendChart:
    """Geometry of the trend chart, computed here so the template only draws it."""

    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    bars: list[Bar]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    total_runs: int
    total_failed: int
    failed_days: int


def trend_chart(points: list[TrendPoint], *, width: int = 960, height: int = 220) -> TrendChart:
    """Stacked daily bars of passed and failed dataset validations, with a few axis labels."""
    left, right, top, bottom = 40.0, width - 12.0, 12.0, height - 28.0
    peak = max((point.runs for point in points), default=0)
    scale_max = max(1, _nice_ceiling(peak))
    slot = (right - left) / max(1, len(points))
    gap = min(4.0, slot * 0.2)

    def y(value: int) -> float:
        return bottom - (bottom - top) * value / scale_max

    bars = []
    for index, point in enumerate(points):
        passed = point.runs - point.failed
        label = f"{point.day.isoformat()}: {point.runs} validation(s), {point.failed} failed"
        bars.append(
            Bar(
                x=round(left + index * slot + gap / 2, 2),
                width=round(max(1.0, slot - gap), 2),
                ok_y=round(y(passed), 2),
                ok_height=round(bottom - y(passed), 2),
                bad_y=round(y(point.runs), 2),
                bad_height=round(y(passed) - y(point.runs), 2),
                label=label,
            )
        )
    step = max(1, len(points) // 6)
    x_ticks = [
        (round(left + index * slot + slot / 2, 2), point.day.strftime("%b %d"))
        for index, point in enumerate(points)
        if index % step == 0 or index == len(points) - 1
    ]
    y_ticks = [(round(y(value), 2), value) for value in sorted({0, scale_max // 2, scale_max})]
    return TrendChart(
        width=width,
        height=height,
        plot_top=top,
        plot_bottom=bottom,
        plot_left=left,
        plot_right=right,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        total_runs=sum(point.runs for point in points),
        total_failed=sum(point.failed for point in points),
        failed_days=sum(1 for point in points if point.failed),
    )


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above ``value`` (even, so the middle tick is whole)."""
    if value <= 2:
        return 2
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            candidate = factor * magnitude
            if candidate >= value and candidate % 2 == 0:
                return candidate
        magnitude *= 10


# -- routes --------------------------------------------------------------------------------------


@router.get("/quality", name="quality_page", include_in_schema=False)
def quality_page(request: Request, user: PageUser, url: DatabaseUrl, days: Days = DEFAULT_DAYS) -> Response:
    """Render the latest status per dataset, the failure trend and what failed."""
    overview = load_overview(request, url, days)
    return render_page(
        request,
        "quality",
        "quality.html",
        user=user,
        overview=overview,
        chart=trend_chart(overview.trend),
        failing=[row for row in overview.datasets if row.state == "failed"],
        format_time=format_time,
        time_ago=time_ago,
        no_docs_notice=NO_DOCS_NOTICE,
    )


@router.get("/api/quality", name="quality_api")
def quality_api(request: Request, url: DatabaseUrl, days: Days = DEFAULT_DAYS) -> QualityOverview:
    """Latest status per dataset (with links), the daily trend of failures and the data docs link."""
    return load_overview(request, url, days)


class DocsLink(BaseModel):
    """A data docs page of one dataset's validation in one gate run."""

    dataset: str
    success: bool
    evaluated: int
    failed: int
    finished_at: datetime
    run_label: str
    airflow_run_href: str | None
    docs_href: str


def load_docs_listing(request: Request, url: str) -> tuple[list[DocsLink], list[tuple[str, str]]]:
    """Validation pages on disk (newest first, from the results table) and suite pages ``(dataset, href)``."""
    from scrollintel.quality.docs import docs_dir, resolve_docs_file
    from scrollintel.quality.query import docs_history

    runs = [
        DocsLink(
            dataset=item.dataset,
            success=item.success,
            evaluated=item.evaluated,
            failed=item.failed,
            finished_at=item.finished_at,
            run_label=f"{item.dag_id} / {item.run_id}" if item.dag_id else item.run_id,
            airflow_run_href=airflow_run_href(request, item.dag_id, item.run_id),
            docs_href=str(request.url_for("quality_docs", path=item.docs_path).path),
        )
        for item in docs_history(url)
        if resolve_docs_file(item.docs_path) is not None
    ]
    suites_root = docs_dir() / "expectations"
    suites = []
    if suites_root.is_dir():
        for found in sorted(suites_root.glob("*/*.html")):
            relative = found.relative_to(docs_dir()).as_posix()
            dataset = ".".join(found.relative_to(suites_root).with_suffix("").parts)
            suites.append((dataset, str(request.url_for("quality_docs", path=relative).path)))
    return runs, suites


@router.get(f"{DOCS_ROUTE}/", name="quality_docs_index", include_in_schema=False)
@router.get(f"{DOCS_ROUTE}/index.html", name="quality_docs_index_html", include_in_schema=False)
def quality_docs_index(request: Request, user: PageUser, url: DatabaseUrl) -> Response:
    """List every data docs page: validations per gate run (newest first) and the suites."""
    runs, suites = load_docs_listing(request, url)
    return render(
        request,
        "quality_docs.html",
        user=user,
        title="Data docs",
        current="quality",
        runs=runs,
        suites=suites,
        format_time=format_time,
        time_ago=time_ago,
        no_docs_notice=NO_DOCS_NOTICE,
    )


@router.get(DOCS_ROUTE, name="quality_docs_root", include_in_schema=False)
def quality_docs_root(request: Request) -> Response:
    """The docs site's relative links need the trailing slash."""
    return RedirectResponse(
        request.url_for("quality_docs", path="").path, status_code=status.HTTP_307_TEMPORARY_REDIRECT
    )


@router.get(f"{DOCS_ROUTE}/{{path:path}}", name="quality_docs", include_in_schema=False)
def quality_docs(path: str) -> Response:
    """A file of the GX data docs site (``index.html`` for the folder itself); 404 for anything outside it."""
    from scrollintel.quality.docs import docs_dir, resolve_docs_file

    found = resolve_docs_file(path)
    if found is None:
        index_missing = resolve_docs_file("index.html") is None
        detail = NO_DOCS_NOTICE if index_missing else f"No data docs page {path!r}"
        if index_missing:
            log.info("data docs requested but not built yet (%s)", docs_dir())
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return FileResponse(found, media_type=media_type, headers={"Cache-Control": "private, max-age=60"})
