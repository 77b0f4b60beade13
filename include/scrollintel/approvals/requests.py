"""Approval requests as Airflow keeps them: the human-in-the-loop records of the metadata database.

The Approvals page, Slack and Airflow's Required Actions show the same records: a request is a
``hitl_detail`` row of a task instance (options, assigned users, answer, who answered), its
deadline the task instance's ``trigger_timeout``, its requester the user who triggered the DAG
run. Read in the api-server process, where Airflow's ORM is configured; only DAGs the user may
read are listed (the auth manager's ``get_authorized_dag_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

State = Literal["pending", "approved", "rejected", "expired", "closed"]
#: The answers of an approval gate (Airflow's ApprovalOperator).
APPROVE, REJECT = "Approve", "Reject"


@dataclass(frozen=True)
class ApprovalRequest:
    """One request at a gate, pending or answered."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    title: str
    body: str
    state: State
    requested_at: datetime
    deadline: datetime | None
    requester: str | None
    approvers: tuple[str, ...] = ()
    responded_by: str | None = None
    responded_at: datetime | None = None
    comment: str | None = None
    options: tuple[str, ...] = field(default=(APPROVE, REJECT))

    def may_answer(self, username: str) -> bool:
        """Whether ``username`` is assigned to this pending request (Airflow decides in the end)."""
        return self.state == "pending" and (not self.approvers or username in self.approvers)


def state_of(*, responded: bool, chosen: Iterable[str] | None, responder: Any, awaiting: bool) -> State:
    """``pending`` while the task waits for an answer; else how it was answered; ``closed`` when it stopped waiting."""
    if responded:
        if responder is None:
            return "expired"  # the scheduler wrote the defaults at the deadline
        return "approved" if list(chosen or ()) == [APPROVE] else "rejected"
    return "pending" if awaiting else "closed"


def list_requests(*, dag_ids: set[str] | None, pending: bool, limit: int = 100) -> list[ApprovalRequest]:
    """Pending requests (oldest first), or answered and closed ones (newest first), of DAGs in ``dag_ids``.

    ``dag_ids`` None: every DAG.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import and_, select

    query = (
        select(HITLDetail, TaskInstance, DagRun.triggering_user_name)
        .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
        .join(DagRun, and_(DagRun.dag_id == TaskInstance.dag_id, DagRun.run_id == TaskInstance.run_id))
    )
    if dag_ids is not None:
        query = query.where(TaskInstance.dag_id.in_(sorted(dag_ids)))
    if pending:
        query = query.where(
            HITLDetail.responded_at.is_(None), TaskInstance.state == TaskInstanceState.AWAITING_INPUT
        ).order_by(HITLDetail.created_at)
    else:
        query = query.where(
            (HITLDetail.responded_at.is_not(None)) | (TaskInstance.state != TaskInstanceState.AWAITING_INPUT)
        ).order_by(HITLDetail.created_at.desc())
    with create_session() as session:
        rows = session.execute(query.limit(limit)).all()
        return [_request(detail, ti, requester) for detail, ti, requester in rows]


def _request(detail: Any, ti: Any, requester: str | None) -> ApprovalRequest:
    from airflow.utils.state import TaskInstanceState

    responder = detail.responded_by_user
    return ApprovalRequest(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index,
        title=detail.subject,
        body=detail.body or "",
        state=state_of(
            responded=detail.responded_at is not None,
            chosen=detail.chosen_options,
            responder=responder,
            awaiting=ti.state == TaskInstanceState.AWAITING_INPUT,
        ),
        requested_at=detail.created_at,
        deadline=ti.trigger_timeout,
        requester=requester,
        approvers=tuple(user.get("name") or user.get("id") for user in detail.assigned_users or ()),
        responded_by=(responder.get("name") or responder.get("id")) if responder else None,
        responded_at=detail.responded_at,
        comment=((detail.params_input or {}).get("comment") or None),
        options=tuple(detail.options or ()),
    )
