"""Where is a data subject's data? Every row and file, plain or hashed, from classification and lineage.

**Identifiers.** A subject is named by e-mail address and/or customer id (:class:`Identifiers`).
The e-mail is a column ingestion classified as ``email`` (``governance.column_classification``);
the customer id is the subject key column :data:`SUBJECT_KEY`. Each names the other: the raw
tables holding both resolve e-mails to keys and keys to e-mails, so either finds the same rows.

**Derived forms.** Staging exposes an ``email`` column hashed by the dbt masking macro
(``encode(sha256(convert_to(<salt> || ':' || value, 'UTF8')), 'hex')``, ``dbt/macros/masking.sql``)
with the salt kept in ``masking.salt``: the hash is deterministic, so :func:`masked_hash` of the
e-mail finds the masked copies in staging and marts. Rows that belong to the subject through a
key of their own (an order's ``order_id``, in ``payments`` and ``order_items``) are *linked*: the
primary keys (``governance/sources``) of the subject's rows in raw tables holding the subject key
are searched for in the relations without the subject key (same source for raw, quarantine and
staging; marts when the column comes from one source only). Column lineage
(``governance.lineage_column_edge``) adds the columns a subject column flows into under another
name (:func:`lineage_columns`).

**Where.** Tables and views of ``raw``, ``raw_quarantine`` (whose ``raw_row`` JSON keeps the
rejected row's text), ``staging`` and ``marts`` (scores and feature tables included), partitions
counted once through their parent; CSV and JSON-lines files under the object store root.

A view holding the subject key is searched by the key only, so the planner pushes the predicate
into the table under it instead of hashing every row; a row of such a view holds the subject
exactly when its key does.

Nothing here logs an identifier: log lines name tables and counts.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ConfigError
from scrollintel.warehouse import GOVERNANCE_SCHEMA, MARTS_SCHEMA, RAW_SCHEMA

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

log = logging.getLogger(__name__)

#: The column that keys a data subject (a customer) in every layer.
SUBJECT_KEY = "customer_id"
#: The classification class of the identifier a subject gives (their e-mail address).
IDENTITY_CLASS = "email"
QUARANTINE_SCHEMA = "raw_quarantine"
STAGING_SCHEMA = "staging"
#: Schemas searched, in the order the data flows.
LAYERS: tuple[str, ...] = (RAW_SCHEMA, QUARANTINE_SCHEMA, STAGING_SCHEMA, MARTS_SCHEMA)
#: Files searched under the object store root (line-oriented text).
FILE_SUFFIXES = (".csv", ".jsonl", ".ndjson")
#: The quarantine's column holding a rejected row's values (text, by column name).
QUARANTINE_ROW = "raw_row"
_INTEGER_TYPES = {"smallint", "integer", "bigint"}
_INTEGER = re.compile(r"-?\d{1,18}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STAGING_NAME = re.compile(r"stg_(?P<source>[a-z0-9_]+?)__(?P<resource>[a-z0-9_]+)")


class SubjectInputError(ConfigError):
    """Identifiers a subject request cannot use (the message never repeats the value)."""


@dataclass(frozen=True, repr=False)
class Identifiers:
    """How a subject is named: e-mail addresses and/or customer ids (at least one)."""

    emails: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never the values
        return f"Identifiers(emails={len(self.emails)}, keys={len(self.keys)})"

    @classmethod
    def of(
        cls,
        *,
        email: str | None = None,
        customer_id: str | int | None = None,
        names: tuple[str, str] = ("--email", "--customer-id"),
    ) -> Identifiers:
        """Validated identifiers; :class:`SubjectInputError` naming the option when one is unusable.

        ``names`` are what the caller calls the two fields (the CLI's options, a page's labels).
        """
        email_name, key_name = names
        emails: tuple[str, ...] = ()
        keys: tuple[str, ...] = ()
        if email is not None:
            value = email.strip()
            if not _EMAIL.fullmatch(value):
                raise SubjectInputError(f"{email_name}: not an e-mail address (expected name@domain.tld)")
            emails = (value,)
        if customer_id is not None:
            text = str(customer_id).strip()
            if not _INTEGER.fullmatch(text):
                raise SubjectInputError(f"{key_name}: not a customer id (expected a whole number)")
            keys = (text,)
        if not emails and not keys:
            raise SubjectInputError(f"name the subject with {email_name} or {key_name}")
        return cls(emails=emails, keys=keys)

    def as_json(self) -> dict[str, list[str]]:
        return {"emails": list(self.emails), "keys": list(self.keys)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Identifiers:
        return cls(emails=tuple(value.get("emails") or ()), keys=tuple(value.get("keys") or ()))

    def sha256(self) -> str:
        """A digest of the identifiers, what a closed request keeps."""
        canonical = json.dumps({"emails": sorted(self.emails), "keys": sorted(self.keys)}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def masked_hash(salt: str, value: str) -> str:
    """What the dbt masking macro ``scrollintel_mask_hash`` makes of ``value``."""
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def value_sha256(value: str) -> str:
    """The suppression list's form of a key value (SQL: ``encode(sha256(convert_to(v, 'UTF8')), 'hex')``)."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Relation:
    """A table or view of a searched schema and its columns (name -> SQL type)."""

    schema: str
    name: str
    kind: str  # table | view
    columns: dict[str, str]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def source_resource(self) -> tuple[str, str] | None:
        """(source, resource) of a raw, quarantine or staging relation named after one."""
        if self.schema in (RAW_SCHEMA, QUARANTINE_SCHEMA) and "__" in self.name:
            source, resource = self.name.split("__", 1)
            return source, resource
        found = _STAGING_NAME.fullmatch(self.name) if self.schema == STAGING_SCHEMA else None
        return (found["source"], found["resource"]) if found else None


