"""Audit page: search the hash-chained ledger, open an entry with its inclusion proof, check verification.

Pages (HTML, server-rendered; every form is a plain GET form, except "Verify now")::

    GET  /audit                          status, search form, entries (newest first), pagination
    GET  /audit/entries/{seq}            one entry: canonical details and its inclusion proof
    POST /audit/verify                   run the verification now, then back to the page (303)

JSON API::

    GET  /api/audit                      ledger status: size, latest verification, latest anchor
    GET  /api/audit/entries              entries matching the filters, with limit and offset
    GET  /api/audit/entries/{seq}        one entry and its inclusion proof
    GET  /api/audit/entries/{seq}/proof  the inclusion proof document, as a download
    GET  /api/audit/export.csv           the filtered range as CSV, oldest first (streamed download)
    GET  /api/audit/export.json          the same as one JSON array
    POST /api/audit/verify               run the verification now; returns the report

Filters (query parameters, the same on the page, the entries API and the exports): ``since``
(recorded at or after), ``until`` (recorded before) as ISO dates or times, UTC unless they name
an offset; ``actor``; ``action`` and ``subject``, exact or a prefix ending in ``*``.

Every read goes through :mod:`scrollintel.audit.query` (read-only) on the URL of the
:func:`~scrollintel.web.deps.warehouse_url` dependency, which tests replace with
``app.dependency_overrides``. The routes are plain ``def`` functions, so FastAPI runs them (and
their database work) in its thread pool, never on the event loop; exports are sync generators
Starlette iterates in threads too. When the warehouse cannot be reached, or the ledger tables do
not exist yet, the page shows a panel saying so and what to do, and the API answers 503 with the
same message (see :func:`~scrollintel.web.problems.problem_route`).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from scrollintel.audit.query import (
    AnchorStatus,
    EntryDetail,
    EntryFilter,
    EntryRow,
    LedgerStatus,
    VerificationStatus,
)
from scrollintel.audit.storage import LedgerCorrupted
from scrollintel.exceptions import ScrollIntelError
from scrollintel.web.deps import AUDIT_VERIFY, DatabaseUrl, PageUser, may
from scrollintel.web.problems import PageData, PageProblem, database_errors, problem_route
from scrollintel.web.templating import code_spans, format_time, render, render_page, time_ago

log = logging.getLogger(__name__)

EMPTY_NOTICE = (
    "No audit records yet — the ledger is empty. Entries appear as soon as the platform records one: "
    "health checks, config validation, quality gates, and Airflow UI actions once the "
    "audit_import_airflow_log DAG has run."
)
NO_MATCH_NOTICE = "No entries match these filters."
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
DEFAULT_API_LIMIT = 100
MAX_API_LIMIT = 500
SHORT_HASH = 12
#: Seq numbers, offsets and page numbers beyond PostgreSQL's bigint are treated as out of range.
MAX_BIGINT = 2**63 - 1
MAX_PAGE_NUMBER = 10**9

#: One verification at a time per process: a full pass reads every entry.
_verify_lock = threading.Lock()


def _corrupted(err: BaseException) -> PageProblem | None:
    """A ledger the storage finds inconsistent is a problem of the page too (500: its data is wrong)."""
    if not isinstance(err, LedgerCorrupted):
        return None
    return PageProblem(
        "The ledger is inconsistent",
        str(err),
        hint="Run `scrollintel audit verify` to find the first bad entry.",
        status_code=500,
    )


LEDGER = PageData(
    "audit",
    data="the audit ledger",
    missing="The audit ledger does not exist yet",
    tables="The ledger tables (governance.audit_entry and its companions)",
    readable="the ledger",
    grant="the governance migrations grant it SELECT on the ledger",
    own_problem=_corrupted,
)

router = APIRouter(route_class=problem_route(LEDGER))


# -- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterInput:
    """The filter query parameters as given (the form shows them back)."""

    since: str = ""
    until: str = ""
    actor: str = ""
    action: str = ""
    subject: str = ""

    def params(self) -> dict[str, str]:
        """The non-empty filters, for links (pagination, exports)."""
        return {name: value for name, value in vars(self).items() if value}


def filter_input(
    since: Annotated[str | None, Query(description="recorded at or after (ISO date or time, UTC by default)")] = None,
    until: Annotated[str | None, Query(description="recorded before (ISO date or time, UTC by default)")] = None,
    actor: Annotated[str | None, Query(description="Airflow user or service, exact")] = None,
    action: Annotated[str | None, Query(description="exact, or a prefix ending in * (airflow.*)")] = None,
    subject: Annotated[str | None, Query(description="exact, or a prefix ending in * (dataset:raw.*)")] = None,
) -> FilterInput:
    """Collect the filter query parameters (blank means no filter)."""
    return FilterInput(*((value or "").strip() for value in (since, until, actor, action, subject)))


Filters = Annotated[FilterInput, Depends(filter_input)]


class FilterError(ValueError):
    """A filter value the page cannot use; the message names the parameter."""


def parse_time(value: str, name: str) -> datetime:
    """An ISO date or date-time; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise FilterError(
            f"{name}: {value!r} is not a date or time; use e.g. 2026-11-22 or 2026-11-22T10:30 (UTC)"
        ) from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def to_entry_filter(raw: FilterInput) -> EntryFilter:
    """The :class:`EntryFilter` for ``raw``; raises :class:`FilterError` naming the bad parameter."""
    since = parse_time(raw.since, "since") if raw.since else None
    until = parse_time(raw.until, "until") if raw.until else None
    if since is not None and until is not None and since >= until:
        raise FilterError("since must be earlier than until")
    return EntryFilter(
        since=since,
        until=until,
        actor=raw.actor or None,
        action=raw.action or None,
        subject=raw.subject or None,
    )


