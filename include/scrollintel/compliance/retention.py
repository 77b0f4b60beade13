"""Retention enforcement: rows past their retention class go, with proof; legal holds keep them.

**What.** Every raw table ``raw.<source>__<resource>`` takes the retention class of its resource
(``governance/sources``); every quarantine table the ``quarantine`` class. A row's age is counted
from its load time (``_loaded_at``), or from the column ``governance/retention.yaml`` names in
``date_columns``; quarantined rows from ``quarantined_at``.

**How.** The class's action: ``delete`` the rows past the cutoff; ``anonymise`` them (every
classified column set to null, the rest kept for statistics); ``archive`` them (written as JSON
lines to the object store under ``archive_prefix``, then deleted). Each table is its own
transaction; a re-run finds nothing more to do.

**Holds.** A table under a legal hold (``governance.retention_holds``, granted through the
``retention_override`` approval by the ``compliance_legal_hold`` DAG) is left alone until the hold
ends; the proof says so.

**Proof.** One ledger entry per run (``compliance.retention_enforced``, or
``compliance.retention_dry_run``): per table the class, action, cutoff, rows due, rows changed,
row counts before and after, and the hold if any. The ledger itself is never purged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.compliance.subjects import QUARANTINE_SCHEMA, catalogue, classified_columns
from scrollintel.warehouse import GOVERNANCE_SCHEMA, RAW_SCHEMA

if TYPE_CHECKING:
    import psycopg

    from scrollintel.config.governance import Governance

log = logging.getLogger(__name__)

LOAD_TIME = "_loaded_at"
QUARANTINE_TIME = "quarantined_at"
QUARANTINE_CLASS = "quarantine"
HOLDS = f"{GOVERNANCE_SCHEMA}.retention_holds"


@dataclass(frozen=True)
class Target:
    """One table under retention: its class and the column its rows' age is counted from."""

    schema: str
    name: str
    class_id: str
    date_column: str
    classified: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Proof:
    """What one run did (or would do) to one table."""

    table: str
    retention_class: str
    action: str
    cutoff: str
    due: int
    changed: int
    rows_before: int
    rows_after: int
    held_until: str | None = None
    archived_to: str | None = None
    skipped: str | None = None


def targets(conn: psycopg.Connection[Any], gov: Governance) -> list[Target]:
    """The raw and quarantine tables under retention, with their class (tables of unknown sources are skipped)."""
    classes = classified_columns(conn)
    found: list[Target] = []
    for relation in catalogue(conn, (RAW_SCHEMA, QUARANTINE_SCHEMA)):
        where = relation.source_resource()
        if relation.kind != "table" or where is None:
            continue
        if relation.schema == QUARANTINE_SCHEMA:
            if QUARANTINE_TIME in relation.columns:
                found.append(Target(relation.schema, relation.name, QUARANTINE_CLASS, QUARANTINE_TIME))
            continue
        source = gov.sources.get(where[0])
        if source is None or where[1] not in {r.name for r in source.resources}:
            continue
        column = gov.retention.date_columns.get(relation.qualified, LOAD_TIME)
        if column not in relation.columns:
            log.warning("%s: no column %s to count retention from; skipped", relation.qualified, column)
            continue
        classified = tuple(c for c in classes.classified.get(where, []) if c in relation.columns)
        found.append(Target(relation.schema, relation.name, source.retention_class_of(where[1]), column, classified))
    return found


def active_holds(conn: psycopg.Connection[Any], now: datetime) -> dict[str, datetime]:
    """Table -> the latest end of its holds still in force."""
    rows = conn.execute(
        f"SELECT target, max(held_until) FROM {HOLDS} WHERE held_until > %s GROUP BY target", (now,)
    ).fetchall()
    return {str(target): until for target, until in rows}


def add_hold(
    conn: psycopg.Connection[Any],
    target: str,
    until: datetime,
    *,
    reason: str,
    approved_by: str,
    dag_run_id: str | None = None,
) -> uuid.UUID:
    """Record a legal hold granted through the ``retention_override`` approval."""
    hold_id = uuid.uuid4()
    conn.execute(
        f"INSERT INTO {HOLDS} (id, target, held_until, reason, approved_by, dag_run_id) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (hold_id, target, until, reason, approved_by, dag_run_id),
    )
    return hold_id


def enforce(
    conn: psycopg.Connection[Any],
    gov: Governance,
    *,
    now: datetime,
    dry_run: bool,
    files_root: Path | None = None,
    run_id: str = "manual",
) -> list[Proof]:
    """Apply every class's action to the rows past its cutoff (``dry_run``: count only); one transaction per table.

    ``conn`` must be in autocommit mode (each table commits on its own).
    """
    holds = active_holds(conn, now)
    proofs: list[Proof] = []
    for target in targets(conn, gov):
        retention = gov.retention_class(target.class_id)
        cutoff = retention.duration.before(now)
        with conn.transaction():
            proofs.append(
                _enforce_one(
                    conn,
                    target,
                    retention.action,
                    cutoff,
                    held=holds.get(target.table),
                    dry_run=dry_run,
                    files_root=files_root,
                    prefix=gov.retention.archive_prefix,
                    run_id=run_id,
                )
            )
    return proofs