@dataclass(repr=False)
class Subject:
    """The identifiers with everything derived from them (kept in memory only)."""

    emails: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    #: (source, column) -> values of the subject's linked keys.
    linked: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Subject(emails={len(self.emails)}, keys={len(self.keys)}, linked={len(self.linked)})"

    def plain_values(self) -> set[str]:
        return self.emails | self.keys

    def all_values(self) -> set[str]:
        return self.emails | self.keys | self.hashes


@dataclass
class Location:
    """Where some of the subject's data is: a relation (with the predicate selecting it) or a file."""

    layer: str
    target: str
    kind: str  # table | view | file
    matched_by: list[str]
    rows: int
    predicate: Any = None  # sql.Composable selecting the subject's rows (relations only)
    relation: Relation | None = None
    source_resource: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """What may be shown, exported or recorded: names and counts, never values."""
        return {
            "layer": self.layer,
            "target": self.target,
            "kind": self.kind,
            "matched_by": self.matched_by,
            "rows": self.rows,
        }


@dataclass
class Findings:
    """Every location of one subject's data."""

    locations: list[Location]
    hashed_search: bool
    """False when no masking salt was readable (no staging built yet): hashed copies not searched."""
    files_searched: int = 0

    @property
    def total_rows(self) -> int:
        return sum(location.rows for location in self.locations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "locations": [location.as_dict() for location in self.locations],
            "total_rows": self.total_rows,
            "hashed_search": self.hashed_search,
            "files_searched": self.files_searched,
        }


# --------------------------------------------------------------------------- catalogue

_CATALOGUE = """
SELECT n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname, a.attnum
"""


def catalogue(conn: psycopg.Connection[Any], schemas: Iterable[str] = LAYERS) -> list[Relation]:
    """The tables and views of ``schemas`` the session may read (partitions through their parent)."""
    relations: dict[tuple[str, str], Relation] = {}
    for schema, name, relkind, column, sqltype in conn.execute(_CATALOGUE, (list(schemas),)):
        relation = relations.get((schema, name))
        if relation is None:
            kind = "view" if relkind == "v" else "table"
            relation = relations[(schema, name)] = Relation(schema, name, kind, {})
        relation.columns[column] = sqltype
    order = {schema: index for index, schema in enumerate(LAYERS)}
    return sorted(relations.values(), key=lambda r: (order.get(r.schema, 99), r.name))


