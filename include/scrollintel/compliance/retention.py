"""Retention enforcement: rows past their retention class go, with proof; legal holds keep them.

**What.** Every raw table ``raw.<source>__<resource>`` takes the retention class of its resource
(``governance/sources``); every quarantine table the ``quarantine`` class. A row's age is counted
from its load time (``_loaded_at``), or from the column ``governance/retention.yaml`` names in
``date_columns``; quarantined rows from ``quarantined_at``. The platform's own stores are declared
under ``platform`` in ``governance/retention.yaml``: tables (quality results)
by the column that says when the platform wrote a row, with child tables whose rows go with it;
folders (checkpoint results and data docs, Airflow task logs) file by file, by modification time.
Raw lineage events are not purged: the runtime role may only append them.

**How.** The class's action: ``delete`` the rows past the cutoff; ``anonymise`` them (every
classified column set to null, the rest kept for statistics); ``archive`` them (written as JSON
lines to the object store under ``archive_prefix``, then deleted). Each table is its own
transaction; a re-run finds nothing more to do. Platform stores only ``delete``. In a folder only
regular files count: symlinks are neither followed nor removed, and a folder that leads outside
its root is left alone.

**Holds.** A table (or ``folder:<id>``) under a legal hold (``governance.retention_holds``, granted through the
``retention_override`` approval by the ``compliance_legal_hold`` DAG) is left alone until the hold
ends; the proof says so.

**Proof.** One ledger entry per run (``compliance.retention_enforced``, or
``compliance.retention_dry_run``): per table or folder the class, action, cutoff, rows (or files)
due, changed, counts before and after, child tables' counts, and the hold if any. The ledger
itself is never purged: the configuration refuses its tables as targets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
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
FOLDER_PREFIX = "folder:"


@dataclass(frozen=True)
class Target:
    """One table under retention: its class and the column its rows' age is counted from."""

    schema: str
    name: str
    class_id: str
    date_column: str
    classified: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    """Child tables (``schema.name``) whose rows go with this table's by ``ON DELETE CASCADE``."""

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class FolderTarget:
    """One folder of platform files under retention: ``<root>/<path>``."""

    id: str
    root: str
    path: str
    class_id: str

    @property
    def name(self) -> str:
        return f"{FOLDER_PREFIX}{self.id}"


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
    unit: str = "rows"
    includes: list[dict[str, Any]] | None = None
    """Per child table: its rows due, changed, and counts before and after."""


def targets(conn: psycopg.Connection[Any], gov: Governance) -> list[Target]:
    """The raw, quarantine and platform tables under retention, with their class (unknown sources are skipped)."""
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
    return found + platform_tables(conn, gov)


def platform_tables(conn: psycopg.Connection[Any], gov: Governance) -> list[Target]:
    """The platform tables ``retention.yaml`` declares (missing tables or date columns are skipped with a warning)."""
    found: list[Target] = []
    for item in gov.retention.platform.tables:
        schema, name = item.table.split(".", 1)
        columns = {
            str(column)
            for (column,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                (schema, name),
            )
        }
        if item.date_column not in columns:
            log.warning("%s: no such table or no column %s; skipped", item.table, item.date_column)
            continue
        found.append(Target(schema, name, item.retention_class, item.date_column, includes=tuple(item.includes)))
    return found


def folder_targets(gov: Governance) -> list[FolderTarget]:
    """The platform folders ``retention.yaml`` declares."""
    return [FolderTarget(f.id, f.root, f.path, f.retention_class) for f in gov.retention.platform.folders]


