"""Compliance page: data subject requests, retention runs and legal holds.

Pages (HTML, server-rendered)::

    GET /compliance             subject requests (kind, status, plan by action, re-scan verdict), the
                                latest retention runs (dry or enforced: tables, rows due and changed,
                                platform folders' files due and deleted, holds), the legal holds in
                                force, the Art. 30 record's downloads, and the forms below
    GET /compliance/record.{xlsx,pdf}
                                the record of processing the ``compliance_record`` DAG keeps in the
                                object store (404 before its first run)
    POST /compliance/find       form: email, customer_id -> the page with every location of the subject
                                (layer, table or file, columns matched, rows; hashed copies included)
    POST /compliance/requests   form: kind (access | erasure), email, customer_id -> access: the export of
                                every row found (a JSON download); erasure: the request opened and planned,
                                the ``compliance_erasure`` DAG started as the signed-in user, then (303) its
                                status page
    GET /compliance/requests/{request_id}
                                one request: status, plan, re-scan verdict and its steps in the ledger
    GET /compliance/status?request_id=
                                the status form: to the request's page (303)
    POST /compliance/evidence   form: period -> the SOC 2 evidence pack (a zip download)

The finds and requests use the code behind ``scrollintel subject find`` / ``subject erase``
(:mod:`scrollintel.compliance.workflow`): the same request records, ledger entries and ``erasure``
approval. Personal identifiers only travel in POST bodies: never in a URL, a header or a log line
(redirects carry request ids); pages that show them are ``Cache-Control: no-store``. Find and
requests need :data:`~scrollintel.web.deps.COMPLIANCE_SUBJECT`, the pack
:data:`~scrollintel.web.deps.COMPLIANCE_EVIDENCE`, each from the platform's own pages. Unusable input
is the page again with a message naming the field (400), an unknown request a 404 panel.

JSON API::

    GET /api/compliance         the same data

Sources: ``governance.subject_requests`` and ``retention_holds`` (migration 0014) through
:mod:`scrollintel.compliance.requests`; retention proofs are ledger entries
(``compliance.retention_enforced`` / ``compliance.retention_dry_run``). Nothing shown names a
subject: requests are listed by id with table names and counts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from scrollintel.web.deps import COMPLIANCE_EVIDENCE, COMPLIANCE_SUBJECT, CurrentUser, DatabaseUrl, PageUser, may
from scrollintel.web.problems import PageData, PageProblem, problem_route
from scrollintel.web.templating import format_time, render_page

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import httpx
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from scrollintel.compliance.subjects import Identifiers

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
    folders: int = 0
    files_due: int = 0
    files_changed: int = 0


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
        targets = data.get("tables") or []
        tables = [t for t in targets if t.get("unit", "rows") == "rows"]
        folders = [t for t in targets if t.get("unit") == "files"]  # platform folders count files, not rows
        runs.append(
            RetentionRun(
                seq=seq,
                recorded_at=recorded_at,
                run=str(subject).split(":", 1)[-1],
                dry_run=action.endswith("dry_run"),
                tables=len(tables),
                due=sum(int(t.get("due") or 0) for t in tables),
                changed=sum(int(t.get("changed") or 0) for t in tables),
                held=[t["table"] for t in targets if t.get("held_until")],
                folders=len(folders),
                files_due=sum(int(t.get("due") or 0) for t in folders),
                files_changed=sum(int(t.get("changed") or 0) for t in folders),
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


#: Pages showing a subject's identifiers or data are never stored by a browser or a proxy.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
#: The page's names for the two identifiers (messages name the field as the form labels it).
FIELD_NAMES = ("E-mail", "Customer id")
#: Longest value a field may hold (RFC 5321 caps an address at 254 characters).
MAX_FIELD = 254


def _period_now() -> str:
    now = datetime.now(UTC)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def _page(
    request: Request,
    user: BaseUser,
    url: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The Compliance page, with what a form gave (``error``, ``found``, ``subject``, ``done``)."""
    return render_page(
        request,
        "compliance",
        "compliance.html",
        user=user,
        state=load_compliance(request, url),
        format_time=format_time,
        may_subject=may(user, COMPLIANCE_SUBJECT),
        subject_permission=COMPLIANCE_SUBJECT,
        may_evidence=may(user, COMPLIANCE_EVIDENCE),
        evidence_permission=COMPLIANCE_EVIDENCE,
        period=extra.pop("period", _period_now()),
        status_code=status_code,
        headers=headers,
        **extra,
    )