@dataclass(frozen=True)
class Classified:
    """What ingestion stored about the raw columns: identity columns and hashed identity columns."""

    identity: dict[tuple[str, str], list[str]]
    """(source, resource) -> the columns classified as the identity class."""
    hashed_names: set[str]
    """Names of identity columns that staging exposes hashed."""
    classified: dict[tuple[str, str], list[str]]
    """(source, resource) -> every classified column (what redaction nulls)."""


def classified_columns(conn: psycopg.Connection[Any]) -> Classified:
    """The stored classification (``governance.column_classification``)."""
    identity: dict[tuple[str, str], list[str]] = {}
    classified: dict[tuple[str, str], list[str]] = {}
    hashed: set[str] = set()
    rows = conn.execute(
        f"SELECT source, resource, column_name, class_id, masking FROM {GOVERNANCE_SCHEMA}.column_classification "
        "WHERE class_id IS NOT NULL ORDER BY source, resource, column_name"
    )
    for source, resource, column, class_id, masking in rows:
        classified.setdefault((source, resource), []).append(column)
        if class_id == IDENTITY_CLASS:
            identity.setdefault((source, resource), []).append(column)
            if masking == "hash":
                hashed.add(column)
    return Classified(identity, hashed, classified)


def masking_salt(conn: psycopg.Connection[Any]) -> str | None:
    """The salt dbt stored in ``masking.salt``; None when staging was never built or it is unreadable."""
    import psycopg

    try:
        with conn.transaction():
            row = conn.execute("SELECT value FROM masking.salt WHERE id = 1").fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege, psycopg.errors.InvalidSchemaName):
        return None
    return str(row[0]) if row and row[0] else None


def lineage_columns(conn: psycopg.Connection[Any], starts: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """(schema, table, column) reached by column lineage from ``starts`` ((schema, table, column) in the warehouse).

    Empty when the lineage store holds no column edges (nothing was emitted yet).
    """
    import psycopg

    names = [f"warehouse.{schema}.{table}" for schema, table, _ in starts]
    columns = [column for _, _, column in starts]
    if not names:
        return set()
    query = f"""
    WITH RECURSIVE walk(field_id, depth) AS (
        SELECT f.id, 0 FROM {GOVERNANCE_SCHEMA}.lineage_dataset_field f
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = f.dataset_id
        JOIN unnest(%s::text[], %s::text[]) AS s(dataset, field) ON s.dataset = d.name AND s.field = f.name
      UNION
        SELECT e.dst_field_id, w.depth + 1 FROM walk w
        JOIN {GOVERNANCE_SCHEMA}.lineage_column_edge e ON e.src_field_id = w.field_id
        WHERE w.depth < 20
    )
    SELECT DISTINCT d.name, f.name FROM walk w
    JOIN {GOVERNANCE_SCHEMA}.lineage_dataset_field f ON f.id = w.field_id
    JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = f.dataset_id
    WHERE w.depth > 0
    """
    try:
        with conn.transaction():
            rows = conn.execute(query, (names, columns)).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege):
        return set()
    reached: set[tuple[str, str, str]] = set()
    for dataset, column in rows:
        parts = str(dataset).split(".")
        if len(parts) == 3 and parts[0] == "warehouse":
            reached.add((parts[1], parts[2], str(column)))
    return reached


# --------------------------------------------------------------------------- resolving


def _array(values: Iterable[str], sqltype: str) -> list[str]:
    """The values a column of ``sqltype`` can hold (an id that is no integer never matches an integer column)."""
    if sqltype in _INTEGER_TYPES:
        return sorted(value for value in values if _INTEGER.fullmatch(value))
    return sorted(values)


def _any(column: str, values: Iterable[str], sqltype: str) -> tuple[sql.Composable, list[Any]] | None:
    """``column = ANY(%s::<type>[])`` for the values that fit the type, or None when none does."""
    from psycopg import sql

    fitting = _array(values, sqltype)
    if not fitting:
        return None
    return sql.SQL("{} = ANY(CAST({} AS {}[]))").format(sql.Identifier(column), sql.Placeholder(), sql.SQL(sqltype)), [
        fitting
    ]


