"""Lineage page: the graph of datasets and jobs built from OpenLineage events."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from scrollintel.web.auth import CurrentUser
from scrollintel.web.routes import page, render

router = APIRouter()

EMPTY_NOTICE = "No lineage yet — the graph fills in when the lineage store starts receiving OpenLineage events."


class LineageNode(BaseModel):
    """A dataset or a job, named as OpenLineage names it."""

    id: str
    kind: Literal["dataset", "job"]
    namespace: str
    name: str


class LineageEdge(BaseModel):
    """A directed edge: a job reads a dataset or writes one."""

    source: str
    target: str


class LineageGraph(BaseModel):
    """The lineage graph; ``notice`` says why it is empty when it is."""

    nodes: list[LineageNode]
    edges: list[LineageEdge]
    notice: str | None = None


def load_lineage() -> LineageGraph:
    """Return the lineage graph; the lineage store does not exist yet."""
    return LineageGraph(nodes=[], edges=[], notice=EMPTY_NOTICE)


@router.get("/lineage", name="lineage_page", include_in_schema=False)
def lineage_page(request: Request, user: CurrentUser) -> Response:
    """Render the lineage page."""
    this = page("lineage")
    return render(request, "lineage.html", user=user, title=this.title, current=this.slug, graph=load_lineage())


@router.get("/api/lineage", name="lineage_api")
def lineage_api() -> LineageGraph:
    """Return the lineage graph as JSON."""
    return load_lineage()