@router.get("/compliance", name="compliance_page", include_in_schema=False)
def compliance_page(
    request: Request, user: PageUser, url: DatabaseUrl, done: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    """Render the compliance page."""
    return _page(request, user, url, done=done)


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


class SubjectForm(BaseModel):
    """How the page names a subject. Plain strings: checked by :meth:`identifiers`, whose messages never
    repeat a value (FastAPI's own validation errors would echo it)."""

    email: str = ""
    customer_id: str = ""

    def identifiers(self) -> Identifiers:
        """The validated identifiers; :class:`~scrollintel.compliance.subjects.SubjectInputError` naming the field."""
        from scrollintel.compliance.subjects import Identifiers, SubjectInputError

        for name, value in zip(FIELD_NAMES, (self.email, self.customer_id), strict=True):
            if len(value) > MAX_FIELD:
                raise SubjectInputError(f"{name}: longer than {MAX_FIELD} characters")
        return Identifiers.of(
            email=self.email.strip() or None, customer_id=self.customer_id.strip() or None, names=FIELD_NAMES
        )


class FoundLocation(BaseModel):
    """One location of the subject's data: names and counts."""

    layer: str
    target: str
    kind: str
    matched_by: list[str]
    rows: int


class Found(BaseModel):
    """What a find showed: every location, the total, whether hashed copies were searched."""

    locations: list[FoundLocation]
    total_rows: int
    hashed_search: bool
    files_searched: int


def _files_root() -> Path:
    from scrollintel.settings import object_store_dir

    return object_store_dir()


@router.post("/compliance/find", name="compliance_find", include_in_schema=False)
def compliance_find(
    request: Request, user: PageUser, url: DatabaseUrl, form: Annotated[SubjectForm, Form()]
) -> Response:
    """Every table, view and file holding the subject's data, plain or hashed (as ``scrollintel subject find``)."""
    from scrollintel.compliance import workflow
    from scrollintel.compliance.subjects import SubjectInputError

    try:
        identifiers = form.identifiers()
    except SubjectInputError as err:
        return _page(request, user, url, status_code=400, headers=NO_STORE, error=str(err), subject=form)
    findings = workflow.locate(url, identifiers, user.get_name(), files_root=_files_root(), ledger_url=url)
    found = Found.model_validate(findings.as_dict())
    return _page(request, user, url, headers=NO_STORE, found=found, subject=form)


def erasure_trigger() -> Callable[[uuid.UUID, str], str]:
    """How an erasure request's run is started (:func:`scrollintel.compliance.workflow.trigger_erasure`)."""
    from scrollintel.compliance.workflow import trigger_erasure

    return trigger_erasure


ErasureTrigger = Annotated[Callable[[uuid.UUID, str], str], Depends(erasure_trigger)]


class RequestForm(SubjectForm):
    """Open a request for the subject of a find."""

    kind: str = ""


@router.post("/compliance/requests", name="compliance_open_request", include_in_schema=False)
def compliance_open_request(
    request: Request, user: PageUser, url: DatabaseUrl, form: Annotated[RequestForm, Form()], trigger: ErasureTrigger
) -> Response:
    """Access: the export of every row found (download). Erasure: open, plan, start the gated run, show its status."""
    from scrollintel.compliance import requests, workflow
    from scrollintel.compliance.subjects import SubjectInputError

    try:
        if form.kind not in requests.KINDS:
            raise SubjectInputError(f"Request kind: expected one of {', '.join(requests.KINDS)}")
        identifiers = form.identifiers()
    except SubjectInputError as err:
        return _page(request, user, url, status_code=400, headers=NO_STORE, error=str(err), subject=form)
    request_id = workflow.open_request(url, form.kind, identifiers, user.get_name(), ledger_url=url)
    if form.kind == "access":
        export = workflow.access_export(url, request_id, files_root=_files_root(), ledger_url=url)
        return Response(
            json.dumps(export, indent=2, default=str),
            media_type="application/json",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="access-{request_id}.json"'},
        )
    steps = workflow.plan(url, request_id, files_root=_files_root(), ledger_url=url)
    try:
        run_id = trigger(request_id, user.get_name())
        done = (
            f"Erasure request opened: {len(steps)} step(s) planned; {workflow.ERASURE_DAG} run {run_id} waits "
            "for the erasure approval (Slack or the Approvals page)."
        )
    except workflow.TriggerFailed as err:
        done = f"Erasure request opened and planned, but its run did not start: {err}."
    target = request.url_for("compliance_request", request_id=str(request_id)).path
    return RedirectResponse(f"{target}?{urlencode({'done': done[:500]})}", status_code=status.HTTP_303_SEE_OTHER)


class LedgerStep(BaseModel):
    """A ledger entry of a request."""

    seq: int
    recorded_at: datetime
    action: str
    actor: str


class RequestStatus(BaseModel):
    """One request as its page shows it."""

    request: SubjectRequestRow
    plan: list[dict[str, Any]]
    rescan: dict[str, Any] | None
    ledger: list[LedgerStep]


def load_request(url: str, raw_id: str) -> RequestStatus:
    """The request ``raw_id`` with its plan, re-scan and ledger steps; a 400 or 404 panel when there is none."""
    from scrollintel import warehouse
    from scrollintel.compliance import requests, workflow
    from scrollintel.compliance.subjects import SubjectInputError

    try:
        request_id = requests.parse_id(raw_id)
    except SubjectInputError as err:
        raise PageProblem("Not a request id", f"Request id: {err}", status_code=400) from err
    try:
        with warehouse.connect(url) as conn:
            found = requests.get(conn, request_id)
    except SubjectInputError as err:
        raise PageProblem(
            "No such subject request", str(err), hint="Requests are listed on the Compliance page.", status_code=404
        ) from err
    summary = found.summary()
    return RequestStatus(
        request=_request_row(summary),
        plan=list(summary.get("plan") or []),
        rescan=(summary.get("result") or {}).get("rescan"),
        ledger=[LedgerStep.model_validate(step) for step in workflow.steps(url, request_id)],
    )


@router.get("/compliance/status", name="compliance_status", include_in_schema=False)
def compliance_status(
    request: Request, user: PageUser, url: DatabaseUrl, request_id: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """The status form: to the request's page when the id is one."""
    found = load_request(url, request_id)
    target = request.url_for("compliance_request", request_id=found.request.id).path
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/compliance/requests/{request_id}", name="compliance_request", include_in_schema=False)
def compliance_request(
    request: Request,
    user: PageUser,
    url: DatabaseUrl,
    request_id: str,
    done: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """One subject request: status, plan, re-scan verdict and its steps in the ledger."""
    return render_page(
        request,
        "compliance",
        "compliance_request.html",
        user=user,
        item=load_request(url, request_id),
        done=done,
        format_time=format_time,
    )


class EvidenceForm(BaseModel):
    """The period of an evidence pack."""

    period: str = ""


def _airflow_as(username: str) -> AbstractContextManager[httpx.Client | None]:
    """A client of this api-server's REST API with a short-lived token of ``username`` (None: no such user)."""
    from contextlib import nullcontext

    from scrollintel.approvals.decisions import UnknownUser, api_base_url, token_for
    from scrollintel.approvals.trigger import api_client

    try:
        token = token_for(username)
    except UnknownUser:
        return nullcontext(None)
    return api_client(api_base_url(), token)


@router.post("/compliance/evidence", name="compliance_evidence", include_in_schema=False)
def compliance_evidence(
    request: Request, user: PageUser, url: DatabaseUrl, form: Annotated[EvidenceForm, Form()]
) -> Response:
    """Build the SOC 2 evidence pack of the period (as ``scrollintel compliance evidence``) and download it."""
    import tempfile

    from scrollintel.compliance import evidence
    from scrollintel.exceptions import ConfigError

    period = form.period.strip()[:20]
    folder = Path(tempfile.mkdtemp(prefix="scrollintel-evidence-"))
    target = folder / f"evidence-{period}.zip"

    def cleanup() -> None:
        target.unlink(missing_ok=True)
        folder.rmdir()

    try:
        with _airflow_as(user.get_name()) as airflow:  # Airflow shows this user what they may read, no more
            evidence.build(
                url, period, target, airflow=airflow, actor=user.get_name(), ledger_url=url, period_name="Period"
            )
    except ConfigError as err:
        cleanup()
        return _page(request, user, url, status_code=400, error=f"Evidence pack: {err}", period=period)
    return FileResponse(
        target,
        media_type="application/zip",
        filename=target.name,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(cleanup),
    )