def _api_filter(raw: FilterInput) -> EntryFilter:
    try:
        return to_entry_filter(raw)
    except FilterError as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from err


def _input_time(value: str) -> str:
    """A filter time as a ``datetime-local`` input shows it (UTC), or the raw text when it does not parse."""
    try:
        moment = parse_time(value, "time").astimezone(UTC)
    except (FilterError, OverflowError):
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


# -- status ----------------------------------------------------------------------------------------


class AuditStatus(BaseModel):
    """The ledger at a glance: size, latest verification, latest anchor."""

    size: int = Field(description="number of entries (the Merkle tree size)")
    last_recorded_at: datetime | None
    state: Literal["verified", "failed", "not_verified"] = Field(
        description="outcome of the latest verification signed by a trusted key (the audit_verify DAG, the CLI "
        "or Verify now)"
    )
    verification: VerificationStatus | None
    entries_since_verification: int = Field(description="entries recorded after the latest verification")
    anchor: AnchorStatus | None = Field(description="the latest signed tree head, stored outside the database")
    entries_since_anchor: int = Field(description="entries not covered by the latest anchor yet")
    uncovered: int = Field(description="entries not yet covered by a signed tree head (0 when covered)")
    uncovered_since: datetime | None = Field(description="when the oldest entry not yet covered was appended")
    ignored_verifications: int = Field(
        default=0, description="newer verification records not signed by a trusted key, ignored for the state"
    )
    notice: str | None = Field(default=None, description="why there is nothing to show, when the ledger is empty")


def build_status(ledger: LedgerStatus) -> AuditStatus:
    """The :class:`AuditStatus` of a :class:`~scrollintel.audit.query.LedgerStatus`."""
    verification = ledger.latest_verification
    anchor = ledger.latest_anchor
    if verification is None:
        state: Literal["verified", "failed", "not_verified"] = "not_verified"
    else:
        state = "verified" if verification.ok else "failed"
    return AuditStatus(
        size=ledger.size,
        last_recorded_at=ledger.last_recorded_at,
        state=state,
        verification=verification,
        entries_since_verification=max(0, ledger.size - verification.tree_size) if verification else ledger.size,
        anchor=anchor,
        entries_since_anchor=max(0, ledger.size - anchor.tree_size) if anchor else ledger.size,
        uncovered=ledger.uncovered,
        uncovered_since=ledger.oldest_uncovered_at,
        ignored_verifications=ledger.ignored_verifications,
        notice=EMPTY_NOTICE if ledger.size == 0 else None,
    )


def load_status(url: str) -> AuditStatus:
    """Read the ledger status from the database at ``url``."""
    from scrollintel.audit.query import ledger_status

    return build_status(ledger_status(url))