def hold_targets(conn: psycopg.Connection[Any], gov: Governance) -> set[str]:
    """Every name a legal hold may take: the tables (child tables included) and ``folder:<id>``."""
    names: set[str] = set()
    for target in targets(conn, gov):
        names.update((target.table, *target.includes))
    return names | {folder.name for folder in folder_targets(gov)}


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
    folder_roots: Mapping[str, Path] | None = None,
    run_id: str = "manual",
) -> list[Proof]:
    """Apply every class's action to the rows past its cutoff (``dry_run``: count only); one transaction per table.

    ``conn`` must be in autocommit mode (each table commits on its own). ``folder_roots``: where
    each folder root (``object_store``, ``state``, ``airflow_logs``) is; None: folders are not
    enforced, a root missing from it is reported as skipped.
    """
    holds = active_holds(conn, now)
    proofs: list[Proof] = []
    for target in targets(conn, gov):
        retention = gov.retention_class(target.class_id)
        cutoff = retention.duration.before(now)
        held = [until for name in (target.table, *target.includes) if (until := holds.get(name)) is not None]
        with conn.transaction():
            proofs.append(
                _enforce_one(
                    conn,
                    target,
                    retention.action,
                    cutoff,
                    held=max(held) if held else None,
                    dry_run=dry_run,
                    files_root=files_root,
                    prefix=gov.retention.archive_prefix,
                    run_id=run_id,
                )
            )
    if folder_roots is None:
        return proofs
    for folder in folder_targets(gov):
        retention = gov.retention_class(folder.class_id)
        root = folder_roots.get(folder.root)
        proofs.append(
            _enforce_folder(
                folder,
                root,
                retention.duration.before(now),
                action=retention.action,
                held=holds.get(folder.name),
                dry_run=dry_run,
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
    children: list[tuple[Any, dict[str, Any]]] = []
    for child in target.includes:
        joined = _cascading(conn, target, child, old)
        if joined is None:
            proof.skipped = f"{child} does not go with {target.table} (no ON DELETE CASCADE)"
            return proof
        child_table = sql.Identifier(*child.split(".", 1))
        count = _count(conn, sql.SQL("SELECT count(*) FROM {}").format(child_table), [])
        child_due = _count(conn, sql.SQL("SELECT count(*) FROM {} AS c WHERE {}").format(child_table, joined), params)
        children.append(
            (child_table, {"table": child, "due": child_due, "changed": 0, "rows_before": count, "rows_after": count})
        )
    proof.includes = [counts for _, counts in children] or None
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
    for child_table, counts in children:
        counts["rows_after"] = _count(conn, sql.SQL("SELECT count(*) FROM {}").format(child_table), [])
        counts["changed"] = counts["rows_before"] - counts["rows_after"]
    return proof


_FOREIGN_KEY = """
SELECT con.confdeltype, array_agg(a.attname::text ORDER BY k.ord), array_agg(af.attname::text ORDER BY k.ord)
FROM pg_constraint con
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(child_att, parent_att, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.child_att
JOIN pg_attribute af ON af.attrelid = con.confrelid AND af.attnum = k.parent_att
WHERE con.contype = 'f' AND con.conrelid = to_regclass(%s) AND con.confrelid = to_regclass(%s)
GROUP BY con.oid, con.confdeltype
"""


def _cascading(conn: psycopg.Connection[Any], parent: Target, child: str, old: Any) -> Any | None:
    """``EXISTS`` (child row ``c``'s parent is past the cutoff) when ``child`` cascades from ``parent``; else None."""
    from psycopg import sql

    for kind, child_columns, parent_columns in conn.execute(_FOREIGN_KEY, (child, parent.table)).fetchall():
        if kind != "c":
            continue
        keys = sql.SQL(" AND ").join(
            sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c))
            for p, c in zip(parent_columns, child_columns, strict=True)
        )
        table = sql.Identifier(parent.schema, parent.name)
        return sql.SQL("EXISTS (SELECT 1 FROM {} AS p WHERE {} AND {})").format(table, keys, old)
    return None


def _enforce_folder(
    folder: FolderTarget,
    root: Path | None,
    cutoff: datetime,
    *,
    action: str,
    held: datetime | None,
    dry_run: bool,
) -> Proof:
    """Delete the regular files under ``<root>/<path>`` last modified before ``cutoff``, then emptied folders."""
    proof = Proof(folder.name, folder.class_id, action, cutoff.isoformat(), 0, 0, 0, 0, unit="files")
    if root is None:
        proof.skipped = f"root {folder.root!r} not known here"
        return proof
    base = root / folder.path if folder.path else root
    if not base.is_dir():
        proof.skipped = "no such folder"
        return proof
    resolved_root = root.resolve()
    if base.is_symlink() or not base.resolve().is_relative_to(resolved_root):
        proof.skipped = "the folder leads outside its root"
        return proof
    files = _files(base)
    old = [path for path, mtime in files if mtime < cutoff.timestamp()]
    proof.rows_before = proof.rows_after = len(files)
    proof.due = len(old)
    if held is not None:
        proof.held_until, proof.skipped = held.isoformat(), "legal hold"
        return proof
    if dry_run or not old:
        proof.skipped = "dry run" if dry_run else None
        return proof
    for path in old:
        try:
            path.unlink()
            proof.changed += 1
        except FileNotFoundError:
            continue
    for directory, _, _ in os.walk(base, topdown=False, followlinks=False):
        if Path(directory) != base:
            with contextlib.suppress(OSError):  # only an empty folder goes
                Path(directory).rmdir()
    proof.rows_after = len(_files(base))
    return proof


def _files(base: Path) -> list[tuple[Path, float]]:
    """Every regular file under ``base`` with its modification time; symlinks are neither followed nor listed."""
    found: list[tuple[Path, float]] = []
    for directory, _, names in os.walk(base, followlinks=False):
        for name in names:
            path = Path(directory) / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((path, info.st_mtime))
    return found


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
        "tables": len([p for p in proofs if p.unit == "rows"]),
        "folders": len([p for p in proofs if p.unit == "files"]),
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
