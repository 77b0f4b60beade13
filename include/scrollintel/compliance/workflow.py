"""A subject request from opening to proof: each step a ledger entry naming the request, never the subject.

Ledger actions (subject ``subject_request:<id>``): ``compliance.subject_request_opened``,
``compliance.subject_found``, ``compliance.access_exported``, ``compliance.erasure_planned``,
``compliance.erasure_executed``, ``compliance.erasure_verified`` (or ``..._verification_failed``),
``compliance.erasure_rejected``. Details are table names, counts, actions and legal bases.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from scrollintel import warehouse
from scrollintel.approvals.outcome import GateDecision
from scrollintel.compliance import erasure, requests, subjects
from scrollintel.compliance.subjects import Identifiers, SubjectInputError

log = logging.getLogger(__name__)


def _record(
    action: str, request_id: uuid.UUID, details: dict[str, Any], *, actor: str | None, ledger_url: str | None
) -> None:
    from scrollintel.audit import writer

    writer.record(
        f"compliance.{action}",
        f"subject_request:{request_id}",
        details,
        actor=actor,
        key=f"compliance:{request_id}:{action}",
        url=ledger_url,
    )


def open_request(
    url: str, kind: str, identifiers: Identifiers, requested_by: str, *, ledger_url: str | None = None
) -> uuid.UUID:
    """Store a new request and record it."""
    with warehouse.connect(url) as conn:
        request_id = requests.create(conn, kind, identifiers, requested_by)
    _record("subject_request_opened", request_id, {"kind": kind}, actor=requested_by, ledger_url=ledger_url)
    return request_id


def _open(conn: Any, request_id: uuid.UUID, kind: str | None = None) -> requests.SubjectRequest:
    request = requests.get(conn, request_id)
    if kind and request.kind != kind:
        raise SubjectInputError(f"subject request {request_id} is an {request.kind} request, not {kind}")
    if request.identifiers is None:
        raise SubjectInputError(f"subject request {request_id} is closed ({request.status}): its identifiers are gone")
    return request


def find(
    url: str, request_id: uuid.UUID, *, files_root: Path | None = None, ledger_url: str | None = None
) -> subjects.Findings:
    """Search for the request's subject; the locations (names and counts) go to the ledger."""
    with warehouse.connect(url) as conn:
        request = _open(conn, request_id)
        assert request.identifiers is not None
        findings, _ = subjects.find(conn, request.identifiers, files_root=files_root)
    _record("subject_found", request_id, _found(findings), actor=None, ledger_url=ledger_url)
    return findings


def _found(findings: subjects.Findings) -> dict[str, Any]:
    return {
        "locations": {location.target: location.rows for location in findings.locations},
        "total_rows": findings.total_rows,
        "hashed_search": findings.hashed_search,
    }


def access_export(
    url: str, request_id: uuid.UUID, *, files_root: Path | None = None, ledger_url: str | None = None
) -> dict[str, Any]:
    """The Art. 15 export of every row found; the request is closed (its identifiers dropped)."""
    with warehouse.connect(url) as conn:
        request = _open(conn, request_id, "access")
        assert request.identifiers is not None
        findings, subject = subjects.find(conn, request.identifiers, files_root=files_root)
        export = subjects.export_rows(conn, findings, subject, files_root)
        export["request_id"] = str(request_id)
        requests.update(conn, request_id, "executed", result=_found(findings))
    _record("access_exported", request_id, _found(findings), actor=None, ledger_url=ledger_url)
    return export


def plan(
    url: str,
    request_id: uuid.UUID,
    *,
    files_root: Path | None = None,
    ledger_url: str | None = None,
    dag_run_id: str | None = None,
) -> list[erasure.Step]:
    """The erasure plan for the request, stored with it (status ``awaiting_approval``) and recorded."""
    from scrollintel.config import load_governance

    with warehouse.connect(url) as conn:
        request = _open(conn, request_id, "erasure")
        assert request.identifiers is not None
        search = subjects.Search.prepare(conn)
        findings, _ = subjects.find(conn, request.identifiers, files_root=files_root, search=search)
        steps = erasure.plan(findings, load_governance(), search.classes)
        requests.update(conn, request_id, "awaiting_approval", plan=[s.as_dict() for s in steps], dag_run_id=dag_run_id)
    _record(
        "erasure_planned",
        request_id,
        {"steps": [_step(step) for step in steps], "total_rows": findings.total_rows},
        actor=None,
        ledger_url=ledger_url,
    )
    return steps


def _step(step: erasure.Step) -> dict[str, Any]:
    return {"target": step.target, "rows": step.rows, "action": step.action, "retention_class": step.retention_class}