def _enforce_one(
    conn: psycopg.Connection[Any],
    target: Target,
    action: str,
    cutoff: datetime,
    *,
    held: datetime | None,
    dry_run: bool,
    files_root: Path | None,
    prefix: str,
    run_id: str,
) -> Proof:
    from psycopg import sql

    table = sql.Identifier(target.schema, target.name)
    old: sql.Composable = sql.SQL("{} < {}").format(sql.Identifier(target.date_column), sql.Placeholder())
    params: list[Any] = [cutoff]
    if action == "anonymise" and not target.classified:
        old, params = sql.SQL("false"), []  # nothing to anonymise
    elif action == "anonymise":
        old = sql.SQL("({}) AND ({})").format(
            old, sql.SQL(" OR ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in target.classified)
        )
    before = _count(conn, sql.SQL("SELECT count(*) FROM {}").format(table), [])
    due = _count(conn, sql.SQL("SELECT count(*) FROM {} WHERE {}").format(table, old), params)
    proof = Proof(target.table, target.class_id, action, cutoff.isoformat(), due, 0, before, before)
    if held is not None:
        proof.held_until, proof.skipped = held.isoformat(), "legal hold"
        return proof
    if dry_run or not due:
        proof.skipped = "dry run" if dry_run else None
        return proof
    if action == "anonymise":
        assignments = sql.SQL(", ").join(sql.SQL("{} = NULL").format(sql.Identifier(c)) for c in target.classified)
        changed = conn.execute(sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, old), params).rowcount
    else:
        if action == "archive" and files_root is not None:
            proof.archived_to = _archive(conn, target, (table, old, params), root=files_root / prefix, run_id=run_id)
        changed = conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(table, old), params).rowcount
    proof.changed = max(changed, 0)
    proof.rows_after = _count(conn, sql.SQL("SELECT count(*) FROM {}").format(table), [])
    return proof


def _count(conn: psycopg.Connection[Any], query: Any, params: Sequence[Any]) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def _archive(
    conn: psycopg.Connection[Any],
    target: Target,
    where: tuple[Any, Any, Sequence[Any]],
    *,
    root: Path,
    run_id: str,
) -> str:
    """Write the rows about to be purged as JSON lines (``<root>/<table>/<run>.jsonl``); the path."""
    from psycopg import sql

    table, old, params = where
    folder = root / target.table
    folder.mkdir(parents=True, exist_ok=True)
    safe_run = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
    path = folder / f"{safe_run}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        cursor = conn.execute(sql.SQL("SELECT to_jsonb(t)::text FROM {} AS t WHERE {}").format(table, old), params)
        for (line,) in cursor:
            out.write(line + "\n")
    return str(path)


def record(
    proofs: Sequence[Proof], *, dry_run: bool, run_id: str, actor: str | None = None, ledger_url: str | None = None
) -> None:
    """The run's proof as one ledger entry."""
    from scrollintel.audit import writer

    action = "compliance.retention_dry_run" if dry_run else "compliance.retention_enforced"
    writer.record(
        action,
        f"retention_run:{run_id}",
        {"tables": [asdict(proof) for proof in proofs], "dry_run": dry_run},
        actor=actor,
        key=f"{action}:{run_id}",
        url=ledger_url,
    )


def summary(proofs: Sequence[Proof]) -> Mapping[str, Any]:
    """Counts for the task's log and return value (no row values)."""
    return {
        "tables": len(proofs),
        "due": sum(p.due for p in proofs),
        "changed": sum(p.changed for p in proofs),
        "held": [p.table for p in proofs if p.held_until],
    }


@dataclass(frozen=True)
class HoldRequest:
    """A legal hold asked for: which table, until when, why."""

    table: str
    until: datetime
    reason: str

    @classmethod
    def parse(cls, params: Mapping[str, Any], known: set[str], *, now: datetime | None = None) -> HoldRequest:
        """Checked DAG params; ValueError naming the param and what is expected."""
        from datetime import UTC

        table = str(params.get("table") or "").strip()
        if table not in known:
            raise ValueError(
                f"params.table: {table!r} is not a table retention enforces (e.g. {', '.join(sorted(known)[:3])})"
            )
        text = str(params.get("until") or "").strip()
        try:
            until = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError as err:
            raise ValueError(f"params.until: {text!r} is not a date (YYYY-MM-DD)") from err
        if until <= (now or datetime.now(UTC)):
            raise ValueError(f"params.until: {text} is not in the future")
        reason = str(params.get("reason") or "").strip()
        if not reason:
            raise ValueError("params.reason: say why the data is held (a case or matter reference)")
        return cls(table, until, reason[:500])

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "until": self.until.isoformat(), "reason": self.reason}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> HoldRequest:
        return cls(str(value["table"]), datetime.fromisoformat(str(value["until"])), str(value["reason"]))


def grant_hold(
    conn: psycopg.Connection[Any],
    hold: HoldRequest,
    approved_by: str,
    dag_run_id: str | None,
    *,
    ledger_url: str | None = None,
) -> uuid.UUID:
    """Store an approved hold and record it in the ledger."""
    from scrollintel.audit import writer

    hold_id = add_hold(conn, hold.table, hold.until, reason=hold.reason, approved_by=approved_by, dag_run_id=dag_run_id)
    conn.commit()
    writer.record(
        "compliance.legal_hold_granted",
        f"dataset:{hold.table}",
        {"hold_id": str(hold_id), "until": hold.until.isoformat(), "reason": hold.reason},
        actor=approved_by,
        key=f"compliance.legal_hold:{hold_id}",
        url=ledger_url,
    )
    return hold_id


def record_hold_rejected(hold: Mapping[str, Any] | None, outcome: str, *, ledger_url: str | None = None) -> None:
    """A hold the approvers refused (or let expire): nothing is held."""
    from scrollintel.audit import writer

    table = str((hold or {}).get("table") or "unknown")
    writer.record("compliance.legal_hold_rejected", f"dataset:{table}", {"outcome": outcome}, url=ledger_url)
