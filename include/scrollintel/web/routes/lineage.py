"""Lineage page: the explorer of datasets, jobs and columns built from OpenLineage events.

Page (HTML, a server-rendered shell; ``static/lineage.js`` draws the graph in the browser)::

    GET  /lineage                 the explorer; ``?nodeId=<Marquez node id>`` opens that node,
                                  ``&depth=`` sets the hops, ``?q=`` starts with a search

JSON::

    GET  /api/lineage             what the store holds: datasets, jobs, the latest event, a node to start from

The graph comes from the lineage store's own API (:mod:`scrollintel.web.routes.lineage_api`), which
the page's script calls: ``/api/v1/lineage`` and ``/api/v1/column-lineage`` (Marquez's shapes),
``/api/lineage/search``, ``/api/lineage/impact`` (CSV and JSON export), ``/api/lineage/pii`` and
``/api/lineage/cost`` (a dataset's attributed cost in its side panel, linking to the Cost & ROI page).
This module tells the page where they are and whether there is anything to show: when the store
holds no event yet, the page explains how lineage arrives instead of drawing an empty canvas; when
the warehouse cannot be read, it says so (503), like the API.

The store's database is the API's (:data:`~scrollintel.web.deps.StoreUrl`), so one dependency
override of :func:`~scrollintel.web.deps.lineage_store_url` points the page and the API at a test
database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from scrollintel.warehouse import GOVERNANCE_SCHEMA as SCHEMA
from scrollintel.web.deps import CurrentUser, StoreUrl
from scrollintel.web.problems import PageData, PageProblem, problem_of
from scrollintel.web.templating import render_page

router = APIRouter()

EMPTY_NOTICE = (
    "No lineage yet — the store has received no OpenLineage event. The graph fills in as soon as "
    "Airflow's OpenLineage provider (or any OpenLineage client) sends events to the lineage API."
)
STORE = PageData(
    "lineage",
    data="the lineage store",
    missing="The lineage store does not exist yet",
    tables="The lineage tables (governance.lineage_event and the graph derived from it)",
    readable="the lineage tables",
    grant="migration 0005 grants it SELECT on them",
    migrate_hint="Run `scrollintel db upgrade` (`make run` does it) to create the lineage tables.",
)
#: Hops each way the page offers (one hop is one job: a dataset, the jobs writing it, their inputs).
DEPTHS = (1, 2, 3, 4, 5, 8)
DEFAULT_DEPTH = 3
MAX_NODE_ID_LENGTH = 4096
MAX_QUERY_LENGTH = 200
#: The start node is picked among this many most recently updated datasets (bounded work per page view).
START_CANDIDATES = 500


class LineageSummary(BaseModel):
    """What the lineage store holds; ``notice`` says why the page is empty when it is."""

    has_events: bool
    datasets: int
    jobs: int
    last_event_at: datetime | None = None
    start_node_id: str | None = None
    notice: str | None = None


class ExplorerUrls(BaseModel):
    """Where the page's script finds the lineage API (paths carry the app's mount prefix)."""

    lineage: str
    column: str
    search: str
    impact: str
    pii: str
    cost: str
    cost_page: str
    post: str


# The start node: a dataset with both producers and consumers, the most connected among the recently
# updated ones, so the first view shows lineage on both sides (in the demo: marts.orders, from the shop's
# source tables through raw and staging to the marts reading it).
_START_NODE = f"""
SELECT d.namespace, d.name
FROM (
    SELECT id, namespace, name, updated_at FROM {SCHEMA}.lineage_dataset ORDER BY updated_at DESC LIMIT %(candidates)s
) AS d
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (SELECT 1 FROM {SCHEMA}.lineage_job_output o WHERE o.dataset_id = d.id LIMIT 50) AS x
) AS up
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (SELECT 1 FROM {SCHEMA}.lineage_job_input i WHERE i.dataset_id = d.id LIMIT 50) AS x
) AS down
ORDER BY (up.n > 0 AND down.n > 0) DESC, up.n + down.n DESC, d.updated_at DESC, d.name
LIMIT 1
"""


def load_summary(url: str) -> LineageSummary:
    """Read what the lineage store at ``url`` holds (a handful of index lookups and counts).

    Raises a :class:`~scrollintel.web.problems.PageProblem` when the warehouse cannot be read.
    """
    from scrollintel.lineage.nodes import dataset_node_id
    from scrollintel.lineage.store import connect

    try:
        with connect(url) as conn:
            row = conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.lineage_event), "
                f"(SELECT max(received_at) FROM {SCHEMA}.lineage_event), "
                f"(SELECT count(*) FROM {SCHEMA}.lineage_dataset), (SELECT count(*) FROM {SCHEMA}.lineage_job)"
            ).fetchone()
            start = conn.execute(_START_NODE, {"candidates": START_CANDIDATES}).fetchone()
    except Exception as err:
        if (problem := problem_of(err, None, STORE)) is None:
            raise
        raise problem from err
    has_events, last_event_at, datasets, jobs = row if row else (False, None, 0, 0)
    return LineageSummary(
        has_events=bool(has_events),
        datasets=int(datasets),
        jobs=int(jobs),
        last_event_at=last_event_at.astimezone(UTC) if last_event_at else None,
        start_node_id=dataset_node_id(start[0], start[1]) if start else None,
        notice=None if has_events else EMPTY_NOTICE,
    )


def explorer_urls(request: Request) -> ExplorerUrls:
    """The lineage API's paths as the browser reaches them (under the api-server's mount prefix)."""
    root = request.scope.get("root_path", "")
    return ExplorerUrls(
        lineage=f"{root}/api/v1/lineage",
        column=f"{root}/api/v1/column-lineage",
        search=str(request.url_for("lineage_search").path),
        impact=str(request.url_for("lineage_impact").path),
        pii=str(request.url_for("lineage_pii").path),
        cost=str(request.url_for("lineage_cost").path),
        cost_page=str(request.url_for("cost_page").path),
        post=f"{root}/api/v1/lineage",
    )


@router.get("/lineage", name="lineage_page", include_in_schema=False)
def lineage_page(
    request: Request,
    user: CurrentUser,
    url: StoreUrl,
    node_id: Annotated[str | None, Query(alias="nodeId", max_length=MAX_NODE_ID_LENGTH)] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_LENGTH)] = None,
) -> Response:
    """Render the explorer; the empty state when the store has no event; a 503 panel when it cannot be read."""
    try:
        summary = load_summary(url)
    except PageProblem as problem:
        return render_page(
            request, "lineage", "lineage.html", user=user, problem=problem, status_code=problem.status_code
        )
    urls = explorer_urls(request)
    return render_page(
        request,
        "lineage",
        "lineage.html",
        user=user,
        summary=summary,
        urls=urls,
        node_id=node_id,
        query=q,
        depths=DEPTHS,
        default_depth=DEFAULT_DEPTH,
    )


@router.get("/api/lineage", name="lineage_api", response_model=LineageSummary)
def lineage_api(url: StoreUrl) -> Response:
    """Return what the lineage store holds, a notice when it holds nothing, or 503 when it cannot be read."""
    try:
        summary = load_summary(url)
    except PageProblem as problem:
        return JSONResponse(
            {"detail": f"{problem.title}: {problem.message}", "hint": problem.hint}, status_code=problem.status_code
        )
    return JSONResponse(summary.model_dump(mode="json"))
