"""Approvals page: requests waiting at an approval gate, answered here, in Slack or in Airflow's Required Actions.

Pages and API::

    GET  /approvals               pending requests (oldest first) with Approve / Reject for their approvers,
                                  then the answered ones (newest first); filters: subject, state
    POST /approvals/answer        answer one request (form: dag_id, run_id, task_id, map_index, choice,
                                  comment), then back to the page (303) with what happened
    GET  /api/approvals           the same lists as JSON

The records are Airflow's own human-in-the-loop records (:mod:`scrollintel.approvals.requests`),
listed for the DAGs the user may read. An answer is recorded through Airflow's HITL API as the
signed-in user (:func:`scrollintel.approvals.decisions.respond_as`), so Airflow applies its rules
as in Required Actions: only an assigned approver may answer (separation of duties keeps the
requester out), once. Answering needs :data:`~scrollintel.web.deps.APPROVALS_ANSWER` and a
same-origin request. The ledger's ``approval.*`` entries are the history of record; the page
links to their export.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from scrollintel.approvals.requests import ApprovalRequest, list_requests
from scrollintel.web.deps import APPROVALS_ANSWER, CurrentUser, PageUser, may
from scrollintel.web.templating import format_time, markdown, render_page, time_ago

router = APIRouter()

EMPTY_NOTICE = (
    "No approval requests yet. Gates open them: a frozen source's schema change (try "
    "`scrollintel demo drift-schema`), and later model promotions, retention overrides and budget raises."
)
HISTORY_LIMIT = 100
StateFilter = Literal["", "approved", "rejected", "expired", "closed"]


class ApprovalItem(BaseModel):
    """One request at an approval gate (an Airflow human-in-the-loop task)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    title: str = Field(description="What is asked, e.g. 'Schema change: shop.customers: ...'.")
    body: str = Field(description="The details an approver decides on (Markdown).")
    state: str = Field(description="pending, approved, rejected, expired or closed (stopped waiting).")
    requested_at: datetime
    deadline: datetime | None = None
    requester: str | None = None
    approvers: list[str] = Field(default_factory=list)
    responded_by: str | None = None
    responded_at: datetime | None = None
    comment: str | None = None


class ApprovalsState(BaseModel):
    """Pending and answered requests; ``notice`` says why both are empty when they are."""

    pending: list[ApprovalItem]
    answered: list[ApprovalItem]
    notice: str | None = None


def _item(request: ApprovalRequest) -> ApprovalItem:
    return ApprovalItem(
        dag_id=request.dag_id,
        run_id=request.run_id,
        task_id=request.task_id,
        map_index=request.map_index,
        title=request.title,
        body=request.body,
        state=request.state,
        requested_at=request.requested_at,
        deadline=request.deadline,
        requester=request.requester,
        approvers=list(request.approvers),
        responded_by=request.responded_by,
        responded_at=request.responded_at,
        comment=request.comment,
    )


def load_approvals(user: Any, *, subject: str = "", state: str = "") -> ApprovalsState:
    """Pending and answered requests of the DAGs ``user`` may read, filtered by title text and state."""
    from airflow.api_fastapi.app import get_auth_manager

    dag_ids = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
    pending = [_item(item) for item in list_requests(dag_ids=dag_ids, pending=True)]
    answered = [_item(item) for item in list_requests(dag_ids=dag_ids, pending=False, limit=HISTORY_LIMIT)]
    if subject:
        pending = [item for item in pending if subject.lower() in item.title.lower()]
        answered = [item for item in answered if subject.lower() in item.title.lower()]
    if state:
        answered = [item for item in answered if item.state == state]
    notice = EMPTY_NOTICE if not pending and not answered and not subject and not state else None
    return ApprovalsState(pending=pending, answered=answered, notice=notice)


@router.get("/approvals", name="approvals_page", include_in_schema=False)
def approvals_page(
    request: Request,
    user: PageUser,
    subject: Annotated[str, Query(max_length=200)] = "",
    state: StateFilter = "",
    done: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Render the approvals page."""
    return render_page(
        request,
        "approvals",
        "approvals.html",
        user=user,
        state=load_approvals(user, subject=subject, state=state),
        filters={"subject": subject, "state": state},
        done=done,
        username=user.get_name(),
        may_answer=may(user, APPROVALS_ANSWER),
        answer_permission=APPROVALS_ANSWER,
        format_time=format_time,
        time_ago=time_ago,
        markdown=markdown,
    )


@router.get("/api/approvals", name="approvals_api")
def approvals_api(
    user: CurrentUser, subject: Annotated[str, Query(max_length=200)] = "", state: StateFilter = ""
) -> ApprovalsState:
    """Pending and answered approval requests as JSON."""
    return load_approvals(user, subject=subject, state=state)


class AnswerForm(BaseModel):
    """The answer form of one pending request."""

    dag_id: str = Field(min_length=1, max_length=250)
    run_id: str = Field(min_length=1, max_length=250)
    task_id: str = Field(min_length=1, max_length=250)
    map_index: int = Field(default=-1, ge=-1, le=100_000)
    choice: Literal["Approve", "Reject"]
    comment: str = Field(default="", max_length=2000)


@router.post("/approvals/answer", name="approvals_answer", include_in_schema=False)
def answer(request: Request, user: PageUser, form: Annotated[AnswerForm, Form()]) -> Response:
    """Record the signed-in user's answer through Airflow's HITL API, then show the page with the outcome."""
    from scrollintel.approvals.decisions import Target, respond_as

    target = Target(form.dag_id, form.run_id, form.task_id, form.map_index)
    outcome = respond_as(user.get_name(), target, form.choice, form.comment.strip() or None)
    done = f"{form.choice} recorded." if outcome.status == "decided" else f"Nothing was decided: {outcome.message}."
    return RedirectResponse(f"{request.url_for('approvals_page').path}?{urlencode({'done': done})}", status_code=303)
