"""The lineage store's write path: raw events and their incremental, idempotent derivation.

:meth:`LineageStore.ingest` takes validated events (:mod:`scrollintel.lineage.openlineage_events`) and, in one
transaction per request, appends each to ``governance.lineage_event`` and upserts what it says
into the derived tables (namespaces, jobs, runs, datasets, fields, dataset versions, the run's
datasets, job -> dataset edges and column edges).

**Idempotent.** Every derived key is computed from names (:mod:`scrollintel.lineage.nodes`), and
every upsert merges with rules that do not depend on how often an event is seen: earliest and
latest event times (``LEAST``/``GREATEST``), "newer event wins" for descriptive columns (an event
older than the row only fills what is still empty), facets merged key by key the same way, and a
run's state from its latest terminal event. Each ``ON CONFLICT DO UPDATE`` only writes when the
merged row differs (``WHERE (old) IS DISTINCT FROM (merged)``), so replaying any event already
seen changes no row (not even its ``xmin``). A raw event is stored once: the SHA-256 of its
canonical JSON is unique.

**Fast.** Nothing waits for another write's result (ids are computed, not returned), so a whole
write is one statement (:data:`WRITE`): the raw events and a multi-row upsert per derived table,
in one ``WITH``, each table's rows sent as one JSON parameter. A write costs one round trip, one
statement to parse and plan and a few JSON encodings, whatever its size. Rows of the same key are
merged in Python first, with the same rules. "Last seen" times of edges and namespaces
keep day resolution and a column's row only when it was first seen, so a run rewrites its run,
job and datasets, not every edge and column it touches.

``SCROLLINTEL_LINEAGE_SYNCHRONOUS_COMMIT`` (default ``on``) may relax PostgreSQL's
``synchronous_commit`` for these transactions: ``off`` trades the last few hundred milliseconds of
acknowledged events on a database crash for commit latency.

**One bad event fails alone.** A batch is written in one statement. An event whose lineage cannot
be derived (a derivation error on input that passed validation) goes into that statement as its
raw event alone. If the database refuses the statement, each event is retried in its own; an event
refused alone is retried as its raw event alone. Either way the raw event is kept and its result
says ``derived`` false with the reason (``warning``), so nothing another producer sent is lost and
nothing is silently dropped; the happy path stays one statement. Only an event whose raw row the
database refuses is ``failed`` (not stored).

**SQL that cannot be parsed** (:mod:`scrollintel.lineage.sqllineage`) is not an error: the event and
its dataset/job lineage are stored without column edges from SQL, and the run carries the
:data:`SQL_FACET` run facet, so the explorer can count such runs per dataset and job.
"""

from __future__ import annotations

import functools
import json
import logging
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import orjson

from scrollintel import warehouse
from scrollintel.lineage.nodes import dataset_uuid, dataset_version_uuid, field_uuid, job_uuid
from scrollintel.lineage.openlineage_events import DatasetPart, ValidEvent, canonical_namespace
from scrollintel.warehouse import GOVERNANCE_SCHEMA

if TYPE_CHECKING:
    import psycopg

    from scrollintel.lineage.sqllineage import SqlLineage

log = logging.getLogger(__name__)

#: OpenLineage event type -> Marquez run state it ends a run in.
TERMINAL_STATES = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
STARTING_TYPES = ("START", "RUNNING")
#: Retries of a whole transaction after a deadlock or serialization failure.
RETRIES = 3
ENV_SYNCHRONOUS_COMMIT = "SCROLLINTEL_LINEAGE_SYNCHRONOUS_COMMIT"
#: Run facet the store adds to a run whose ``sql`` job facet could not be parsed (no column edges from SQL):
#: ``{"parsed": false, "dialect": <as sent>, "readAs": <sqlglot dialect>, "problem": <why>}``.
SQL_FACET = "scrollintel_sqlLineage"
#: What deriving rows may raise on an event that passed validation (an edge of Python or a library,
#: e.g. an eventTime that has no UTC equivalent): the event is then kept raw, without derived rows.
DERIVATION_ERRORS: tuple[type[Exception], ...] = (ArithmeticError, LookupError, TypeError, ValueError, RecursionError)

Merge = Literal["key", "keep", "min", "max", "first", "newer", "facets", "latest"]


# --------------------------------------------------------------------------- upsert statements