def _json_any(column: str, values: Iterable[str]) -> tuple[sql.Composable, list[Any]] | None:
    from psycopg import sql

    fitting = sorted(values)
    if not fitting:
        return None
    return sql.SQL("{} ->> {} = ANY({})").format(
        sql.Identifier(QUARANTINE_ROW), sql.Literal(column), sql.Placeholder()
    ), [fitting]


def primary_keys() -> dict[tuple[str, str], tuple[str, ...]]:
    """(source, resource) -> primary key, from ``governance/sources``."""
    from scrollintel.config import load_governance

    keys: dict[tuple[str, str], tuple[str, ...]] = {}
    for source in load_governance().sources.values():
        for resource in source.resources:
            primary = tuple(getattr(resource, "primary_key", None) or ())
            keys[(source.name, resource.name)] = primary
    return keys


def resolve(
    conn: psycopg.Connection[Any],
    identifiers: Identifiers,
    relations: list[Relation],
    classes: Classified,
    pks: Mapping[tuple[str, str], tuple[str, ...]],
) -> Subject:
    """E-mails to keys and back (raw tables holding both), the linked keys and the masked hashes."""
    from psycopg import sql

    subject = Subject(emails=set(identifiers.emails), keys=set(identifiers.keys))
    raw = [r for r in relations if r.schema == RAW_SCHEMA and r.source_resource()]
    for _ in range(2):  # e-mail -> key -> e-mail: two rounds reach every identifier
        for relation in raw:
            where = relation.source_resource()
            assert where is not None
            identity = [c for c in classes.identity.get(where, []) if c in relation.columns]
            if SUBJECT_KEY not in relation.columns or not identity:
                continue
            predicate, params, _ = _predicate(relation, subject, classes, linked=False)
            if predicate is None:
                continue
            select = sql.SQL("SELECT {}::text, {} FROM {} WHERE {}").format(
                sql.Identifier(SUBJECT_KEY),
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in identity),
                sql.Identifier(relation.schema, relation.name),
                predicate,
            )
            for row in conn.execute(select, params):
                subject.keys.add(str(row[0]))
                subject.emails.update(str(value) for value in row[1:] if value)
    for relation in raw:
        where = relation.source_resource()
        assert where is not None
        own = pks.get(where, ())
        linking = [c for c in own if c != SUBJECT_KEY]
        if SUBJECT_KEY not in relation.columns or not linking or not subject.keys:
            continue
        key = _any(SUBJECT_KEY, subject.keys, relation.columns[SUBJECT_KEY])
        if key is None:
            continue
        select = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in linking),
            sql.Identifier(relation.schema, relation.name),
            key[0],
        )
        for row in conn.execute(select, key[1]):
            for column, value in zip(linking, row, strict=True):
                if value is not None:
                    subject.linked.setdefault((where[0], column), set()).add(str(value))
    return subject


Part = tuple["sql.Composable", list[Any]]


def _predicate(
    relation: Relation,
    subject: Subject,
    classes: Classified,
    *,
    linked: bool = True,
    lineage: Iterable[str] = (),
) -> tuple[sql.Composable | None, list[Any], list[str]]:
    """(predicate, params, matched_by): the subject's rows of ``relation``; predicate None when nothing can match."""
    from psycopg import sql

    if relation.schema == QUARANTINE_SCHEMA:
        candidates = _quarantine_parts(relation, subject, classes, linked=linked)
    else:
        candidates = _table_parts(relation, subject, classes, linked=linked, lineage=lineage)
    found = [(part, label) for part, label in candidates if part is not None]
    if not found:
        return None, [], []
    predicate = sql.SQL(" OR ").join(sql.SQL("({})").format(part[0]) for part, _ in found)
    params = [value for part, _ in found for value in part[1]]
    return predicate, params, [label for _, label in found]


