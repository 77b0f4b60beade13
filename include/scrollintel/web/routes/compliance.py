"""Compliance page: data subject requests, retention runs and legal holds.

Pages (HTML, server-rendered)::

    GET /compliance             subject requests (kind, status, plan by action, re-scan verdict), the
                                latest retention runs (dry or enforced: tables, rows due and changed,
                                holds), the legal holds in force, the Art. 30 record's downloads, and
                                how to open a request
    GET /compliance/record.{xlsx,pdf}
                                the record of processing the ``compliance_record`` DAG keeps in the
                                object store (404 before its first run)
JSON API::

    GET /api/compliance         the same data

Sources: ``governance.subject_requests`` and ``retention_holds`` (migration 0014) through
:mod:`scrollintel.compliance.requests`; retention proofs are ledger entries
(``compliance.retention_enforced`` / ``compliance.retention_dry_run``). Nothing shown names a
subject: requests are listed by id with table names and counts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from scrollintel.web.deps import CurrentUser, DatabaseUrl, PageUser
from scrollintel.web.problems import PageData, problem_route
from scrollintel.web.templating import format_time, render_page

COMPLIANCE = PageData(
    slug="compliance",
    data="the compliance records",
    missing="The compliance tables do not exist yet",
    tables="The compliance tables (governance.subject_requests and retention_holds)",
    readable="the compliance records",
    grant="the governance migration 0014 grants it SELECT on them",
)

router = APIRouter(route_class=problem_route(COMPLIANCE))

EMPTY_NOTICE = (
    "No subject requests or retention runs yet — open a request with `scrollintel subject find --email ...` "
    "or `scrollintel subject erase ...`; the `compliance_retention` DAG records a run every day."
)
RETENTION_ACTIONS = ("compliance.retention_enforced", "compliance.retention_dry_run")
MAX_ROWS = 50


class SubjectRequestRow(BaseModel):
    """One request, without its identifiers: what was found and done, by count."""

    id: str
    kind: str
    status: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    locations: int
    rows: int
    actions: dict[str, int]
    rescan_ok: bool | None = None
    violations: list[str] = []


class RetentionRun(BaseModel):
    """A retention run's proof, from the ledger."""

    seq: int
    recorded_at: datetime
    run: str
    dry_run: bool
    tables: int
    due: int
    changed: int
    held: list[str]


class LegalHold(BaseModel):
    """A legal hold in force."""

    target: str
    held_until: datetime
    reason: str
    approved_by: str


class RecordFile(BaseModel):
    """A download of the Art. 30 record."""

    format: str
    href: str
    generated_at: datetime


class ComplianceState(BaseModel):
    """Everything the page shows; ``notice`` says why it is empty when it is."""

    requests: list[SubjectRequestRow]
    retention_runs: list[RetentionRun]
    holds: list[LegalHold]
    record: list[RecordFile] = []
    notice: str | None = None


RECORD_FOLDER = "compliance/art30"
RECORD_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def record_file(kind: str) -> Path | None:
    """The record file the ``compliance_record`` DAG wrote, or None before its first run."""
    from scrollintel.settings import object_store_dir

    path = object_store_dir() / RECORD_FOLDER / f"record.{kind}"
    return path if path.is_file() else None


def _record_files(request: Request) -> list[RecordFile]:
    files = []
    for kind in RECORD_TYPES:
        path = record_file(kind)
        if path is not None:
            href = request.url_for("compliance_record_file", kind=kind).path
            files.append(
                RecordFile(format=kind, href=href, generated_at=datetime.fromtimestamp(path.stat().st_mtime, UTC))
            )
    return files


def _request_row(summary: dict[str, Any]) -> SubjectRequestRow:
    plan = summary.get("plan") or []
    result = summary.get("result") or {}
    actions: dict[str, int] = {}
    for step in plan:
        actions[step["action"]] = actions.get(step["action"], 0) + 1
    rescan = result.get("rescan") or {}
    located = result.get("locations") or {}
    return SubjectRequestRow(
        id=summary["id"],
        kind=summary["kind"],
        status=summary["status"],
        requested_by=summary["requested_by"],
        created_at=datetime.fromisoformat(summary["created_at"]),
        updated_at=datetime.fromisoformat(summary["updated_at"]),
        locations=len(plan) if plan else len(located),
        rows=sum(int(step.get("rows") or 0) for step in plan) if plan else int(result.get("total_rows") or 0),
        actions=actions,
        rescan_ok=rescan.get("ok") if rescan else None,
        violations=list(rescan.get("violations") or []),
    )


def load_compliance(request: Request, url: str) -> ComplianceState:
    """Requests, retention runs and holds from the warehouse (errors become the page's problem panel)."""
    from scrollintel import warehouse
    from scrollintel.compliance import requests

    with warehouse.connect(url) as conn:
        rows = [_request_row(request.summary()) for request in requests.recent(conn, MAX_ROWS)]
        ledger = conn.execute(
            "SELECT seq, recorded_at, action, subject, details FROM governance.audit_entry "
            "WHERE action = ANY(%s) ORDER BY seq DESC LIMIT %s",
            (list(RETENTION_ACTIONS), MAX_ROWS),
        ).fetchall()
        holds = conn.execute(
            "SELECT target, held_until, reason, approved_by FROM governance.retention_holds "
            "WHERE held_until > %s ORDER BY held_until",
            (datetime.now(UTC),),
        ).fetchall()
    runs = []
    for seq, recorded_at, action, subject, details in ledger:
        data = json.loads(details) if isinstance(details, str) else details
        tables = data.get("tables") or []
        runs.append(
            RetentionRun(
                seq=seq,
                recorded_at=recorded_at,
                run=str(subject).split(":", 1)[-1],
                dry_run=action.endswith("dry_run"),
                tables=len(tables),
                due=sum(int(t.get("due") or 0) for t in tables),
                changed=sum(int(t.get("changed") or 0) for t in tables),
                held=[t["table"] for t in tables if t.get("held_until")],
            )
        )
    state = ComplianceState(
        requests=rows,
        retention_runs=runs,
        holds=[LegalHold(target=t, held_until=u, reason=r, approved_by=a) for t, u, r, a in holds],
        record=_record_files(request),
    )
    if not (state.requests or state.retention_runs or state.holds or state.record):
        state.notice = EMPTY_NOTICE
    return state


@router.get("/compliance", name="compliance_page", include_in_schema=False)
def compliance_page(request: Request, user: PageUser, url: DatabaseUrl) -> Response:
    """Render the compliance page."""
    return render_page(
        request,
        "compliance",
        "compliance.html",
        user=user,
        state=load_compliance(request, url),
        format_time=format_time,
    )


@router.get("/api/compliance", name="compliance_api")
def compliance_api(request: Request, user: CurrentUser, url: DatabaseUrl) -> ComplianceState:
    """Subject requests, retention runs, legal holds and the record's downloads as JSON."""
    return load_compliance(request, url)


@router.get("/compliance/record.{kind}", name="compliance_record_file", include_in_schema=False)
def compliance_record_file(user: CurrentUser, kind: Literal["xlsx", "pdf"]) -> Response:
    """The latest Art. 30 record as XLSX or PDF; 404 before the ``compliance_record`` DAG has run."""
    path = record_file(kind)
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "No record of processing yet: the compliance_record DAG writes it daily"
        )
    return FileResponse(path, media_type=RECORD_TYPES[kind], filename=f"record-of-processing.{kind}")