@dataclass(frozen=True)
class Column:
    """A derived column: its PostgreSQL type and how an incoming value merges with the stored one.

    ``key`` columns form the conflict target; ``keep`` is written once; ``min``/``max`` keep the
    earliest/latest time; ``first`` keeps the first non-null value; ``newer`` takes the incoming
    non-null value when the incoming row's clock (the table's ``clock``) is later, otherwise only
    fills a null; ``facets`` merges JSON objects key by key with the same precedence; ``latest``
    takes the incoming value when its own clock column ``by`` is later (or the stored one is null).
    """

    name: str
    type: str
    merge: Merge
    by: str | None = None


@dataclass(frozen=True)
class Table:
    """How rows of one derived table are written: one multi-row upsert per request."""

    name: str
    columns: tuple[Column, ...]
    clock: str = "updated_at"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.merge == "key")

    def merged(self, column: Column) -> str | None:
        """SQL of the merged value of ``column`` in ``ON CONFLICT DO UPDATE`` (old row ``t``)."""
        old, new = f"t.{column.name}", f"excluded.{column.name}"
        newer = f"excluded.{self.clock} > t.{self.clock}"
        if column.merge == "latest":
            clock = column.by
            return (
                f"CASE WHEN excluded.{clock} > t.{clock} OR t.{clock} IS NULL "
                f"THEN COALESCE({new}, {old}) ELSE {old} END"
            )
        return {
            "key": None,
            "keep": None,
            "min": f"LEAST({old}, {new})",
            "max": f"GREATEST({old}, {new})",
            "first": f"COALESCE({old}, {new})",
            "newer": f"CASE WHEN {newer} THEN COALESCE({new}, {old}) ELSE COALESCE({old}, {new}) END",
            "facets": f"CASE WHEN {newer} THEN {old} || {new} ELSE {new} || {old} END",
        }[column.merge]

    @property
    def source(self) -> str:
        """The rows to write: one JSON parameter, an array of rows, each an array in column order (:meth:`json`)."""
        values = ", ".join(self._value(position, column) for position, column in enumerate(self.columns))
        return f"(SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS rows (r)) AS r"

    @staticmethod
    def _value(position: int, column: Column) -> str:
        if column.type == "jsonb":  # a JSON null is SQL's NULL, as for every other column
            return f"NULLIF(r -> {position}, 'null') AS {column.name}"
        if column.type == "text":
            return f"r ->> {position} AS {column.name}"
        return f"(r ->> {position})::{column.type} AS {column.name}"

    def json(self, rows: Iterable[tuple[Any, ...]]) -> str:
        """``rows`` (tuples in column order) as the JSON parameter :attr:`source` reads.

        Arrays rather than objects keyed by column name: orjson encodes the tuples as they are,
        with no dictionary built per row, and ``->`` on ``jsonb`` finds an array element directly.
        """
        return _json(rows if isinstance(rows, list) else list(rows))

    def insert(self, conflict: str) -> str:
        """``INSERT ... SELECT`` of :attr:`source` into the table (alias ``t``), then ``conflict``."""
        names = ", ".join(column.name for column in self.columns)
        return (
            f"INSERT INTO {GOVERNANCE_SCHEMA}.{self.name} AS t ({names}) SELECT {names} FROM {self.source} {conflict}"
        )

    @property
    def sql(self) -> str:
        """``INSERT ... SELECT FROM jsonb_array_elements(<rows>) ON CONFLICT DO UPDATE ... WHERE changed``.

        The rows go as one JSON text parameter of arrays (encoded by orjson, parsed by PostgreSQL,
        both in C) rather than one array per column: encoding arrays costs the client interpreted
        work per parameter, and this statement has up to 15 columns. Reading the elements of
        ``jsonb`` arrays costs the server a fifth to a third less than ``json_to_recordset``
        over objects, and the parameter is 10-40% shorter.
        """
        updates = [(column.name, self.merged(column)) for column in self.columns]
        updates = [(name, expr) for name, expr in updates if expr is not None]
        sets = ", ".join(f"{name} = {expr}" for name, expr in updates)
        olds = ", ".join(f"t.{name}" for name, _ in updates)
        news = ", ".join(expr for _, expr in updates if expr)
        return self.insert(
            f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {sets} WHERE ({olds}) IS DISTINCT FROM ({news})"
        )

    def merge_rows(self, rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows with one row per key (a multi-row upsert may not touch a row twice), sorted by key.

        Rows of the same key are merged with the same rules as the SQL, so the result does not
        depend on whether two events came in one request or in two. Sorting fixes the order in
        which concurrent requests lock rows (no deadlocks between batches).
        """
        key_of = self._key_of
        merged: dict[Any, tuple[Any, ...]] = {}
        for row in rows:
            key = key_of(row)
            current = merged.get(key)
            if current is None:
                merged[key] = row
            elif current != row:  # the same row again (a dataset in START and COMPLETE) merges into itself
                merged[key] = self._merge(current, row)
        return [merged[key] for key in sorted(merged)]

    @functools.cached_property
    def _key_of(self) -> Callable[[tuple[Any, ...]], Any]:
        """The key of a row (a value or a tuple of values: UUIDs, text and times, each sortable)."""
        return operator.itemgetter(*(index for index, column in enumerate(self.columns) if column.merge == "key"))

    @functools.cached_property
    def _rules(self) -> tuple[tuple[int, Merge, int], ...]:
        """(position, merge rule, position of its clock) of every column a merge can change."""
        index = {column.name: position for position, column in enumerate(self.columns)}
        return tuple(
            (position, column.merge, index[column.by] if column.by else -1)
            for position, column in enumerate(self.columns)
            if column.merge not in ("key", "keep") and (column.merge != "latest" or column.by)
        )

    def _merge(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
        clock = self._clock_position
        is_newer = _later(new[clock], old[clock])
        result = list(old)
        for position, merge, by in self._rules:
            a, b = old[position], new[position]
            if a == b and merge != "latest":  # every rule but "latest" (its clock may differ) keeps an equal value
                continue
            if merge == "min":
                result[position] = a if b is None else b if a is None or b < a else a
            elif merge == "max":
                result[position] = a if b is None else b if a is None or b > a else a
            elif merge == "first":
                result[position] = a if a is not None else b
            elif merge == "newer":
                result[position] = (b if b is not None else a) if is_newer else (a if a is not None else b)
            elif merge == "facets":
                result[position] = {**(a or {}), **(b or {})} if is_newer else {**(b or {}), **(a or {})}
            elif merge == "latest" and (old[by] is None or _later(new[by], old[by])):
                result[position] = b if b is not None else a
        return tuple(result)

    @functools.cached_property
    def _clock_position(self) -> int:
        return next(position for position, column in enumerate(self.columns) if column.name == self.clock)


def _later(new: Any, old: Any) -> bool:
    return new is not None and (old is None or new > old)


def _columns(*spec: str) -> tuple[Column, ...]:
    """Columns from ``"name type merge[:by]"`` strings."""
    columns = []
    for text in spec:
        name, pg_type, merge = text.split()
        rule, _, by = merge.partition(":")
        columns.append(Column(name, pg_type, rule, by or None))  # type: ignore[arg-type]
    return tuple(columns)


TIMES = ("created_at timestamptz min", "updated_at timestamptz max")
NAMESPACE = Table(
    "lineage_namespace", _columns("name text key", "created_at timestamptz min", "updated_at timestamptz max")
)
JOB = Table(
    "lineage_job",
    _columns(
        "id uuid key",
        "namespace text keep",
        "name text keep",
        "type text newer",
        "parent_job_name text newer",
        "description text newer",
        "location text newer",
        "facets jsonb facets",
        *TIMES,
    ),
)
DATASET = Table(
    "lineage_dataset",
    _columns(
        "id uuid key",
        "namespace text keep",
        "name text keep",
        "type text newer",
        "source_name text newer",
        "description text newer",
        "fields jsonb newer",
        "facets jsonb facets",
        "lifecycle_state text newer",
        "current_version uuid newer",
        "last_modified_at timestamptz max",
        # The last run that wrote the dataset has its own clock: input references bump updated_at.
        "last_run_uuid uuid latest:last_run_at",
        "last_run_at timestamptz max",
        *TIMES,
    ),
)
FIELD = Table(
    "lineage_dataset_field",
    _columns(
        "id uuid key",
        "dataset_id uuid keep",
        "name text keep",
        "type text first",
        "description text first",
        "created_at timestamptz min",
    ),
    clock="created_at",
)
RUN = Table(
    "lineage_run",
    _columns(
        "run_uuid uuid key",
        "job_id uuid keep",
        "parent_run_uuid uuid first",
        "started_at timestamptz min",
        # The latest terminal event decides how the run ended (a late START never reopens it).
        "end_state text latest:ended_at",
        "ended_at timestamptz max",
        "nominal_start_time timestamptz newer",
        "nominal_end_time timestamptz newer",
        "facets jsonb facets",
        *TIMES,
    ),
)
VERSION = Table(
    "lineage_dataset_version",
    _columns(
        "id uuid key",
        "dataset_id uuid keep",
        "run_uuid uuid keep",
        "fields jsonb newer",
        "facets jsonb facets",
        "lifecycle_state text newer",
        *TIMES,
    ),
)
RUN_DATASET = Table(
    "lineage_run_dataset", _columns("run_uuid uuid key", "direction text key", "dataset_id uuid key"), clock="run_uuid"
)
SEEN = ("first_seen_at timestamptz min", "last_seen_at timestamptz max")
JOB_INPUT = Table("lineage_job_input", _columns("dataset_id uuid key", "job_id uuid key", *SEEN), clock="last_seen_at")
JOB_OUTPUT = Table(
    "lineage_job_output", _columns("dataset_id uuid key", "job_id uuid key", *SEEN), clock="last_seen_at"
)
COLUMN_EDGE = Table(
    "lineage_column_edge",
    _columns(
        "dst_field_id uuid key",
        "src_field_id uuid key",
        "job_id uuid key",
        "transformation_type text newer",
        "transformation_subtype text newer",
        "description text newer",
        "masking boolean newer",
        "origin text newer",
        *SEEN,
    ),
    clock="last_seen_at",
)
#: The raw events (rows in the order of :func:`_event_row`), appended, never merged.
EVENT = Table(
    "lineage_event",
    _columns(
        "event_hash text key",
        "kind text keep",
        "event_type text keep",
        "event_time timestamptz keep",
        "run_uuid uuid keep",
        "job_namespace text keep",
        "job_name text keep",
        "producer text keep",
        "payload text keep",
        "received_by text keep",
    ),
)
#: Derived tables in foreign-key order.
TABLES: dict[str, Table] = {
    "namespace": NAMESPACE,
    "job": JOB,
    "dataset": DATASET,
    "field": FIELD,
    "run": RUN,
    "version": VERSION,
    "run_dataset": RUN_DATASET,
    "job_input": JOB_INPUT,
    "job_output": JOB_OUTPUT,
    "column_edge": COLUMN_EDGE,
}


def _write_statement() -> str:
    """The whole write as one statement: the raw events, then every derived table, in one ``WITH``.

    Each data-modifying ``WITH`` part runs once, to completion, and foreign keys are checked at the
    end of the statement, so a run may reference the job inserted a few parts earlier. The result
    is the hashes of the events that were new. One statement is one parse, one plan (prepared after
    a few uses) and one result for the client and the server, instead of eleven.
    """
    parts = [f"w_event AS ({EVENT.insert('ON CONFLICT (event_hash) DO NOTHING RETURNING event_hash')})"]
    for name, table in TABLES.items():
        # Nothing to merge in a run's datasets: a run reads or writes a dataset, or not.
        sql = table.insert("ON CONFLICT DO NOTHING") if table is RUN_DATASET else table.sql
        parts.append(f"w_{name} AS ({sql})")
    statement = "WITH " + ",\n".join(parts) + "\nSELECT event_hash FROM w_event"
    # PostgreSQL's own $n placeholders, sent as they are by a RawCursor: psycopg parses a
    # statement with %s placeholders on every execution once it is past 4 KB (this one is 16 KB),
    # which cost the writer about as much as building all the rows of an event
    pieces = statement.split("%s")
    return "".join(f"{piece}${number}" for number, piece in enumerate(pieces[:-1], start=1)) + pieces[-1]


WRITE = _write_statement()


# --------------------------------------------------------------------------- derivation


@dataclass
class Rows:
    """Rows per derived table, for one or more events (JSON values as plain dicts and lists)."""

    by_table: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {name: [] for name in TABLES})

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.by_table[table].append(row)

    def extend(self, other: Rows) -> None:
        for name, rows in other.by_table.items():
            self.by_table[name].extend(rows)

    def parameters(self) -> list[str]:
        """Per table (in foreign-key order): its merged rows, sorted by key, as a JSON array of objects."""
        return [table.json(table.merge_rows(self.by_table[name])) for name, table in TABLES.items()]


def _json(value: Any) -> str:
    """JSON text of write parameters: orjson (UUIDs and aware datetimes as ISO 8601, natively),
    or the standard library for what orjson refuses (an integer past 64 bits in a facet)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a lineage table")


def synchronous_commit() -> str:
    """``synchronous_commit`` of lineage writes (``SCROLLINTEL_LINEAGE_SYNCHRONOUS_COMMIT``, default ``on``)."""
    import os

    value = (os.environ.get(ENV_SYNCHRONOUS_COMMIT) or "on").strip().lower()
    return value if value in ("on", "off", "local", "remote_write", "remote_apply") else "on"


def _facet(facets: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A facet's content, or {} when absent or marked ``_deleted``."""
    facet = facets.get(name)
    if not isinstance(facet, Mapping) or facet.get("_deleted"):
        return {}
    return facet


def _schema_fields(facets: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    schema = _facet(facets, "schema")
    if "fields" not in schema:
        return None
    return [
        {key: item.get(key) for key in ("name", "type", "description") if item.get(key) is not None}
        for item in schema.get("fields") or ()
    ]


def derive(event: ValidEvent) -> Rows:
    """The derived rows of one event (pure: no database)."""
    rows = Rows()
    at = event.event_time
    day = _day(at)
    namespaces: set[str] = set()
    job_id = None
    if event.job is not None:
        job_id = job_uuid(event.job.namespace, event.job.name)
        namespaces.add(event.job.namespace)
        rows.add("job", _job_row(event, job_id))
    sql = _sql_lineage(event) if job_id is not None else None
    if event.kind == "run" and event.run_id is not None and job_id is not None:
        rows.add("run", _run_row(event, job_id, sql))
    writes_version = event.kind == "run" and event.run_id is not None
    for role, datasets in (("input", event.inputs), ("output", event.outputs), ("static", _static(event))):
        for part in datasets:
            namespaces.add(part.namespace)
            _dataset_rows(rows, event, part, role, job_id=job_id, writes_version=writes_version)
    for src, dst, edge in _column_edges(event, sql) if job_id is not None else ():
        for namespace, name, column in (src, dst):
            namespaces.add(namespace)
            rows.add("dataset", _bare_dataset(namespace, name, at))
            rows.add("field", _field_row(namespace, name, column, at))
        rows.add("column_edge", (field_uuid(*dst), field_uuid(*src), job_id, *edge, at, day))
    for namespace in namespaces:
        rows.add("namespace", (namespace, at, day))
    return rows


def _day(at: datetime) -> datetime:
    """``at`` truncated to its UTC day: "last seen" times of edges and namespaces keep day resolution,
    so each run does not rewrite every edge and column it touches (a write per row per day at most)."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _static(event: ValidEvent) -> tuple[DatasetPart, ...]:
    return (event.dataset,) if event.dataset is not None else ()


def _job_row(event: ValidEvent, job_id: uuid.UUID) -> tuple[Any, ...]:
    assert event.job is not None
    facets = event.job.facets
    processing = _facet(facets, "jobType").get("processingType")
    job_type = {"BATCH": "BATCH", "STREAMING": "STREAM"}.get(str(processing).upper()) if processing else None
    parent = _facet(event.run_facets, "parent").get("job") or {}
    return (
        job_id,
        event.job.namespace,
        event.job.name,
        job_type,
        parent.get("name"),
        _facet(facets, "documentation").get("description"),
        _facet(facets, "sourceCodeLocation").get("url"),
        dict(facets),
        event.event_time,
        event.event_time,
    )


def _run_row(event: ValidEvent, job_id: uuid.UUID, sql: SqlLineage | None = None) -> tuple[Any, ...]:
    at = event.event_time
    parent_run = (_facet(event.run_facets, "parent").get("run") or {}).get("runId")
    nominal = _facet(event.run_facets, "nominalTime")
    facets = dict(event.run_facets)
    if sql is not None and not sql.parsed:
        facets[SQL_FACET] = _sql_facet(event, sql)
    return (
        event.run_id,
        job_id,
        _parent_run_uuid(parent_run),
        at if event.event_type in STARTING_TYPES else None,
        TERMINAL_STATES.get(event.event_type or ""),
        at if event.event_type in TERMINAL_STATES else None,
        _time_or_none(nominal.get("nominalStartTime")),
        _time_or_none(nominal.get("nominalEndTime")),
        facets,
        at,
        at,
    )


def _sql_facet(event: ValidEvent, sql: SqlLineage) -> dict[str, Any]:
    """The :data:`SQL_FACET` of a run whose sql facet could not be parsed."""
    given = _facet(event.job.facets, "sql").get("dialect") if event.job is not None else None
    return {"parsed": False, "dialect": given, "readAs": sql.dialect or "sqlglot default", "problem": sql.problem}


def _dataset_rows(
    rows: Rows, event: ValidEvent, part: DatasetPart, role: str, *, job_id: uuid.UUID | None, writes_version: bool
) -> None:
    at = event.event_time
    dataset_id = dataset_uuid(part.namespace, part.name)
    facets = part.facets
    output = role == "output"
    version = (
        dataset_version_uuid(part.namespace, part.name, event.run_id)
        if output and writes_version and event.run_id is not None
        else None
    )
    fields = _schema_fields(facets)
    lifecycle = (
        _facet(facets, "lifecycleStateChange").get("lifecycleStateChange") if output or role == "static" else None
    )
    rows.add(
        "dataset",
        (
            dataset_id,
            part.namespace,
            part.name,
            "DB_TABLE",
            _facet(facets, "datasource").get("name") or part.namespace,
            _facet(facets, "documentation").get("description"),
            fields,
            dict(facets),
            lifecycle,
            version,
            at if output and event.event_type == "COMPLETE" else None,
            event.run_id if version else None,
            at if version else None,
            at,
            at,
        ),
    )
    for item in fields or ():
        rows.add(
            "field",
            _field_row(
                part.namespace,
                part.name,
                item["name"],
                at,
                column_type=item.get("type"),
                description=item.get("description"),
            ),
        )
    if job_id is not None and role in ("input", "output"):
        rows.add(f"job_{role}", (dataset_id, job_id, at, _day(at)))
    if writes_version and role in ("input", "output"):
        rows.add("run_dataset", (event.run_id, role, dataset_id))
    if version is not None:
        rows.add(
            "version",
            (
                version,
                dataset_id,
                event.run_id,
                fields,
                {**_version_facets(facets), **part.io_facets},
                lifecycle,
                at,
                at,
            ),
        )


#: Dataset facets a version does not copy: the schema is its ``fields``, column lineage lives in edges.
NOT_VERSIONED = ("schema", "columnLineage")


def _version_facets(facets: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in facets.items() if name not in NOT_VERSIONED}


def _bare_dataset(namespace: str, name: str, at: datetime) -> tuple[Any, ...]:
    """A dataset only known from a column lineage reference."""
    return (
        dataset_uuid(namespace, name),
        namespace,
        name,
        "DB_TABLE",
        namespace,
        None,
        None,
        {},
        None,
        None,
        None,
        None,
        None,
        at,
        at,
    )


def _field_row(
    namespace: str,
    name: str,
    column: str,
    at: datetime,
    *,
    column_type: str | None = None,
    description: str | None = None,
) -> tuple[Any, ...]:
    return (
        field_uuid(namespace, name, column),
        dataset_uuid(namespace, name),
        column,
        column_type,
        description,
        at,
    )


EdgeAttributes = tuple[str | None, str | None, str | None, bool | None, str]


def _column_edges(
    event: ValidEvent, sql: SqlLineage | None = None
) -> Iterator[tuple[tuple[str, str, str], tuple[str, str, str], EdgeAttributes]]:
    """(source field, target field, attributes) from ``columnLineage`` facets, else from the ``sql`` facet (``sql``)."""
    for output in event.outputs:
        lineage = _facet(output.facets, "columnLineage")
        for column, spec in (lineage.get("fields") or {}).items():
            for source in spec.get("inputFields") or ():
                yield (
                    (canonical_namespace(source["namespace"]), source["name"], source["field"]),
                    (output.namespace, output.name, column),
                    _edge_attributes(spec, source),
                )
    for edge in sql.edges if sql is not None else ():
        attributes = (edge.transformation_type, edge.transformation_subtype, edge.description, edge.masking, "sql")
        yield edge.source, edge.target, attributes


def _sql_lineage(event: ValidEvent) -> SqlLineage | None:
    """Column lineage from the ``sql`` job facet, for an event with outputs and no ``columnLineage`` edges."""
    sql = _facet(event.job.facets, "sql") if event.job is not None else {}
    if not sql.get("query") or not event.outputs:
        return None
    for output in event.outputs:
        fields = _facet(output.facets, "columnLineage").get("fields") or {}
        if any(spec.get("inputFields") for spec in fields.values()):
            return None
    from scrollintel.lineage.sqllineage import sql_column_lineage

    return sql_column_lineage(sql["query"], event.inputs, event.outputs, sql.get("dialect"))


def _edge_attributes(spec: Mapping[str, Any], source: Mapping[str, Any]) -> EdgeAttributes:
    transformations = [item for item in source.get("transformations") or () if isinstance(item, Mapping)]
    if transformations:
        first = transformations[0]
        flags = [item.get("masking") for item in transformations]
        masking = True if True in flags else (False if all(flag is False for flag in flags) else None)
        return first.get("type"), first.get("subtype"), first.get("description"), masking, "facet"
    legacy = spec.get("transformationType")
    return legacy, None, spec.get("transformationDescription"), None, "facet"


def _parent_run_uuid(value: Any) -> uuid.UUID | None:
    """The parent run's id as the store keeps run ids (a non-UUID ``runId`` as Marquez derives it)."""
    from scrollintel.lineage.openlineage_events import run_uuid_of

    return run_uuid_of(value) if isinstance(value, str) and value.strip() else None


def _time_or_none(value: Any) -> datetime | None:
    from dateutil import parser

    try:
        return parser.isoparse(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        return None


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class Stored:
    """What became of one event: ``created`` (new), ``duplicate`` (already stored) or ``failed`` (not stored).

    ``error`` says why an event failed. ``derived`` is false when the raw event is kept but its
    lineage could not be derived or written; ``warning`` then says why.
    """

    status: Literal["created", "duplicate", "failed"]
    error: str | None = None
    derived: bool = True
    warning: str | None = None


POOL_NAME = "lineage"


def pool() -> warehouse.Pool:
    """The lineage store's connection pool; a relaxed ``synchronous_commit`` is a setting of its sessions.

    (Read-only transactions write no commit record anyway.)
    """
    relaxed = synchronous_commit()
    return warehouse.Pool(
        name=POOL_NAME, size=8, settings=(("synchronous_commit", relaxed),) if relaxed != "on" else ()
    )


def dispose_engines() -> None:
    """Close the lineage store's pooled connections of this process (tests, shutdown)."""
    warehouse.dispose_engines(POOL_NAME)


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A pooled psycopg connection to ``url``; rolled back and returned to the pool afterwards."""
    with warehouse.pooled_connection(url, pool()) as conn:
        yield conn


class LineageStore:
    """Writes OpenLineage events to the governance schema of the database at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def ingest(self, events: Sequence[ValidEvent], received_by: str | Sequence[str]) -> list[Stored]:
        """Store ``events`` and derive what they say; one :class:`Stored` per event, in order.

        ``received_by`` says who posted them (one name for all, or one per event). Raises the
        database error when the database cannot be used at all (connection lost); an error
        caused by one event only marks that event ``failed``.
        """
        if not events:
            return []
        writers = [received_by] * len(events) if isinstance(received_by, str) else list(received_by)
        derived = [_derived(event) for event in events]
        try:
            return self._write(events, writers, derived)
        except (*_refused(), *DERIVATION_ERRORS) as err:  # a row the database refuses, or one it cannot be sent
            if len(events) == 1:
                return [self._keep_raw(events[0], writers[0], derived[0], err)]
        log.warning("lineage: a batch of %d events was refused; storing them one by one", len(events))
        return [
            self._write_alone(event, writer, rows) for event, writer, rows in zip(events, writers, derived, strict=True)
        ]

    def _write_alone(self, event: ValidEvent, writer: str, rows: Rows | str) -> Stored:
        """One event in its own statement; when refused, its raw event alone (:meth:`_keep_raw`)."""
        try:
            return self._write([event], [writer], [rows])[0]
        except (*_refused(), *DERIVATION_ERRORS) as err:
            return self._keep_raw(event, writer, rows, err)

    def _keep_raw(self, event: ValidEvent, writer: str, rows: Rows | str, err: Exception) -> Stored:
        """After ``err`` refused the event with its derived rows: store the raw event alone, or say why not."""
        import psycopg

        if isinstance(rows, str):  # it was its raw event alone already
            return Stored("failed", _database_message(err))
        problem = (
            f"the database refused its derived lineage ({_database_primary(err)}); the raw event is kept"
            if isinstance(err, psycopg.Error)
            else f"its derived lineage could not be written ({type(err).__name__}: {err}); the raw event is kept"
        )
        log.warning("lineage: event %s of job %s kept without lineage: %s", event.digest[:12], _job_of(event), problem)
        try:
            return self._write([event], [writer], [problem])[0]
        except _refused() as raw_err:
            return Stored("failed", _database_message(raw_err))

    def _write(
        self, events: Sequence[ValidEvent], writers: Sequence[str], derived: Sequence[Rows | str]
    ) -> list[Stored]:
        """One statement: every event's raw row, and the derived rows of those that have them (a ``str``:
        the reason an event has none)."""
        import psycopg

        rows = Rows()
        for item in derived:
            if isinstance(item, Rows):
                rows.extend(item)
        for attempt in range(1, RETRIES + 1):
            try:
                with connect(self.url) as conn:
                    created = self._transaction(conn, events, writers, rows)
                return [
                    Stored("created" if new else "duplicate")
                    if isinstance(item, Rows)
                    else Stored("created" if new else "duplicate", derived=False, warning=item)
                    for new, item in zip(created, derived, strict=True)
                ]
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == RETRIES:
                    raise
                log.info("lineage: write conflict, retrying (%d/%d)", attempt, RETRIES)
        raise AssertionError("unreachable")

    @staticmethod
    def _transaction(
        conn: psycopg.Connection[Any], events: Sequence[ValidEvent], writers: Sequence[str], rows: Rows
    ) -> list[bool]:
        """One transaction in one round trip: :data:`WRITE`, alone, in autocommit.

        A single statement outside a transaction block is its own transaction: committed when it
        ends, rolled back entirely when it fails. No BEGIN/COMMIT round trips, each a wait for
        every request the combiner serves.
        """
        import psycopg

        appended = EVENT.json(_event_row(event, writer) for event, writer in zip(events, writers, strict=True))
        conn.autocommit = True
        try:
            with psycopg.RawCursor(conn) as cursor:
                cursor.execute(WRITE, [appended, *rows.parameters()])
                new_hashes = {row[0] for row in cursor.fetchall()}
        finally:
            if not conn.closed:
                conn.autocommit = False
        seen: set[str] = set()
        created = []
        for event in events:
            created.append(event.digest in new_hashes and event.digest not in seen)
            seen.add(event.digest)
        return created


def _event_row(event: ValidEvent, received_by: str) -> tuple[Any, ...]:
    return (
        event.digest,
        event.kind,
        event.event_type,
        event.event_time,
        event.run_id,
        event.job.namespace if event.job else None,
        event.job.name if event.job else None,
        event.producer,
        event.canonical,
        received_by,
    )


def _refused() -> tuple[type[Exception], ...]:
    """Database errors that refuse what one event says (not the database being unusable)."""
    import psycopg

    return (psycopg.errors.DataError, psycopg.errors.IntegrityError, psycopg.errors.ProgramLimitExceeded)


def _derived(event: ValidEvent) -> Rows | str:
    """The derived rows of ``event``, or why there are none (it is then stored raw)."""
    try:
        return derive(event)
    except DERIVATION_ERRORS as err:
        log.warning(
            "lineage: could not derive lineage from event %s of job %s (%s); keeping the raw event",
            event.digest[:12],
            _job_of(event),
            type(err).__name__,
        )
        return f"its lineage could not be derived ({type(err).__name__}: {err}); the raw event is kept"


def _job_of(event: ValidEvent) -> str:
    if event.job is not None:
        return f"{event.job.namespace}/{event.job.name}"
    return f"(dataset event {event.dataset.name})" if event.dataset is not None else "(none)"


def _database_message(err: Exception) -> str:
    return f"the database refused the event: {_database_primary(err)}"


def _database_primary(err: Exception) -> str:
    diag = getattr(err, "diag", None)
    return str(getattr(diag, "message_primary", None) or (str(err).splitlines() or [type(err).__name__])[0])