class VerificationRun(BaseModel):
    """The report of a verification run from the page or the API (also stored for the status)."""

    ok: bool
    size: int
    kind: str | None = Field(description="edited, deleted, inserted, reordered, truncated, rewritten, tree, anchor")
    index: int | None = Field(description="the first bad entry (its seq)")
    message: str
    anchored: bool
    anchor_size: int | None
    anchor_time: str | None
    duration_ms: float
    notes: list[str]


def run_verification(url: str) -> VerificationRun | None:
    """Verify the ledger now (chain, Merkle tree, anchors) and store the result; None when one is running.

    The same check as ``scrollintel audit verify`` and the audit_verify DAG.
    """
    from scrollintel.audit.verify import verify_ledger

    if not _verify_lock.acquire(blocking=False):
        return None
    try:
        report = verify_ledger(url)
    except ScrollIntelError as err:
        raise PageProblem("The verification could not run", str(err), status_code=500) from err
    finally:
        _verify_lock.release()
    return VerificationRun(
        ok=report.ok,
        size=report.size,
        kind=report.kind,
        index=report.index,
        message=report.message,
        anchored=report.anchored,
        anchor_size=report.anchor_size,
        anchor_time=report.anchor_time,
        duration_ms=report.duration_ms,
        notes=list(report.notes),
    )


# -- entries -------------------------------------------------------------------------------------


class EntryList(BaseModel):
    """A page of entries, newest first."""

    items: list[EntryRow]
    total_entries: int = Field(description="entries matching the filters")
    limit: int
    offset: int
    filters: EntryFilter
    notice: str | None = None


