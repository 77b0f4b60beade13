"""Cost & ROI page: attributed cost, budgets and return on investment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from scrollintel.web.deps import CurrentUser
from scrollintel.web.templating import render_page

router = APIRouter()

EMPTY_NOTICE = "No cost data yet — figures appear after the first daily cost rollup has run."


class CostLine(BaseModel):
    """Cost of one day attributed to a DAG, a team and a dataset (any may be unknown)."""

    day: date
    dag_id: str | None = None
    team: str | None = None
    dataset: str | None = None
    amount: Decimal
    currency: str


class RoiLine(BaseModel):
    """Value against cost for one value definition of governance/roi.yaml."""

    name: str
    value: Decimal
    cost: Decimal
    currency: str
    roi: Decimal | None = None


class CostState(BaseModel):
    """Cost lines and ROI lines; ``notice`` says why they are empty when they are."""

    items: list[CostLine]
    total_entries: int
    roi: list[RoiLine]
    notice: str | None = None


def load_cost() -> CostState:
    """Return cost and ROI lines; no rollup has run yet."""
    return CostState(items=[], total_entries=0, roi=[], notice=EMPTY_NOTICE)


@router.get("/cost", name="cost_page", include_in_schema=False)
def cost_page(request: Request, user: CurrentUser) -> Response:
    """Render the cost & ROI page."""
    return render_page(request, "cost", "cost.html", user=user, state=load_cost())


@router.get("/api/cost", name="cost_api")
def cost_api() -> CostState:
    """Return cost and ROI lines as JSON."""
    return load_cost()
