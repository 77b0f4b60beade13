"""Erasure (GDPR Art. 17): a plan from the findings, executed after approval, proven by a re-scan.

**Plan.** Each location gets an action from the retention class of the data it holds
(``governance/retention.yaml``, field ``erasure``):

- ``delete`` the subject's rows;
- ``redact`` them: the classified columns (``governance.column_classification``) set to null, the
  rest kept under the class's legal basis (financial records: Art. 17(3)(b));
- ``keep`` them whole under the legal basis (also ``redact`` where the table holds no classified
  column);
- a staging view ``follows`` its raw table (a view has no rows of its own);
- object-store files: the subject's lines are removed;
- the source system is a ``manual`` step: out of the platform's hands; the suppression list keeps
  the next ingestion from bringing the subject back.

Raw and quarantine tables take their class from ``governance/sources`` (quarantine: the
``quarantine`` class), a mart the class of the raw resource it is named after (``marts.orders``:
``orders``); any other derived table (scores, features, attribution) is personal data with no
legal basis of its own and is deleted.

**Execution.** Only with a granted approval (:class:`ErasureRefused` otherwise, nothing changed).
The warehouse's deletes, redactions and suppression entries are one transaction; files are
rewritten after it commits (a file system has no transaction: a failure there leaves the
warehouse erased and the request ``failed``, and a re-run finishes the files). The re-scan then
searches again with the identifiers resolved before the erasure (the rows that linked them are
gone) and proves 0 rows where deletion was planned and no classified value left where redaction
was.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.approvals.outcome import GateDecision
from scrollintel.compliance import subjects
from scrollintel.compliance.subjects import (
    QUARANTINE_SCHEMA,
    SUBJECT_KEY,
    Findings,
    Location,
    Search,
    Subject,
)
from scrollintel.compliance.suppression import HASH_SQL
from scrollintel.compliance.suppression import TABLE as SUPPRESSION
from scrollintel.exceptions import ScrollIntelError
from scrollintel.warehouse import GOVERNANCE_SCHEMA, MARTS_SCHEMA, RAW_SCHEMA

if TYPE_CHECKING:
    import psycopg

    from scrollintel.config.governance import Governance

log = logging.getLogger(__name__)

DELETE, REDACT, KEEP, FOLLOWS, MANUAL = "delete", "redact", "keep", "follows", "manual"
QUARANTINE_CLASS = "quarantine"
NO_BASIS = "derived personal data with no legal basis of its own"


class ErasureRefused(ScrollIntelError):
    """An erasure without a granted approval: nothing was changed."""


class ErasureFailed(ScrollIntelError):
    """The re-scan after an erasure found rows where deletion was planned (the request is ``failed``)."""


@dataclass
class Step:
    """One line of the plan: a location and what happens to it."""

    target: str
    layer: str
    kind: str
    rows: int
    action: str
    legal_basis: str
    retention_class: str | None = None
    columns: list[str] = field(default_factory=list)
    """Redact: the columns set to null."""
    follows: str | None = None
    """A view's raw table, or the source system of a manual step."""
    location: Location | None = None

    def as_dict(self) -> dict[str, Any]:
        """Names, counts and reasons only."""
        return {
            "target": self.target,
            "layer": self.layer,
            "kind": self.kind,
            "rows": self.rows,
            "action": self.action,
            "legal_basis": self.legal_basis,
            "retention_class": self.retention_class,
            "columns": self.columns,
            "follows": self.follows,
        }

    @property
    def expects_none_left(self) -> bool:
        return self.action == DELETE or (self.action == FOLLOWS and self.follows_action == DELETE)

    follows_action: str | None = None


def _class_of(gov: Governance, source: str, resource: str) -> str | None:
    try:
        return gov.source(source).retention_class_of(resource)
    except KeyError:
        return None


def _resource_classes(gov: Governance) -> dict[str, str]:
    """Resource name -> retention class, for names used by exactly one source."""
    seen: dict[str, set[str]] = {}
    for source in gov.sources.values():
        for resource in source.resources:
            seen.setdefault(resource.name, set()).add(source.retention_class_of(resource.name))
    return {name: next(iter(classes)) for name, classes in seen.items() if len(classes) == 1}