def execute(
    url: str,
    request_id: uuid.UUID,
    decision: GateDecision | None,
    *,
    files_root: Path | None = None,
    ledger_url: str | None = None,
) -> dict[str, Any]:
    """Execute an approved erasure, re-scan, close the request; every step recorded.

    Without a granted decision: :class:`~scrollintel.compliance.erasure.ErasureRefused`, nothing changed
    (a rejection or expiry is recorded and closes the request).
    """
    from scrollintel.config import load_governance

    if decision is None or decision.outcome != "granted":
        reject(url, request_id, decision, ledger_url=ledger_url)
        outcome = decision.outcome if decision else "no decision"
        raise erasure.ErasureRefused(f"erasure request {request_id}: not approved ({outcome}); nothing was changed")
    with warehouse.connect(url, autocommit=True) as conn:
        request = _open(conn, request_id, "erasure")
        assert request.identifiers is not None
        search = subjects.Search.prepare(conn)
        findings, subject = subjects.find(conn, request.identifiers, files_root=files_root, search=search)
        steps = erasure.plan(findings, load_governance(), search.classes)
        changed = erasure.execute(conn, steps, subject, request_id, decision, files_root=files_root, pks=search.pks)
        _record(
            "erasure_executed",
            request_id,
            {"approved_by": decision.decided_by, "changed": changed, "steps": [_step(step) for step in steps]},
            actor=decision.decided_by,
            ledger_url=ledger_url,
        )
        proof = erasure.rescan(conn, steps, subject, files_root=files_root, search=search)
        status = "executed" if proof["ok"] else "failed"
        result = {"changed": changed, "rescan": proof, "approved_by": decision.decided_by}
        requests.update(conn, request_id, status, plan=[s.as_dict() for s in steps], result=result)
    _record(
        "erasure_verified" if proof["ok"] else "erasure_verification_failed",
        request_id,
        {"remaining": proof["remaining"], "violations": proof["violations"]},
        actor=None,
        ledger_url=ledger_url,
    )
    if not proof["ok"]:
        raise erasure.ErasureFailed(f"erasure request {request_id}: {'; '.join(proof['violations'])}")
    return result


def reject(url: str, request_id: uuid.UUID, decision: GateDecision | None, *, ledger_url: str | None = None) -> None:
    """Close a request the approvers rejected (or let expire): nothing is erased."""
    outcome = decision.outcome if decision else "expired"
    with warehouse.connect(url) as conn:
        requests.get(conn, request_id)
        requests.update(conn, request_id, "rejected", result={"outcome": outcome})
    _record(
        "erasure_rejected",
        request_id,
        {"outcome": outcome, "decided_by": decision.decided_by if decision else None},
        actor=decision.decided_by if decision else None,
        ledger_url=ledger_url,
    )


def locate(
    url: str, identifiers: Identifiers, actor: str, *, files_root: Path | None = None, ledger_url: str | None = None
) -> subjects.Findings:
    """Every location of the subject (what ``scrollintel subject find`` reports), without opening a request.

    Who searched and how much was found is a ledger entry (``compliance.subject_searched``, subject
    ``subject_search:<id>``): counts only, nothing that names or pseudonymises the subject (the ledger
    is never purged).
    """
    from scrollintel.audit import writer

    with warehouse.connect(url) as conn:
        findings, _ = subjects.find(conn, identifiers, files_root=files_root)
    search_id = uuid.uuid4()
    writer.record(
        "compliance.subject_searched",
        f"subject_search:{search_id}",
        {"locations": len(findings.locations), "total_rows": findings.total_rows},
        actor=actor,
        key=f"compliance:search:{search_id}",
        url=ledger_url,
    )
    return findings


#: The DAG that plans, gates and executes an erasure request (``dags/compliance_erasure.py``).
ERASURE_DAG = "compliance_erasure"


class TriggerFailed(SubjectInputError):
    """Airflow did not start the erasure run (the request stays open; the message says how to start it)."""


def trigger_erasure(request_id: uuid.UUID, username: str) -> str:
    """Start a ``compliance_erasure`` run for the request as the Airflow user ``username``; returns its run id.

    Through Airflow's REST API with a short-lived token of that user (as answers to approvals are
    recorded), so Airflow checks their right to trigger the DAG and names them as who triggered it;
    the ``erasure`` gate's separation of duties then keeps them from approving their own request.
    Runs in the api-server process, where the auth manager is configured.
    """
    import httpx

    from scrollintel.approvals.decisions import ANSWER_TIMEOUT_S, UnknownUser, api_base_url, token_for

    how = f'trigger {ERASURE_DAG} with {{"request_id": "{request_id}"}}'
    try:
        token = token_for(username)
    except UnknownUser as err:
        raise TriggerFailed(f"{username} is not an Airflow user; {how}") from err
    try:
        response = httpx.post(
            f"{api_base_url()}/api/v2/dags/{ERASURE_DAG}/dagRuns",
            json={
                "logical_date": None,
                "conf": {"request_id": str(request_id)},
                "note": f"subject request {request_id}",
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=ANSWER_TIMEOUT_S,
        )
    except httpx.HTTPError as err:
        raise TriggerFailed(f"Airflow did not answer ({type(err).__name__}); {how}") from err
    if response.status_code != 200:
        raise TriggerFailed(f"Airflow refused to start {ERASURE_DAG} (HTTP {response.status_code}); {how}")
    run_id = str(response.json()["dag_run_id"])
    log.info("subject request %s: %s run %s triggered by %s", request_id, ERASURE_DAG, run_id, username)
    return run_id


def steps(url: str, request_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ledger entries of the request, oldest first: ``seq``, ``recorded_at``, ``action``, ``actor``."""
    from scrollintel.warehouse import GOVERNANCE_SCHEMA

    with warehouse.connect(url) as conn:
        rows = conn.execute(
            f"SELECT seq, recorded_at, action, actor FROM {GOVERNANCE_SCHEMA}.audit_entry "
            "WHERE subject = %s ORDER BY seq",
            (f"subject_request:{request_id}",),
        ).fetchall()
    return [{"seq": seq, "recorded_at": at, "action": action, "actor": actor} for seq, at, action, actor in rows]
