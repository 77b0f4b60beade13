"""Read-only queries for the Audit page and its JSON API.

Every function takes the ledger database URL (the web app passes the warehouse URL of the
runtime role, which may SELECT the ledger). Results are pydantic models, ready to return
from FastAPI routes.

- :func:`search_entries`: filter by time range, actor, action, subject (exact, or prefix
  with a trailing ``*``), newest first, with offset pagination and the total count;
- :func:`entry_detail`: one entry with its inclusion proof document;
- :func:`ledger_status`: size, newest entry, latest verification and latest anchor, each only
  when signed by a trusted key;
- :func:`iter_export_rows`, :func:`export_csv`, :func:`export_json`: a filtered range as
  rows, CSV text chunks or JSON text chunks (oldest first), for downloads;
- :func:`distinct_values`: actors or actions seen, for filter drop-downs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from scrollintel.audit import storage

MAX_PAGE = 500
EXPORT_COLUMNS = (
    "seq",
    "recorded_at",
    "actor",
    "action",
    "subject",
    "details",
    "prev_hash",
    "entry_hash",
    "appended_at",
)


class EntryFilter(BaseModel):
    """Filters of the Audit page; empty fields do not filter. ``*`` at the end means "starts with"."""

    since: datetime | None = Field(default=None, description="recorded_at >= since")
    until: datetime | None = Field(default=None, description="recorded_at < until")
    actor: str | None = None
    action: str | None = Field(default=None, description="exact, or a prefix ending in * (e.g. airflow.*)")
    subject: str | None = Field(default=None, description="exact, or a prefix ending in *")


class EntryRow(BaseModel):
    """One ledger entry as the page shows it."""

    seq: int
    recorded_at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    details_json: str = Field(description="the canonical JSON text that was hashed")
    prev_hash: str
    entry_hash: str
    appended_at: datetime


class EntryPage(BaseModel):
    """A page of search results, newest first."""

    items: list[EntryRow]
    total: int
    limit: int
    offset: int


class EntryDetail(BaseModel):
    """An entry with its inclusion proof (see :mod:`scrollintel.audit.proof`)."""

    entry: EntryRow
    proof: dict[str, Any]


class VerificationStatus(BaseModel):
    """The latest verification result."""

    verified_at: datetime
    ok: bool
    tree_size: int
    kind: str | None
    bad_index: int | None
    message: str
    anchor_size: int | None
    anchored_at: datetime | None
    duration_ms: float


class AnchorStatus(BaseModel):
    """The latest signed tree head indexed in the database."""

    tree_size: int
    root_hash: str
    signed_at: datetime
    key_id: str
    location: str


class LedgerStatus(BaseModel):
    """What the top of the Audit page shows."""

    size: int
    last_recorded_at: datetime | None
    latest_verification: VerificationStatus | None
    latest_anchor: AnchorStatus | None
    uncovered: int = Field(default=0, description="entries after the newest signed tree head")
    oldest_uncovered_at: datetime | None = Field(default=None, description="when the oldest of them was appended")
    ignored_verifications: int = Field(
        default=0, description="newer verification rows not signed by a trusted key (ignored)"
    )


_SELECT = (
    "SELECT seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash, appended_at "
    f"FROM {storage.ENTRY_TABLE}"
)


def _like_prefix(value: str) -> str:
    return value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(filters: EntryFilter | None) -> tuple[str, list[Any]]:
    if filters is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if filters.since is not None:
        clauses.append("recorded_at >= %s")
        params.append(filters.since)
    if filters.until is not None:
        clauses.append("recorded_at < %s")
        params.append(filters.until)
    for column in ("actor", "action", "subject"):
        value = getattr(filters, column)
        if not value:
            continue
        if value.endswith("*"):
            clauses.append(f"{column} LIKE %s")
            params.append(_like_prefix(value))
        else:
            clauses.append(f"{column} = %s")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _row(row: tuple[Any, ...]) -> EntryRow:
    seq, recorded_at, actor, action, subject, details, prev, digest, appended_at = row
    return EntryRow(
        seq=seq,
        recorded_at=recorded_at,
        actor=actor,
        action=action,
        subject=subject,
        details=json.loads(details),
        details_json=details,
        prev_hash=bytes(prev).hex(),
        entry_hash=bytes(digest).hex(),
        appended_at=appended_at,
    )


def search_entries(url: str, filters: EntryFilter | None = None, *, limit: int = 50, offset: int = 0) -> EntryPage:
    """Entries matching ``filters``, newest first; ``limit`` is capped at 500."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    where, params = _where(filters)
    with storage.connection(url) as conn:
        total_row = conn.execute(f"SELECT count(*) FROM {storage.ENTRY_TABLE}{where}", params).fetchone()
        rows = conn.execute(
            f"{_SELECT}{where} ORDER BY seq DESC LIMIT %s OFFSET %s", [*params, limit, offset]
        ).fetchall()
    return EntryPage(
        items=[_row(r) for r in rows], total=int(total_row[0]) if total_row else 0, limit=limit, offset=offset
    )


def entry_detail(url: str, seq: int) -> EntryDetail | None:
    """One entry and its inclusion proof, or None when there is no such entry."""
    from scrollintel.audit.errors import AuditError
    from scrollintel.audit.proof import inclusion_document

    with storage.connection(url) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        row = conn.execute(f"{_SELECT} WHERE seq = %s", (seq,)).fetchone()
        if row is None:
            return None
        try:
            proof = inclusion_document(conn, seq)
        except AuditError as err:  # ProofError, LedgerCorrupted: shown on the page, not a 500
            proof = {"error": str(err)}
    return EntryDetail(entry=_row(row), proof=proof)