def plan(findings: Findings, gov: Governance, classes: subjects.Classified) -> list[Step]:
    """The erasure plan for ``findings`` (see the module docstring)."""
    by_resource = _resource_classes(gov)
    steps: list[Step] = []
    raw_actions: dict[str, str] = {}
    sources: set[str] = set()

    def rule(class_id: str | None) -> tuple[str, str]:
        if class_id is None:
            return DELETE, NO_BASIS
        retention = gov.retention_class(class_id)
        return retention.erasure, retention.legal_basis

    for location in findings.locations:
        where = location.source_resource
        relation = location.relation
        if location.kind == "file":
            steps.append(
                Step(location.target, location.layer, "file", location.rows, DELETE, NO_BASIS, location=location)
            )
            continue
        assert relation is not None
        if relation.schema == QUARANTINE_SCHEMA:
            class_id: str | None = QUARANTINE_CLASS if _known(gov, QUARANTINE_CLASS) else None
            redactable: list[str] = []
        elif relation.schema == RAW_SCHEMA and where:
            class_id = _class_of(gov, *where)
            redactable = [c for c in classes.classified.get(where, []) if c in relation.columns and c != SUBJECT_KEY]
            sources.add(where[0])
        elif relation.schema == MARTS_SCHEMA:
            class_id = by_resource.get(relation.name)
            redactable = [c for c in _classified_names(classes) if c in relation.columns and c != SUBJECT_KEY]
        else:
            class_id, redactable = None, []
        action, basis = rule(class_id)
        if relation.kind == "view":
            raw = f"{RAW_SCHEMA}.{where[0]}__{where[1]}" if where else None
            steps.append(
                Step(
                    location.target,
                    location.layer,
                    "view",
                    location.rows,
                    FOLLOWS,
                    "a view holds no rows of its own: it shows what its raw table keeps",
                    class_id,
                    follows=raw,
                    location=location,
                )
            )
            continue
        if action == REDACT and not redactable:
            action = KEEP
        step = Step(
            location.target,
            location.layer,
            location.kind,
            location.rows,
            action,
            NO_BASIS if action == DELETE and class_id is None else basis,
            class_id,
            columns=redactable if action == REDACT else [],
            location=location,
        )
        if relation.schema == RAW_SCHEMA:
            raw_actions[location.target] = action
        steps.append(step)
    for step in steps:
        if step.action == FOLLOWS:
            step.follows_action = raw_actions.get(step.follows or "", KEEP)
    for source in sorted(sources):
        connection = getattr(gov.source(source), "connection_id", None) or source
        steps.append(
            Step(
                f"source system {source}",
                "source",
                "system",
                0,
                MANUAL,
                f"outside the platform: erase the subject in {source} (connection {connection}); until then the "
                "suppression list keeps ingestion from loading them again",
                follows=source,
            )
        )
    return steps


def _known(gov: Governance, class_id: str) -> bool:
    try:
        gov.retention_class(class_id)
    except KeyError:
        return False
    return True


def _classified_names(classes: subjects.Classified) -> set[str]:
    return {column for columns in classes.classified.values() for column in columns}


def plan_markdown(steps: Sequence[Step]) -> str:
    """The plan as a Markdown table (what the approver reads)."""
    lines = ["| target | rows | action | legal basis |", "| --- | ---: | --- | --- |"]
    for step in steps:
        action = step.action + (f" ({', '.join(step.columns)})" if step.columns else "")
        if step.follows and step.action == FOLLOWS:
            action += f" {step.follows}"
        basis = step.legal_basis.replace("|", "/").replace("\n", " ")
        lines.append(f"| {step.target} | {step.rows} | {action} | {basis} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- execution


def execute(
    conn: psycopg.Connection[Any],
    steps: Sequence[Step],
    subject: Subject,
    request_id: uuid.UUID,
    decision: GateDecision | None,
    *,
    files_root: Path | None = None,
    pks: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
) -> dict[str, int]:
    """Apply ``steps`` in one warehouse transaction, then the files; target -> rows changed.

    :class:`ErasureRefused` (nothing changed) unless ``decision`` is a granted approval.
    """
    from psycopg import sql

    if decision is None or decision.outcome != "granted":
        outcome = decision.outcome if decision else "no decision"
        raise ErasureRefused(f"erasure request {request_id}: not approved ({outcome}); nothing was changed")
    primary = pks if pks is not None else subjects.primary_keys()
    changed: dict[str, int] = {}
    with conn.transaction():
        for step in steps:
            location = step.location
            if step.action not in (DELETE, REDACT) or location is None or location.relation is None:
                continue
            relation = location.relation
            predicate, params = location.predicate
            table = sql.Identifier(relation.schema, relation.name)
            if relation.schema == RAW_SCHEMA and location.source_resource:
                _suppress(conn, location, subject, request_id, primary)
            if step.action == DELETE:
                done = conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(table, predicate), params)
            else:
                assignments = sql.SQL(", ").join(
                    sql.SQL("{} = NULL").format(sql.Identifier(column)) for column in step.columns
                )
                done = conn.execute(sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, predicate), params)
            changed[step.target] = max(done.rowcount, 0)
    for step in steps:
        if step.action == DELETE and step.kind == "file" and files_root is not None:
            changed[step.target] = remove_lines(files_root / step.target, subject)
    log.info("erasure %s: %d location(s) changed", request_id, len(changed))
    return changed