def _quarantine_parts(
    relation: Relation, subject: Subject, classes: Classified, *, linked: bool
) -> list[tuple[Part | None, str]]:
    """A quarantine table: the rejected row's JSON holds the key, identity or linked columns as text."""
    where = relation.source_resource()
    if QUARANTINE_ROW not in relation.columns or not where:
        return []
    parts = [(_json_any(SUBJECT_KEY, subject.keys), f"{QUARANTINE_ROW}.{SUBJECT_KEY}")]
    parts += [
        (_json_any(column, subject.emails), f"{QUARANTINE_ROW}.{column}") for column in classes.identity.get(where, [])
    ]
    if linked:
        parts += [
            (_json_any(column, values), f"{QUARANTINE_ROW}.{column} (linked)")
            for (source, column), values in sorted(subject.linked.items())
            if source == where[0]
        ]
    return parts


def _table_parts(
    relation: Relation, subject: Subject, classes: Classified, *, linked: bool, lineage: Iterable[str]
) -> list[tuple[Part | None, str]]:
    """A table or view: key (or linked keys), identity columns in raw, hashed identity elsewhere, lineage."""
    from psycopg import sql

    where = relation.source_resource()
    columns = relation.columns
    has_key = SUBJECT_KEY in columns
    parts: list[tuple[Part | None, str]] = []
    if has_key:
        parts.append((_any(SUBJECT_KEY, subject.keys, columns[SUBJECT_KEY]), SUBJECT_KEY))
    elif linked:
        parts += [
            (_any(column, values, columns[column]), f"{column} (linked)")
            for column, values in _linked_for(relation, subject).items()
        ]
    if relation.schema == RAW_SCHEMA and where:
        parts += [
            (_any(column, subject.emails, columns[column]), column)
            for column in classes.identity.get(where, [])
            if column in columns
        ]
    elif relation.kind == "table" or not has_key:
        parts += [
            (_any(column, subject.hashes, columns[column]), f"{column} (hashed)")
            for column in sorted(classes.hashed_names & set(columns))
        ]
    if not (relation.kind == "view" and has_key):
        for column in sorted(set(lineage) - {SUBJECT_KEY} - classes.hashed_names):
            if column in columns:
                cast = sql.SQL("CAST({} AS text) = ANY({})").format(sql.Identifier(column), sql.Placeholder())
                parts.append(((cast, [sorted(subject.all_values())]), f"{column} (lineage)"))
    return parts


def _linked_for(relation: Relation, subject: Subject) -> dict[str, set[str]]:
    """The linked key columns of ``relation``: from its own source, or (marts) from exactly one source."""
    where = relation.source_resource()
    found: dict[str, set[str]] = {}
    by_column: dict[str, list[tuple[str, set[str]]]] = {}
    for (source, column), values in subject.linked.items():
        by_column.setdefault(column, []).append((source, values))
    for column, sources in by_column.items():
        if column not in relation.columns:
            continue
        if where is not None:
            for source, values in sources:
                if source == where[0]:
                    found[column] = values
        elif len(sources) == 1:
            found[column] = sources[0][1]
    return found


# --------------------------------------------------------------------------- finding


@dataclass
class Search:
    """Everything a search needs, read once: relations, classification, primary keys, salt."""

    relations: list[Relation]
    classes: Classified
    pks: Mapping[tuple[str, str], tuple[str, ...]]
    salt: str | None
    lineage: dict[tuple[str, str], set[str]]

    @classmethod
    def prepare(
        cls, conn: psycopg.Connection[Any], pks: Mapping[tuple[str, str], tuple[str, ...]] | None = None
    ) -> Search:
        relations = catalog = catalogue(conn)
        classes = classified_columns(conn)
        starts = [
            (RAW_SCHEMA, f"{source}__{resource}", column)
            for (source, resource), columns in classes.identity.items()
            for column in columns
        ] + [(r.schema, r.name, SUBJECT_KEY) for r in catalog if r.schema == RAW_SCHEMA and SUBJECT_KEY in r.columns]
        lineage: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in lineage_columns(conn, starts):
            lineage.setdefault((schema, table), set()).add(column)
        return cls(relations, classes, pks if pks is not None else primary_keys(), masking_salt(conn), lineage)


