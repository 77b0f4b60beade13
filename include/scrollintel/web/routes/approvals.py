"""Approvals page: requests waiting at an approval gate, and the decisions taken."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from scrollintel.web.deps import CurrentUser
from scrollintel.web.templating import render_page

router = APIRouter()

EMPTY_NOTICE = "No approval requests yet — approvals arrive when the model promotion gate lands."


class ApprovalRequest(BaseModel):
    """One request at an approval gate (an Airflow human-in-the-loop task)."""

    dag_id: str
    run_id: str
    task_id: str
    subject: str = Field(description="What is to be approved, e.g. a model version to promote.")
    state: str = Field(description="pending, approved, rejected or expired.")
    requested_at: datetime
    assigned_users: list[str] = Field(default_factory=list)
    responded_by: str | None = None
    responded_at: datetime | None = None
    chosen_option: str | None = None


class ApprovalsState(BaseModel):
    """The approvals list; ``notice`` says why it is empty when it is."""

    items: list[ApprovalRequest]
    total_entries: int
    notice: str | None = None


def load_approvals() -> ApprovalsState:
    """Return the approval requests; none exist until the promotion gate writes them."""
    return ApprovalsState(items=[], total_entries=0, notice=EMPTY_NOTICE)


@router.get("/approvals", name="approvals_page", include_in_schema=False)
def approvals_page(request: Request, user: CurrentUser) -> Response:
    """Render the approvals page."""
    return render_page(request, "approvals", "approvals.html", user=user, state=load_approvals())


@router.get("/api/approvals", name="approvals_api")
def approvals_api() -> ApprovalsState:
    """Return the approval requests as JSON."""
    return load_approvals()