@dataclass(frozen=True)
class Pager:
    """Page arithmetic of the entries table (pages are 1-based, newest first)."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first_item(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_item(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def has_newer(self) -> bool:
        return self.number > 1

    @property
    def has_older(self) -> bool:
        return self.number < self.pages


def _positive(value: str | None, default: int, maximum: int = MAX_PAGE_NUMBER) -> int:
    """A positive whole number from a query parameter, else ``default`` (capped at ``maximum``)."""
    try:
        number = int(value) if value else default
    except ValueError:
        return default
    return min(number, maximum) if number > 0 else default


def _page_href(request: Request, raw: FilterInput, **extra: int | str) -> str:
    query = urlencode({**raw.params(), **{key: str(value) for key, value in extra.items()}})
    path = request.url_for("audit_page").path
    return f"{path}?{query}" if query else path


def _export_href(request: Request, name: str, raw: FilterInput) -> str:
    query = urlencode(raw.params())
    path = request.url_for(name).path
    return f"{path}?{query}" if query else path


def _action_options(actions: list[str], current: str) -> list[tuple[str, str]]:
    """``(value, label)`` for the action select: each action, and ``prefix.*`` for each family."""
    families = sorted({action.split(".", 1)[0] for action in actions if "." in action})
    options = [(f"{family}.*", f"{family}.* (all)") for family in families]
    options += [(action, action) for action in actions]
    if current and current not in {value for value, _ in options}:
        options.insert(0, (current, current))
    return options


def _with_current(values: list[str], current: str) -> list[str]:
    return values if not current or current in values else [current, *values]


# -- template helpers --------------------------------------------------------------------------------


def count_entries(count: int) -> str:
    """``1 entry``, ``1,234 entries``."""
    return f"{count:,} {'entry' if count == 1 else 'entries'}"


def _helpers() -> dict[str, Any]:
    return {
        "code_spans": code_spans,
        "format_time": format_time,
        "time_ago": time_ago,
        "short_hash": lambda value: value[:SHORT_HASH],
        "number": lambda value: f"{value:,}",
        "count_entries": count_entries,
    }


# -- pages -----------------------------------------------------------------------------------------

VERIFY_MESSAGES = {
    "done": "Verification finished; the result is below.",
    "busy": "A verification is already running; its result will appear here when it finishes.",
}


@router.get("/audit", name="audit_page", include_in_schema=False)
def audit_page(
    request: Request,
    user: PageUser,
    url: DatabaseUrl,
    raw: Filters,
    *,
    page_number: Annotated[str | None, Query(alias="page")] = None,
    per_page: str | None = None,
    verify: str | None = None,
) -> Response:
    """Render the status, the search form and one page of matching entries."""
    from scrollintel.audit.query import distinct_values, search_entries

    audit_status = load_status(url)
    size = _positive(per_page, DEFAULT_PAGE_SIZE)
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    context: dict[str, Any] = {
        "status": audit_status,
        "raw": raw,
        "since_value": _input_time(raw.since) if raw.since else "",
        "until_value": _input_time(raw.until) if raw.until else "",
        "page_sizes": PAGE_SIZES,
        "per_page": size,
        "verify_message": VERIFY_MESSAGES.get(verify or ""),
        # Only those who may run the verification see its button (the others would get a 403 page).
        "verify_action": (
            request.url_for("audit_verify_page").path + (f"?{request.url.query}" if request.url.query else "")
            if may(user, AUDIT_VERIFY)
            else None
        ),
        "verify_needs": AUDIT_VERIFY.needs,
        "filter_error": None,
        "entries": None,
        "pager": None,
        "filtered": bool(raw.params()),
        **_helpers(),
    }
    status_code = status.HTTP_200_OK
    if audit_status.size > 0:
        actors = distinct_values(url, "actor")
        actions = distinct_values(url, "action")
        context["actor_options"] = _with_current(actors, raw.actor)
        context["action_options"] = _action_options(actions, raw.action)
        try:
            filters = to_entry_filter(raw)
        except FilterError as err:
            context["filter_error"] = str(err)
            status_code = status.HTTP_400_BAD_REQUEST
        else:
            pager = Pager(number=_positive(page_number, 1), size=size, total=0)
            found = search_entries(url, filters, limit=size, offset=pager.offset)
            pager = Pager(number=pager.number, size=size, total=found.total)
            context.update(
                entries=found.items,
                pager=pager,
                newer_href=_page_href(request, raw, page=pager.number - 1, per_page=size),
                older_href=_page_href(request, raw, page=pager.number + 1, per_page=size),
                last_href=_page_href(request, raw, page=pager.pages, per_page=size),
                csv_href=_export_href(request, "audit_export_csv", raw),
                json_href=_export_href(request, "audit_export_json", raw),
            )
    return render_page(request, "audit", "audit.html", user=user, status_code=status_code, **context)


@router.get("/audit/entries/{seq}", name="audit_entry_page", include_in_schema=False)
def audit_entry_page(request: Request, user: PageUser, url: DatabaseUrl, seq: int) -> Response:
    """Render one entry with its canonical details and inclusion proof, checked here as a reader would."""
    from scrollintel.audit.proof import check_inclusion_document
    from scrollintel.audit.query import entry_detail

    detail = entry_detail(url, seq) if 0 <= seq <= MAX_BIGINT else None
    ledger_size = load_status(url).size
    if detail is None:
        last = f"0 to {ledger_size - 1}" if ledger_size else "none yet"
        raise PageProblem(
            f"No audit entry {seq}",
            f"The ledger has {count_entries(ledger_size)} (seq {last}).",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    proof = detail.proof
    return render(
        request,
        "audit_entry.html",
        user=user,
        title=f"Audit entry {seq}",
        current="audit",
        entry=detail.entry,
        details_pretty=json.dumps(detail.entry.details, indent=2, ensure_ascii=False, sort_keys=True),
        proof=proof,
        proof_error=proof.get("error"),
        # Everything but the tree head's signature, which needs the trusted public keys (verification has them).
        proof_problems=[] if "error" in proof else check_inclusion_document(proof),
        tree_head=proof.get("tree_head"),
        tree_head_json=json.dumps(proof.get("tree_head"), indent=2, ensure_ascii=False),
        ledger_size=ledger_size,
        **_helpers(),
    )


@router.post("/audit/verify", name="audit_verify_page", include_in_schema=False)
def audit_verify_page(request: Request, user: PageUser, url: DatabaseUrl) -> Response:
    """Run the verification now, then show the page again (POST, redirect, GET).

    Permission and same-origin check: :data:`~scrollintel.web.deps.ROUTE_PERMISSIONS` (``audit:verify``).
    """
    outcome = "busy" if run_verification(url) is None else "done"
    query = [(key, value) for key, value in request.query_params.multi_items() if key != "verify"]
    target = request.url_for("audit_page").path + "?" + urlencode([*query, ("verify", outcome)])
    return RedirectResponse(f"{target}#status", status_code=status.HTTP_303_SEE_OTHER)


# -- JSON API --------------------------------------------------------------------------------------


@router.get("/api/audit", name="audit_api")
def audit_api(url: DatabaseUrl) -> AuditStatus:
    """Ledger status: size, newest entry, latest verification and latest anchor."""
    return load_status(url)


@router.get("/api/audit/entries", name="audit_entries_api")
def audit_entries_api(
    url: DatabaseUrl,
    raw: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_API_LIMIT)] = DEFAULT_API_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> EntryList:
    """Entries matching the filters, newest first."""
    from scrollintel.audit.query import search_entries

    filters = _api_filter(raw)
    found = search_entries(url, filters, limit=limit, offset=offset)
    notice = None
    if found.total == 0:
        notice = NO_MATCH_NOTICE if raw.params() else EMPTY_NOTICE
    return EntryList(
        items=found.items,
        total_entries=found.total,
        limit=found.limit,
        offset=found.offset,
        filters=filters,
        notice=notice,
    )


def _detail_or_404(url: str, seq: int) -> EntryDetail:
    from scrollintel.audit.query import entry_detail

    detail = entry_detail(url, seq) if 0 <= seq <= MAX_BIGINT else None
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No audit entry {seq}")
    return detail


@router.get("/api/audit/entries/{seq}", name="audit_entry_api")
def audit_entry_api(url: DatabaseUrl, seq: int) -> EntryDetail:
    """One entry and its inclusion proof (``proof.error`` says why there is none)."""
    return _detail_or_404(url, seq)


@router.get("/api/audit/entries/{seq}/proof", name="audit_proof_download")
def audit_proof_download(url: DatabaseUrl, seq: int) -> Response:
    """The inclusion proof of entry ``seq`` as a JSON file (check it with ``scrollintel.audit.proof``)."""
    proof = _detail_or_404(url, seq).proof
    if "error" in proof:
        raise HTTPException(status.HTTP_409_CONFLICT, f"No inclusion proof for entry {seq}: {proof['error']}")
    return Response(
        json.dumps(proof, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="audit-entry-{seq}-proof.json"'},
    )


def _export(url: str, raw: FilterInput, kind: Literal["csv", "json"]) -> StreamingResponse:
    from scrollintel.audit.query import export_csv, export_json, search_entries

    filters = _api_filter(raw)
    # Ask before streaming: an unreachable database or missing tables still get a clear answer,
    # which a response whose headers are already sent could not give.
    total = search_entries(url, filters, limit=1).total
    chunks = export_csv(url, filters) if kind == "csv" else export_json(url, filters)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _logged(chunks, kind),
        media_type="text/csv; charset=utf-8" if kind == "csv" else "application/json",
        headers={
            "Content-Disposition": f'attachment; filename="audit-ledger-{stamp}.{kind}"',
            "X-Total-Count": str(total),
            "Cache-Control": "no-store",
        },
    )


def _logged(chunks: Iterator[str], kind: str) -> Iterator[str]:
    """Pass the chunks through; a failure mid-stream is logged and aborts the download (never truncates it quietly)."""
    try:
        yield from chunks
    except database_errors(LedgerCorrupted) as err:
        log.warning("audit %s export aborted: %s", kind, type(err).__name__)
        raise


@router.get("/api/audit/export.csv", name="audit_export_csv")
def audit_export_csv(url: DatabaseUrl, raw: Filters) -> StreamingResponse:
    """Entries matching the filters as CSV, oldest first; ``details`` is the canonical JSON that was hashed."""
    return _export(url, raw, "csv")


@router.get("/api/audit/export.json", name="audit_export_json")
def audit_export_json(url: DatabaseUrl, raw: Filters) -> StreamingResponse:
    """Entries matching the filters as one JSON array, oldest first."""
    return _export(url, raw, "json")


@router.post("/api/audit/verify", name="audit_verify_api")
def audit_verify_api(url: DatabaseUrl) -> VerificationRun:
    """Verify the ledger now and store the result; 409 when a verification is already running.

    Permission and same-origin check: :data:`~scrollintel.web.deps.ROUTE_PERMISSIONS` (``audit:verify``).
    """
    report = run_verification(url)
    if report is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "A verification is already running")
    return report