def find(
    conn: psycopg.Connection[Any],
    identifiers: Identifiers,
    *,
    files_root: Path | None = None,
    search: Search | None = None,
    subject: Subject | None = None,
) -> tuple[Findings, Subject]:
    """Every location of the subject's data (counts), and the resolved subject (kept in memory by the caller).

    ``subject``: search for an already resolved subject (the re-scan after an erasure, when the rows
    that linked e-mail, key and linked keys are gone) instead of resolving ``identifiers``.
    """
    from psycopg import sql

    search = search or Search.prepare(conn)
    if subject is None:
        subject = resolve(conn, identifiers, search.relations, search.classes, search.pks)
        if search.salt:
            subject.hashes = {masked_hash(search.salt, email) for email in subject.emails}
    locations: list[Location] = []
    for relation in search.relations:
        predicate, params, matched = _predicate(
            relation, subject, search.classes, lineage=search.lineage.get((relation.schema, relation.name), ())
        )
        if predicate is None:
            continue
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
                sql.Identifier(relation.schema, relation.name), predicate
            ),
            params,
        ).fetchone()
        rows = int(count[0]) if count else 0
        if rows:
            locations.append(
                Location(
                    layer=relation.schema,
                    target=relation.qualified,
                    kind=relation.kind,
                    matched_by=matched,
                    rows=rows,
                    predicate=(predicate, params),
                    relation=relation,
                    source_resource=relation.source_resource(),
                )
            )
    files = 0
    if files_root is not None and files_root.is_dir():
        for path, lines in scan_files(files_root, subject):
            files += 1
            if lines:
                locations.append(
                    Location(
                        layer="object_store",
                        target=str(path.relative_to(files_root)),
                        kind="file",
                        matched_by=["file contents"],
                        rows=lines,
                    )
                )
    log.info("subject search: %d location(s), %d row(s)", len(locations), sum(loc.rows for loc in locations))
    return Findings(locations, hashed_search=bool(search.salt), files_searched=files), subject


def scan_files(root: Path, subject: Subject) -> Iterator[tuple[Path, int]]:
    """(file, lines holding the subject) for each CSV / JSON-lines file under ``root``."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in FILE_SUFFIXES:
            yield path, sum(1 for _ in matching_lines(path, subject))


def matching_lines(path: Path, subject: Subject) -> Iterator[int]:
    """Line numbers (0-based, header excluded for CSV) of ``path`` whose record holds the subject."""
    values = subject.emails | subject.hashes
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="", errors="replace") as handle:
            reader = csv.reader(handle)
            header = next(reader, None) or []
            key_at = header.index(SUBJECT_KEY) if SUBJECT_KEY in header else None
            for number, row in enumerate(reader):
                if (key_at is not None and key_at < len(row) and row[key_at] in subject.keys) or values.intersection(
                    row
                ):
                    yield number
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if str(record.get(SUBJECT_KEY)) in subject.keys or values.intersection(
                str(value) for value in record.values() if isinstance(value, str | int)
            ):
                yield number


def export_rows(
    conn: psycopg.Connection[Any], findings: Findings, subject: Subject, files_root: Path | None
) -> dict[str, Any]:
    """The access export (Art. 15): every row found, by location, as JSON-ready values."""
    from psycopg import sql

    export: dict[str, Any] = {"locations": []}
    for location in findings.locations:
        entry: dict[str, Any] = location.as_dict()
        if location.relation is not None and location.predicate is not None:
            predicate, params = location.predicate
            relation = location.relation
            rows = conn.execute(
                sql.SQL("SELECT to_jsonb(t)::text FROM {} AS t WHERE {}").format(
                    sql.Identifier(relation.schema, relation.name), predicate
                ),
                params,
            ).fetchall()
            entry["data"] = [json.loads(row[0]) for row in rows]
        elif location.kind == "file" and files_root is not None:
            path = files_root / location.target
            wanted = set(matching_lines(path, subject))
            entry["data"] = _file_records(path, wanted)
        export["locations"].append(entry)
    return export


def _file_records(path: Path, wanted: set[int]) -> list[Any]:
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="", errors="replace") as handle:
            reader = csv.DictReader(handle)
            return [dict(row) for number, row in enumerate(reader) if number in wanted]
    with path.open(encoding="utf-8", errors="replace") as handle:
        return [json.loads(line) for number, line in enumerate(handle) if number in wanted]
