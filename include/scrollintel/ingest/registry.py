"""Schema registry: versioned contracts of every resource, and drift between a contract and the source.

A contract is the list of columns (name, source type, warehouse type, nullability, what became
of the source type and why, an enum's labels) and the primary key the raw table was built for,
stored as numbered versions in ``governance.ingest_schema_version``. A column whose source type
could not be kept as it is is logged once, when the version is registered. Before each load the
discovered schema is compared with the latest version (:func:`compare`); what counts as drift is
a column *added*, *removed*, *retyped* (its warehouse type changed) or *relabelled* (an enum's
labels changed; the warehouse enum already has them, see :mod:`scrollintel.ingest.enums`). A
change of the source type that maps to the same warehouse type (``varchar(50)`` ->
``varchar(100)``) is not drift.

Policy ``evolve`` applies compatible changes: new columns are added to the raw table, a removed
column stays in the raw table (no new values), and a retyped column is widened when no value
can be lost (``integer`` -> ``bigint``, ``real`` -> ``double precision``, wider ``numeric``, any
type -> ``text``), and so is a column of an unchanged source type that an older release landed
as ``text`` or ``jsonb`` and that now keeps its type (its stored text parses as that type).
Anything else, and every change under ``freeze``, blocks the load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from scrollintel.ingest.connectors.base import DiscoveredSchema, SourceColumn

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

VERSIONS = "governance.ingest_schema_version"
DRIFT_EVENTS = "governance.ingest_drift_event"

ChangeKind = Literal["added", "removed", "retyped", "relabelled"]

_INTEGER_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")


@dataclass(frozen=True)
class Contract:
    """One registered version of a resource's schema."""

    version: int
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...]
    fingerprint: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)

    def column(self, name: str) -> SourceColumn:
        """The column ``name``; KeyError when absent."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class ColumnChange:
    """One difference between a contract and the discovered schema."""

    kind: ChangeKind
    column: str
    old_type: str | None
    new_type: str | None
    compatible: bool
    """True when ``evolve`` may apply it without losing data."""

    def describe(self) -> str:
        """``+ col (text)``, ``- col (integer)``, ``~ col: integer -> bigint (widening)``."""
        if self.kind == "added":
            return f"+ {self.column} ({self.new_type})"
        if self.kind == "removed":
            return f"- {self.column} ({self.old_type})"
        if self.kind == "relabelled":
            return f"~ {self.column}: enum labels {self.old_type} -> {self.new_type}"
        how = "widening" if self.compatible else "not a widening: values could be lost"
        return f"~ {self.column}: {self.old_type} -> {self.new_type} ({how})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "old_type": self.old_type,
            "new_type": self.new_type,
            "compatible": self.compatible,
        }


@dataclass(frozen=True)
class SchemaDiff:
    """All changes between a contract and the discovered schema (empty: no drift)."""

    changes: tuple[ColumnChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    @property
    def compatible(self) -> bool:
        """True when ``evolve`` can apply every change."""
        return all(change.compatible for change in self.changes)

    def of_kind(self, kind: ChangeKind) -> list[ColumnChange]:
        return [change for change in self.changes if change.kind == kind]

    def describe(self) -> str:
        """One line per change."""
        return "\n".join(change.describe() for change in self.changes)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [change.as_dict() for change in self.changes]


def is_widening(old: str, new: str) -> bool:
    """True when every value of warehouse type ``old`` converts to ``new`` without loss."""
    if new in (old, "text"):
        return True
    if old in _INTEGER_DIGITS:
        if new in _INTEGER_DIGITS:
            return _INTEGER_DIGITS[new] >= _INTEGER_DIGITS[old]
        if new == "numeric":
            return True
        numeric = _NUMERIC.match(new)
        if numeric is None:
            return False
        return int(numeric[1]) - int(numeric[2]) >= _INTEGER_DIGITS[old]
    if old == "real" and new == "double precision":
        return True
    old_numeric = _NUMERIC.match(old)
    if old_numeric and new == "numeric":
        return True
    new_numeric = _NUMERIC.match(new)
    if old_numeric and new_numeric:
        old_p, old_s = int(old_numeric[1]), int(old_numeric[2])
        new_p, new_s = int(new_numeric[1]), int(new_numeric[2])
        return new_s >= old_s and new_p - new_s >= old_p - old_s
    return False


def compare(contract: Contract, discovered: DiscoveredSchema) -> SchemaDiff:
    """Columns added, removed, retyped or relabelled in ``discovered`` relative to ``contract``."""
    changes: list[ColumnChange] = []
    known = {col.name: col for col in contract.columns}
    now = {col.name: col for col in discovered.columns}
    for col in discovered.columns:
        before = known.get(col.name)
        if before is None:
            changes.append(ColumnChange("added", col.name, None, col.pg_type, compatible=True))
        elif before.pg_type != col.pg_type:
            compatible = is_widening(before.pg_type, col.pg_type) or _type_now_kept(before, col)
            changes.append(ColumnChange("retyped", col.name, before.pg_type, col.pg_type, compatible=compatible))
        elif before.labels != col.labels:
            # labels only ever add up in the warehouse enum: every stored value stays valid
            old, new = (", ".join(labels) for labels in (before.labels, col.labels))
            changes.append(ColumnChange("relabelled", col.name, f"({old})", f"({new})", compatible=True))
    for col in contract.columns:
        if col.name not in now:
            keeps_key = col.name not in contract.primary_key
            changes.append(ColumnChange("removed", col.name, col.pg_type, None, compatible=keeps_key))
    return SchemaDiff(tuple(changes))


def _type_now_kept(before: SourceColumn, now: SourceColumn) -> bool:
    """A source type an older release landed as ``text`` (its printed form) or ``jsonb`` (``json``),
    kept as it is now: the stored values convert to it (``USING column::type``)."""
    if before.source_type != now.source_type:
        return False
    return before.pg_type == "text" or (before.pg_type, now.pg_type) == ("jsonb", "json")


def fingerprint(columns: Sequence[SourceColumn]) -> str:
    """Stable hash of column names and warehouse types, in order."""
    text = json.dumps([[col.name, col.pg_type] for col in columns], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _columns_json(columns: Sequence[SourceColumn]) -> str:
    return json.dumps(
        [
            {
                "name": c.name,
                "source_type": c.source_type,
                "pg_type": c.pg_type,
                "nullable": c.nullable,
                "mapping": c.mapping,
                **({"labels": list(c.labels)} if c.labels else {}),
            }
            for c in columns
        ]
    )


def current_contract(conn: psycopg.Connection[Any], source: str, resource: str) -> Contract | None:
    """The latest registered version of ``source.resource``, or None before its first load."""
    row = conn.execute(
        f"SELECT version, columns, primary_key, fingerprint FROM {VERSIONS} "
        "WHERE source = %s AND resource = %s ORDER BY version DESC LIMIT 1",
        (source, resource),
    ).fetchone()
    if row is None:
        return None
    version, columns, primary_key, digest = row
    return Contract(
        version=version,
        columns=tuple(
            SourceColumn(
                name=c["name"],
                source_type=c["source_type"],
                pg_type=c["pg_type"],
                nullable=c.get("nullable", True),
                mapping=c.get("mapping"),
                labels=tuple(c.get("labels", ())),
            )
            for c in columns
        ),
        primary_key=tuple(primary_key),
        fingerprint=digest,
    )


def register_version(
    conn: psycopg.Connection[Any],
    source: str,
    resource: str,
    schema: DiscoveredSchema,
    primary_key: Sequence[str],
    *,
    run_id: str,
    previous: Contract | None = None,
    diff: SchemaDiff | None = None,
) -> Contract:
    """Store ``schema`` as the next version of the contract (call inside the load's transaction).

    The columns whose source type lands as another type are logged here, once per version,
    rather than on every load.
    """
    version = previous.version + 1 if previous else 1
    mapped = [col for col in schema.columns if col.mapping and col.mapping.startswith("mapped:")]
    if mapped:
        log.warning(
            "%s.%s contract version %d: %d column(s) not kept as their source type: %s",
            source,
            resource,
            version,
            len(mapped),
            "; ".join(f"{col.name} ({col.source_type} -> {col.pg_type}, {col.mapping})" for col in mapped),
        )
    digest = fingerprint(schema.columns)
    conn.execute(
        f"INSERT INTO {VERSIONS} (source, resource, version, columns, primary_key, fingerprint, changes, run_id) "
        "VALUES (%s, %s, %s, %s::jsonb, %s::jsonb, %s, %s::jsonb, %s)",
        (
            source,
            resource,
            version,
            _columns_json(schema.columns),
            json.dumps(list(primary_key)),
            digest,
            json.dumps(diff.as_dicts()) if diff else None,
            run_id,
        ),
    )
    return Contract(version=version, columns=schema.columns, primary_key=tuple(primary_key), fingerprint=digest)


def record_drift(
    conn: psycopg.Connection[Any],
    source: str,
    resource: str,
    diff: SchemaDiff,
    *,
    policy: str,
    outcome: Literal["applied", "blocked"],
    run_id: str,
    batch_id: str,
    from_version: int | None,
    to_version: int | None,
) -> None:
    """Append a drift event to ``governance.ingest_drift_event``."""
    conn.execute(
        f"INSERT INTO {DRIFT_EVENTS} (source, resource, run_id, batch_id, policy, outcome, from_version, "
        "to_version, changes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
        (source, resource, run_id, batch_id, policy, outcome, from_version, to_version, json.dumps(diff.as_dicts())),
    )


def drift_events(conn: psycopg.Connection[Any], source: str, resource: str) -> list[dict[str, Any]]:
    """Drift events of ``source.resource``, oldest first."""
    cur = conn.execute(
        f"SELECT run_id, policy, outcome, from_version, to_version, changes, detected_at FROM {DRIFT_EVENTS} "
        "WHERE source = %s AND resource = %s ORDER BY id",
        (source, resource),
    )
    names = [col.name for col in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