#: How many of the newest rows the page looks through for a trusted result.
_RECENT = 50


def _trusted_keys() -> dict[str, Any]:
    from scrollintel.audit.errors import SigningKeyError
    from scrollintel.audit.signing import trusted_public_keys

    try:
        return dict(trusted_public_keys())
    except SigningKeyError:
        return {}


def _trusted_verification(conn: Any, trusted: dict[str, Any]) -> tuple[VerificationStatus | None, int]:
    """The newest result signed by a trusted key (by its signed time), and how many newer rows were not."""
    from scrollintel.audit.canonical import parse_iso_time
    from scrollintel.audit.verify import trusted_verification

    rows = conn.execute(
        "SELECT document, signature, key_id FROM governance.audit_verification "
        "ORDER BY verified_at DESC, id DESC LIMIT %s",
        (_RECENT,),
    ).fetchall()
    checked = [trusted_verification(document, signature, key_id, trusted) for document, signature, key_id in rows]
    found = [(position, data) for position, data in enumerate(checked) if data is not None]
    if not found:
        return None, len(checked)
    # A re-inserted old result sorts by the time it was signed with, not by when it was inserted.
    position, data = max(found, key=lambda item: str(item[1]["verified_at"]))
    ignored = sum(1 for data_before in checked[:position] if data_before is None)
    return (
        VerificationStatus(
            verified_at=parse_iso_time(data["verified_at"]),
            ok=bool(data["ok"]),
            tree_size=int(data["tree_size"]),
            kind=data["kind"],
            bad_index=data["bad_index"],
            message=str(data["message"]),
            anchor_size=data["anchor_size"],
            anchored_at=parse_iso_time(data["anchored_at"]) if data["anchored_at"] else None,
            duration_ms=float(data["duration_ms"]),
        ),
        ignored,
    )


def _trusted_anchor(conn: Any, trusted: dict[str, Any]) -> AnchorStatus | None:
    """The largest indexed tree head signed by a trusted key."""
    from scrollintel.audit.anchor import TreeHead
    from scrollintel.audit.errors import AnchorError

    rows = conn.execute(
        "SELECT document, location FROM governance.audit_anchor ORDER BY tree_size DESC, id DESC LIMIT %s",
        (_RECENT,),
    ).fetchall()
    for document, location in rows:
        try:
            head = TreeHead.from_document(document, location)
        except AnchorError:
            continue
        if head.verify_signature(trusted) is None:
            return AnchorStatus(
                tree_size=head.tree_size,
                root_hash=head.root_hash.hex(),
                signed_at=head.signed_at(),
                key_id=head.key_id,
                location=location,
            )
    return None


def ledger_status(url: str) -> LedgerStatus:
    """Size, newest entry time, latest trusted verification and latest trusted anchor.

    Only results and heads signed by a trusted key count: the tables are written by the ledger's
    writer functions, but a superuser can insert anything, and a row is not evidence.
    """
    trusted = _trusted_keys()
    with storage.connection(url) as conn:
        head = conn.execute(f"SELECT seq, recorded_at FROM {storage.ENTRY_TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
        verification, ignored = _trusted_verification(conn, trusted)
        anchor = _trusted_anchor(conn, trusted)
        size = int(head[0]) + 1 if head else 0
        covered = min(anchor.tree_size, size) if anchor else 0
        oldest_uncovered = storage.appended_at(conn, covered) if size > covered else None
    return LedgerStatus(
        size=size,
        uncovered=max(0, size - covered),
        oldest_uncovered_at=oldest_uncovered,
        last_recorded_at=head[1] if head else None,
        latest_verification=verification,
        latest_anchor=anchor,
        ignored_verifications=ignored,
    )


def iter_export_rows(url: str, filters: EntryFilter | None = None, *, batch: int = 5000) -> Iterator[EntryRow]:
    """Every entry matching ``filters``, oldest first, streamed in batches."""
    where, params = _where(filters)
    after = -1
    while True:
        clause = f"{where} AND seq > %s" if where else " WHERE seq > %s"
        with storage.connection(url) as conn:
            rows = conn.execute(f"{_SELECT}{clause} ORDER BY seq LIMIT %s", [*params, after, batch]).fetchall()
        if not rows:
            return
        for row in rows:
            yield _row(row)
        after = int(rows[-1][0])
        if len(rows) < batch:
            return


def _flat(row: EntryRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "recorded_at": row.recorded_at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "details": row.details_json,
        "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
        "appended_at": row.appended_at.isoformat(),
    }


def export_csv(url: str, filters: EntryFilter | None = None) -> Iterator[str]:
    """CSV text chunks (header first) of the filtered range; ``details`` is the hashed JSON text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for count, row in enumerate(iter_export_rows(url, filters), start=1):
        writer.writerow(_flat(row))
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_json(url: str, filters: EntryFilter | None = None) -> Iterator[str]:
    """JSON text chunks forming one array of entries (oldest first)."""
    yield "["
    first = True
    for row in iter_export_rows(url, filters):
        yield ("" if first else ",") + json.dumps(_flat(row), ensure_ascii=False)
        first = False
    yield "]"


def distinct_values(url: str, column: Literal["actor", "action"], *, limit: int = 200) -> list[str]:
    """Distinct actors or actions (alphabetical, at most ``limit``), for filter drop-downs."""
    if column not in ("actor", "action"):
        raise ValueError(f"column must be actor or action, not {column!r}")
    with storage.connection(url) as conn:
        rows = conn.execute(
            f"SELECT DISTINCT {column} FROM {storage.ENTRY_TABLE} ORDER BY {column} LIMIT %s", (limit,)
        ).fetchall()
    return [str(r[0]) for r in rows]