def _suppress(
    conn: psycopg.Connection[Any],
    location: Location,
    subject: Subject,
    request_id: uuid.UUID,
    pks: Mapping[tuple[str, str], tuple[str, ...]],
) -> None:
    """Suppression entries for the subject's rows of a raw table, before they change."""
    from psycopg import sql

    relation = location.relation
    assert relation is not None and location.source_resource is not None
    source, resource = location.source_resource
    columns = [SUBJECT_KEY] if SUBJECT_KEY in relation.columns else []
    columns += [
        c for (s, c) in subject.linked if s == source and c in relation.columns and SUBJECT_KEY not in relation.columns
    ]
    own = pks.get((source, resource), ())
    if len(own) == 1:
        columns.append(own[0])
    predicate, params = location.predicate
    for column in dict.fromkeys(columns):
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (source, resource, column_name, value_sha256, request_id) "
                "SELECT DISTINCT {}, {}, {}, " + HASH_SQL + ", {} FROM {} WHERE ({}) AND {} IS NOT NULL "
                "ON CONFLICT DO NOTHING"
            ).format(
                sql.Identifier(GOVERNANCE_SCHEMA, SUPPRESSION),
                sql.Literal(source),
                sql.Literal(resource),
                sql.Literal(column),
                sql.Identifier(column),
                sql.Literal(request_id),
                sql.Identifier(relation.schema, relation.name),
                predicate,
                sql.Identifier(column),
            ),
            params,
        )


def remove_lines(path: Path, subject: Subject) -> int:
    """Rewrite ``path`` without the subject's records (atomic rename); returns how many were removed."""
    wanted = set(subjects.matching_lines(path, subject))
    if not wanted:
        return 0
    csv_file = path.suffix.lower() == ".csv"
    with path.open(encoding="utf-8", newline="") as handle:
        lines = handle.readlines()
    header, body = (lines[:1], lines[1:]) if csv_file else ([], lines)
    kept = header + [line for number, line in enumerate(body) if number not in wanted]
    handle_fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle_fd, "w", encoding="utf-8", newline="") as out:
        out.writelines(kept)
    os.replace(temporary, path)
    return len(wanted)


def rescan(
    conn: psycopg.Connection[Any],
    steps: Sequence[Step],
    subject: Subject,
    *,
    files_root: Path | None = None,
    search: Search | None = None,
) -> dict[str, Any]:
    """Search again with the resolved subject: what remains where, and whether the plan holds."""
    from psycopg import sql

    findings = find_again(conn, subject, files_root=files_root, search=search)
    remaining = {location.target: location.rows for location in findings.locations}
    violations: list[str] = []
    for step in steps:
        left = remaining.get(step.target, 0)
        if step.expects_none_left and left:
            violations.append(f"{step.target}: {left} row(s) left where deletion was planned")
        if step.action == REDACT and step.location is not None and step.location.relation is not None and left:
            relation = step.location.relation
            predicate, params = _located(findings, step.target)
            not_null = sql.SQL(" OR ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in step.columns)
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE ({}) AND ({})").format(
                    sql.Identifier(relation.schema, relation.name), predicate, not_null
                ),
                params,
            ).fetchone()
            if row and row[0]:
                violations.append(f"{step.target}: {row[0]} row(s) still hold a redacted column")
    return {"remaining": remaining, "violations": violations, "ok": not violations}


def _located(findings: Findings, target: str) -> Any:
    for location in findings.locations:
        if location.target == target:
            return location.predicate
    raise KeyError(target)


def find_again(
    conn: psycopg.Connection[Any], subject: Subject, *, files_root: Path | None = None, search: Search | None = None
) -> Findings:
    """:func:`scrollintel.compliance.subjects.find` with an already resolved subject."""
    findings, _ = subjects.find(conn, subjects.Identifiers(), files_root=files_root, search=search, subject=subject)
    return findings
