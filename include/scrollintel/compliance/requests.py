"""Data subject requests: ``governance.subject_requests`` (migration 0014).

A request holds the subject's identifiers only while it is open; closing it keeps their SHA-256.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrollintel.compliance.subjects import Identifiers, SubjectInputError
from scrollintel.warehouse import GOVERNANCE_SCHEMA

if TYPE_CHECKING:
    import psycopg

TABLE = f"{GOVERNANCE_SCHEMA}.subject_requests"
SUPPRESSION_TABLE = f"{GOVERNANCE_SCHEMA}.subject_suppression"
KINDS = ("access", "erasure")
CLOSED = ("executed", "rejected")


@dataclass(repr=False)
class SubjectRequest:
    """One request; ``identifiers`` is None once it is closed."""

    id: uuid.UUID
    kind: str
    status: str
    identifiers: Identifiers | None
    requested_by: str
    plan: list[dict[str, Any]] | None
    result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return f"SubjectRequest(id={self.id}, kind={self.kind}, status={self.status})"

    def summary(self) -> dict[str, Any]:
        """What the page and the CLI show: never the identifiers."""
        return {
            "id": str(self.id),
            "kind": self.kind,
            "status": self.status,
            "requested_by": self.requested_by,
            "plan": self.plan,
            "result": self.result,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def parse_id(value: str) -> uuid.UUID:
    """A request id; :class:`SubjectInputError` naming the bad value (an id is no personal data)."""
    try:
        return uuid.UUID(str(value).strip())
    except ValueError as err:
        raise SubjectInputError(f"request id {value!r} is not a UUID") from err


def create(conn: psycopg.Connection[Any], kind: str, identifiers: Identifiers, requested_by: str) -> uuid.UUID:
    """A new open request; returns its id."""
    if kind not in KINDS:
        raise SubjectInputError(f"request kind {kind!r}: expected one of {', '.join(KINDS)}")
    request_id = uuid.uuid4()
    conn.execute(
        f"INSERT INTO {TABLE} (id, kind, status, identifiers, identifiers_sha256, requested_by) "
        "VALUES (%s, %s, 'open', %s::jsonb, %s, %s)",
        (request_id, kind, json.dumps(identifiers.as_json()), identifiers.sha256(), requested_by),
    )
    return request_id


_COLUMNS = "id, kind, status, identifiers, requested_by, plan, result, created_at, updated_at"


def _request(row: tuple[Any, ...]) -> SubjectRequest:
    identifiers = Identifiers.from_json(row[3]) if row[3] else None
    return SubjectRequest(row[0], row[1], row[2], identifiers, row[4], row[5], row[6], row[7], row[8])


def get(conn: psycopg.Connection[Any], request_id: uuid.UUID) -> SubjectRequest:
    """The request ``request_id``; :class:`SubjectInputError` when there is none."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = %s", (request_id,)).fetchone()
    if row is None:
        raise SubjectInputError(f"no subject request {request_id}")
    return _request(row)


def recent(conn: psycopg.Connection[Any], limit: int = 50) -> list[SubjectRequest]:
    """The newest requests first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY created_at DESC LIMIT %s", (limit,)).fetchall()
    return [_request(row) for row in rows]


def update(
    conn: psycopg.Connection[Any],
    request_id: uuid.UUID,
    status: str,
    *,
    plan: list[Mapping[str, Any]] | None = None,
    result: Mapping[str, Any] | None = None,
    dag_run_id: str | None = None,
) -> None:
    """Set the status (and plan, result, DAG run); a closed status drops the identifiers."""
    conn.execute(
        f"UPDATE {TABLE} SET status = %s, plan = COALESCE(%s::jsonb, plan), result = COALESCE(%s::jsonb, result), "
        "dag_run_id = COALESCE(%s, dag_run_id), updated_at = now(), "
        "identifiers = CASE WHEN %s THEN NULL ELSE identifiers END WHERE id = %s",
        (
            status,
            json.dumps(list(plan)) if plan is not None else None,
            json.dumps(dict(result)) if result is not None else None,
            dag_run_id,
            status in CLOSED,
            request_id,
        ),
    )
