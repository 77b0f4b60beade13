"""The loader: one resource from a connector into ``raw.<source>__<resource>``, exactly once.

One load is one warehouse transaction. In it, in order:

1. an advisory lock on the resource (two loads of one resource never interleave), its cursor
   state (row-locked) and its schema contract;
2. drift: the schema discovered just before is compared with the contract. ``freeze`` (or a
   change ``evolve`` cannot apply) rolls back and fails with the diff: 0 rows, cursor
   unchanged, a drift event recorded. ``evolve`` alters the raw table and registers a new
   contract version, inside the transaction;
3. the rows, streamed from the connector's CSV chunks through ``COPY`` (no Python object per
   row; the source is read a couple of chunks ahead in a thread, so memory is a few chunks):

   - **first load** (no raw table yet): the raw table is created partitioned (its rows live in
     one partition in ``raw_storage``, which a rewrite replaces; see :meth:`_Load._create_raw`);
     ``COPY ... (FREEZE)`` straight into a new partition, primary key built afterwards; in
     binary when the connector offers it (``supports_binary`` / ``extract_binary``: PostgreSQL
     sources, values already cast to the warehouse types by the source server). When a value
     does not parse or a key is null or duplicated, the attempt is rolled back to a savepoint
     and the rows are re-extracted into the stage of text columns;
   - **staged path**: ``COPY`` into a stage table (created in the load's transaction; typed, it
     is shaped like the raw table, in ``raw_storage``, ready to become its partition; else
     UNLOGGED, in ``raw``), first typed: binary when the connector offers it, else its CSV
     parsed by ``COPY`` into the warehouse types, so each value is parsed once. When a value
     does not fit, a key is duplicated or the binary form is unavailable, that attempt is rolled
     back to a savepoint and the batch is read again into a stage of text columns, whose values
     are checked and cast. Then either ``INSERT ... ON CONFLICT DO UPDATE ... WHERE (row) IS
     DISTINCT FROM (excluded row)`` (a batch that is small next to the table), or, for a large
     batch, one join of the batch with the whole table into a temporary table of the stored
     rows that stay, followed by writing only the changed rows or, when most of the table
     changed, a new partition swapped in: the stage itself when every row of the batch changed
     (the batch is then written once, as in a first load), else the kept and changed rows
     inserted into a new one (same rows and counts, a fraction of the time of millions of
     single-row upserts; a raw table created before partitions is emptied and refilled). Unchanged rows are
     not rewritten and keep their ``_loaded_at``/``_run_id`` either way, so replaying a batch
     changes nothing. A primary key value that is in more than one row of the batch sends
     every one of those rows to quarantine, whichever way the batch is then applied (one
     ``count(DISTINCT key)`` over the stage, and a typed stage is read again as text first; a
     rewrite of a batch whose rows all changed skips that count, as the key it rebuilds fails).
     When the merge hits a value that does not fit, it is rolled back to a savepoint, the rows
     that do not fit go to quarantine (:mod:`scrollintel.ingest.quarantine`) and the merge runs
     again on the rest;
   - **full refresh** (no cursor): the staged merge, then rows whose key is not in the batch
     are deleted; all in the same transaction, so readers see the old table or the new one.
     (Not a new table renamed into place: that would break the dbt views that read raw tables;
     a new partition keeps the raw table itself.)

4. the counts check: rows read from the source = rows loaded + rows quarantined, else rollback;
5. the new cursor state and a ``governance.ingest_load_run`` row; commit.

Killing the process at any point loses nothing and duplicates nothing: the transaction either
committed the rows *and* the cursor, or neither. Drift and quarantine events go to the audit
ledger and the notification hooks after the commit (observers).

Needs PostgreSQL 16+ in the warehouse (``pg_input_is_valid``); older servers fail with a message
saying so.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from scrollintel import warehouse
from scrollintel.ingest import quarantine, registry, state
from scrollintel.ingest.connectors.base import (
    BinaryUnavailable,
    Chunk,
    Connector,
    CursorState,
    DiscoveredSchema,
    SourceColumn,
)
from scrollintel.ingest.errors import (
    CountMismatchError,
    IngestError,
    ResourceConfigError,
    SchemaDriftError,
    UnsupportedServerError,
)
from scrollintel.ingest.events import IngestEvent, emit
from scrollintel.ingest.prefetch import Prefetch
from scrollintel.warehouse import RAW_SCHEMA, raw_table, raw_table_name

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from scrollintel.config.sources import SourceConfig

log = logging.getLogger(__name__)

#: Where the rows of a raw table are kept: its one partition (migration 0007).
STORAGE_SCHEMA = "raw_storage"
DEFAULT_CHUNK_ROWS = 50_000
#: Chunks read ahead of the one COPY is taking (memory: about this many chunks more).
PREFETCH_CHUNKS = 2
#: pg_input_is_valid / pg_input_error_info arrived in PostgreSQL 16.
MIN_SERVER_VERSION = 160_000
#: Warehouse session settings: values printed in UTC/ISO, memory for the merge and the key build.
WAREHOUSE_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO,YMD",
    "IntervalStyle": "postgres",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "temp_buffers": "256MB",
}
STAGE = "_scrollintel_stage"
KEPT = "_scrollintel_kept"
#: A batch of at least this many rows and this share of the table's rows is compared with the
#: whole table in one join instead of upserted row by row ...
LARGE_BATCH_ROWS = 50_000
LARGE_BATCH_FRACTION = 0.25
#: ... and when the changes reach this share of the table, the table is rewritten.
REWRITE_FRACTION = 0.3
#: work_mem of the join that compares a large batch with the table.
COMPARE_WORK_MEM = "256MB"
MAX_IDENTIFIER = 63
#: SQLSTATE classes of errors caused by the data (not by the loader or the server).
_DATA_ERROR_CLASSES = ("22", "23")
_CARDINALITY_VIOLATION = "21000"  # ON CONFLICT DO UPDATE touching one row twice

Mode = Literal["initial", "incremental", "full_refresh"]


# --------------------------------------------------------------------------- what to load


@runtime_checkable
class BinaryExtractor(Protocol):
    """Optional connector extension: rows as binary COPY data of exactly the warehouse types."""

    def supports_binary(self, schema: DiscoveredSchema) -> bool: ...

    def extract_binary(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]: ...


@dataclass(frozen=True)
class ResourceSpec:
    """What the loader needs to know about one table, endpoint or file of a source."""

    source: str
    resource: str
    primary_key: tuple[str, ...]
    cursor: str | None = None
    """Database cursor column (``WHERE cursor >= last``); None for APIs and files."""
    incremental: bool = True
    """False: every run reads everything (full refresh; keys absent from the batch are deleted)."""
    schema_policy: Literal["evolve", "freeze"] = "freeze"

    @classmethod
    def from_config(cls, source: SourceConfig, resource: str) -> ResourceSpec:
        """The spec of ``resource`` as ``governance/sources/<source>.yaml`` declares it."""
        item = source.resource(resource)
        return cls(
            source=source.name,
            resource=resource,
            primary_key=tuple(item.primary_key),
            cursor=getattr(item, "cursor", None),
            incremental=item.incremental,
            schema_policy=source.schema_policy,
        )

    @property
    def table(self) -> str:
        """``<source>__<resource>``: the table name in ``raw`` and ``raw_quarantine``."""
        return raw_table_name(self.source, self.resource)

    @property
    def raw_table(self) -> str:
        """``raw.<source>__<resource>``."""
        return raw_table(self.source, self.resource)

    def check(self, schema: DiscoveredSchema) -> None:
        """Raise :class:`ResourceConfigError` when the YAML does not fit the discovered schema."""
        if len(self.table) > MAX_IDENTIFIER:
            raise ResourceConfigError(
                f"{self.raw_table}: table name is {len(self.table)} characters; PostgreSQL allows "
                f"{MAX_IDENTIFIER}. Shorten the source or resource name."
            )
        names = set(schema.names)
        missing = [name for name in self.primary_key if name not in names]
        if missing:
            raise ResourceConfigError(
                f"{self.source}.{self.resource}: primary key column(s) {', '.join(missing)} not in the source "
                f"(columns: {', '.join(schema.names)}); fix primary_key in governance/sources/{self.source}.yaml"
            )
        if self.cursor is not None and self.cursor not in names:
            raise ResourceConfigError(
                f"{self.source}.{self.resource}: cursor column {self.cursor!r} not in the source "
                f"(columns: {', '.join(schema.names)}); fix cursor in governance/sources/{self.source}.yaml"
            )
        reserved = sorted(names & {"_loaded_at", "_run_id"})
        if reserved:
            raise ResourceConfigError(
                f"{self.source}.{self.resource}: source column(s) {', '.join(reserved)} clash with the raw "
                "table's metadata columns"
            )


@dataclass
class LoadResult:
    """What one load did. ``source_rows == loaded_rows + quarantined_rows`` always holds."""

    source: str
    resource: str
    raw_table: str
    run_id: str
    batch_id: str
    mode: Mode
    path: Literal["direct", "direct-binary", "staged", "staged-typed", "staged-binary"] = "staged"
    applied_by: Literal["upsert", "rewrite", "changes"] | None = None
    """Staged path: how the batch reached the table (row upsert, table rewrite, changed rows of a join)."""
    source_rows: int = 0
    loaded_rows: int = 0
    """Rows accepted into the raw table: inserted + updated + unchanged."""
    inserted_rows: int = 0
    updated_rows: int = 0
    unchanged_rows: int = 0
    deleted_rows: int = 0
    quarantined_rows: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    cursor_before: str | None = None
    cursor_after: str | None = None
    schema_version: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written_rows(self) -> int:
        """Rows inserted or changed (the landed batch)."""
        return self.inserted_rows + self.updated_rows

    def check_counts(self) -> None:
        """Raise :class:`CountMismatchError` unless source rows = loaded + quarantined."""
        if self.source_rows != self.loaded_rows + self.quarantined_rows:
            raise CountMismatchError(
                f"{self.raw_table}: {self.source_rows} row(s) read from the source but {self.loaded_rows} loaded "
                f"+ {self.quarantined_rows} quarantined = {self.loaded_rows + self.quarantined_rows}; nothing "
                "was committed"
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _DuplicateKeys(Exception):
    """A typed stage holds a primary key value twice: the batch is read again as text to quarantine them."""


class _DriftBlocked(Exception):
    def __init__(self, diff: registry.SchemaDiff, contract: registry.Contract) -> None:
        super().__init__(diff.describe())
        self.diff = diff
        self.contract = contract


# --------------------------------------------------------------------------- helpers


def connect_warehouse(url: str) -> psycopg.Connection[Any]:
    """A connection to the warehouse with the loader's session settings (autocommit off)."""
    return warehouse.connect(url, autocommit=False, settings=WAREHOUSE_SETTINGS)


def check_server_version(version_num: int, version_text: str = "") -> None:
    """Raise :class:`UnsupportedServerError` for PostgreSQL older than 16."""
    if version_num < MIN_SERVER_VERSION:
        shown = version_text or f"{version_num // 10000}.{version_num % 10000}"
        raise UnsupportedServerError(
            f"the warehouse runs PostgreSQL {shown}; the ingestion loader needs PostgreSQL 16 or newer "
            "(it checks each value with pg_input_is_valid to quarantine rows that do not fit). "
            "Upgrade the server or point the platform at a newer one."
        )


def is_data_error(err: BaseException) -> bool:
    """True for errors caused by the rows (bad value, null or duplicate key), not by the loader."""
    sqlstate = getattr(err, "sqlstate", None) or ""
    return sqlstate[:2] in _DATA_ERROR_CLASSES or sqlstate == _CARDINALITY_VIOLATION


def _ident(*parts: str) -> sql.Identifier:
    from psycopg import sql

    return sql.Identifier(*parts)


def _column_list(columns: list[SourceColumn]) -> sql.Composable:
    from psycopg import sql

    return sql.SQL(", ").join(_ident(col.name) for col in columns)


# --------------------------------------------------------------------------- the load


class _Load:
    """State of one load while it runs (see the module docstring for the steps)."""

    def __init__(
        self, connector: Connector, spec: ResourceSpec, url: str, *, run_id: str, chunk_rows: int, audit: bool
    ) -> None:
        self.connector = connector
        self.spec = spec
        self.url = url
        self.run_id = run_id
        self.chunk_rows = chunk_rows
        self.audit = audit
        self.batch_id = uuid.uuid4().hex
        #: The batch's stage table (see _staged_once): one per load, so loads never wait on each other.
        self.stage = (RAW_SCHEMA, f"{STAGE}_{self.batch_id[:16]}")
        #: The raw table is partitioned (its rows in one partition in raw_storage), as every raw
        #: table created since migration 0007 is; older ones are plain tables (see _rewrite).
        self.partitioned = True
        #: The stage became the raw table's partition (see _rewrite): then it is not dropped.
        self.stage_swapped = False
        self._storage_seq = itertools.count(1)
        self.started = datetime.now(UTC)
        self.clock = time.monotonic()
        self.schema: DiscoveredSchema
        self.columns: list[SourceColumn] = []
        self.types: dict[str, str] = {}
        self.token: str | None = None
        self.files: dict[str, str] = {}
        self.extract_state = CursorState()

    # -- entry point ------------------------------------------------------------------------

    def run(self) -> LoadResult:
        spec = self.spec
        self.schema = self.connector.discover(spec.resource)
        spec.check(self.schema)
        self.columns = list(self.schema.columns)
        self.types = {col.name: col.pg_type for col in self.columns}
        for pg_type in self.types.values():
            quarantine.type_sql(pg_type)  # refuse anything that is not a plain type name
        applied: registry.SchemaDiff | None = None
        with connect_warehouse(self.url) as conn:
            info = conn.info
            check_server_version(info.server_version, conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            conn.commit()
            try:
                with conn.transaction():
                    result, applied = self._load(conn)
            except _DriftBlocked as blocked:
                self._record_blocked(conn, blocked)
                raise SchemaDriftError(self._blocked_message(blocked)) from None
            except BaseException as err:
                self._record_failure(err)
                raise
        self._emit_after_commit(result, applied)
        return result

    def _load(self, conn: psycopg.Connection[Any]) -> tuple[LoadResult, registry.SchemaDiff | None]:
        spec = self.spec
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"scrollintel.ingest:{spec.raw_table}",))
        contract = registry.current_contract(conn, spec.source, spec.resource)
        stored = state.read_state(conn, spec.source, spec.resource, for_update=True)
        kind = conn.execute(
            "SELECT relkind FROM pg_class WHERE oid = to_regclass(format('%%I.%%I', %s::text, %s::text))",
            (RAW_SCHEMA, spec.table),
        ).fetchone()
        exists = kind is not None
        self.partitioned = kind is None or kind[0] == "p"
        before = stored.state if stored and exists else CursorState()
        if stored and not exists:
            log.warning("%s is missing but a cursor is stored: loading everything again", spec.raw_table)
        mode: Mode = "initial" if not exists else ("incremental" if spec.incremental else "full_refresh")
        self.extract_state = before if spec.incremental else CursorState()

        applied: registry.SchemaDiff | None = None
        if contract is None:
            contract = registry.register_version(
                conn, spec.source, spec.resource, self.schema, spec.primary_key, run_id=self.run_id
            )
        else:
            if tuple(contract.primary_key) != spec.primary_key:
                raise ResourceConfigError(
                    f"{spec.raw_table}: primary key changed from {list(contract.primary_key)} to "
                    f"{list(spec.primary_key)}; the raw table is keyed on the old one. Drop {spec.raw_table} "
                    "(it is reloaded in full) or restore primary_key in the YAML."
                )
            diff = registry.compare(contract, self.schema)
            if diff:
                if spec.schema_policy == "freeze" or not diff.compatible:
                    raise _DriftBlocked(diff, contract)
                if exists:
                    self._evolve(conn, diff)
                previous = contract
                contract = registry.register_version(
                    conn,
                    spec.source,
                    spec.resource,
                    self.schema,
                    spec.primary_key,
                    run_id=self.run_id,
                    previous=previous,
                    diff=diff,
                )
                registry.record_drift(
                    conn,
                    spec.source,
                    spec.resource,
                    diff,
                    policy=spec.schema_policy,
                    outcome="applied",
                    run_id=self.run_id,
                    batch_id=self.batch_id,
                    from_version=previous.version,
                    to_version=contract.version,
                )
                applied = diff

        result = LoadResult(
            source=spec.source,
            resource=spec.resource,
            raw_table=spec.raw_table,
            run_id=self.run_id,
            batch_id=self.batch_id,
            mode=mode,
            cursor_before=None if before.value is None else str(before.value),
            schema_version=contract.version,
            drift=applied.as_dicts() if applied else [],
            columns=[asdict(col) for col in self.columns],
        )
        if mode == "initial":
            cursor_max = self._initial(conn, result)
        else:
            cursor_max = self._staged(conn, result, full_refresh=mode == "full_refresh")
        result.check_counts()

        new_state = CursorState(
            value=cursor_max if spec.cursor else None,
            token=self.token if self.token is not None else (before.token if spec.incremental else None),
            files={**(dict(before.files) if spec.incremental else {}), **self.files},
        )
        result.cursor_after = None if new_state.value is None else str(new_state.value)
        state.write_state(
            conn,
            spec.source,
            spec.resource,
            new_state,
            schema_version=contract.version,
            run_id=self.run_id,
            batch_id=self.batch_id,
        )
        result.seconds = round(time.monotonic() - self.clock, 3)
        self._record_run(conn, result, status="succeeded")
        return result, applied

    # -- streaming ---------------------------------------------------------------------------

    def _chunks(self, *, binary: bool = False) -> Generator[Chunk, None, None]:
        self.token = None
        self.files = {}
        connector = self.connector
        extract = connector.extract_binary if binary and isinstance(connector, BinaryExtractor) else connector.extract
        for chunk in extract(self.spec.resource, self.schema, self.extract_state, chunk_rows=self.chunk_rows):
            if chunk.token is not None:
                self.token = chunk.token
            if chunk.file is not None:
                self.files[chunk.file[0]] = chunk.file[1]
            yield chunk

    def _copy_in(
        self, conn: psycopg.Connection[Any], statement: sql.Composed, *, binary: bool = False
    ) -> tuple[int, int]:
        """Stream every chunk into ``statement`` (a COPY FROM STDIN); (rows from source, rows copied)."""
        import psycopg

        source_rows = 0
        try:
            # the source is read ahead in its own thread while COPY takes the current chunk
            prefetch = Prefetch(
                lambda: self._chunks(binary=binary), depth=PREFETCH_CHUNKS, name=f"extract-{self.spec.table}"
            )
            with contextlib.closing(prefetch) as chunks, conn.cursor() as cur:
                with cur.copy(statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk.data)
                        source_rows += chunk.rows
                copied = cur.rowcount
        except psycopg.errors.BadCopyFileFormat as err:
            if binary:
                raise  # the caller falls back to CSV
            # not a value that does not fit but rows that cannot be split into columns: a connector bug
            raise IngestError(
                f"{type(self.connector).__name__} produced CSV that COPY cannot read for {self.spec.raw_table} "
                f"({str(err).strip()}); nothing was loaded"
            ) from err
        return source_rows, copied

    # -- first load ----------------------------------------------------------------------------

    def _create_raw(self, conn: psycopg.Connection[Any]) -> None:
        """The raw table, partitioned, with no partition yet.

        It holds no rows itself: they are in its one DEFAULT partition (:meth:`_new_storage`),
        which carries the primary key and which a load that rewrites the table replaces
        (:meth:`_swap_in`) while the table keeps its identity. Partitioned by ``_loaded_at``, a
        column of the loader's own: PostgreSQL refuses to retype a partition key column, and a
        key on the partitioned table would have to include it (a key column widened at the
        source, ``integer`` to ``bigint``, must stay possible).
        """
        from psycopg import sql

        columns: list[sql.Composable] = [
            sql.SQL("{} {}").format(_ident(c.name), quarantine.type_sql(c.pg_type)) for c in self.columns
        ]
        columns.append(sql.SQL("_loaded_at timestamptz NOT NULL DEFAULT now()"))
        columns.append(sql.SQL("_run_id text NOT NULL"))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({}) PARTITION BY RANGE (_loaded_at)").format(
                _ident(RAW_SCHEMA, self.spec.table), sql.SQL(", ").join(columns)
            )
        )

    def _add_key(self, conn: psycopg.Connection[Any], table: tuple[str, str] | None = None) -> None:
        """The primary key of ``table`` (a partition being built), or of a plain raw table."""
        from psycopg import sql

        schema, name = table or (RAW_SCHEMA, self.spec.table)
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
                _ident(schema, name),
                _ident(f"{name[: MAX_IDENTIFIER - 5]}_pkey"),
                sql.SQL(", ").join(_ident(key) for key in self.spec.primary_key),
            )
        )

    def _new_storage(self, conn: psycopg.Connection[Any]) -> tuple[str, str]:
        """A new table shaped like the raw table, in raw_storage, to become its partition.

        Named after the raw table and this load. Rows COPYed into it without ``_loaded_at`` and
        ``_run_id`` get now() and this run (the default is dropped when it is attached).
        """
        from psycopg import sql

        table = (STORAGE_SCHEMA, f"{self.spec.table[:40]}__{self.batch_id[:12]}_{next(self._storage_seq)}")
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                _ident(*table), _ident(RAW_SCHEMA, self.spec.table)
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN _run_id SET DEFAULT {}").format(
                _ident(*table), sql.Literal(self.run_id)
            )
        )
        return table

    def _partitions(self, conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
        rows = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.inhparent = to_regclass(format('%%I.%%I', %s::text, %s::text))",
            (RAW_SCHEMA, self.spec.table),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def _swap_in(self, conn: psycopg.Connection[Any], table: tuple[str, str]) -> None:
        """Make ``table`` the raw table's partition: key built, the previous partition detached and
        dropped, statistics gathered.

        In the load's transaction: readers of the raw table wait for the commit (DETACH takes
        an ACCESS EXCLUSIVE lock, as TRUNCATE would) and then see the new rows.
        """
        from psycopg import sql

        raw = _ident(RAW_SCHEMA, self.spec.table)
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN _run_id DROP DEFAULT").format(_ident(*table)))
        self._add_key(conn, table)
        for old in self._partitions(conn):
            conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(raw, _ident(*old)))
            conn.execute(sql.SQL("DROP TABLE {}").format(_ident(*old)))
        conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} DEFAULT").format(raw, _ident(*table)))
        # statistics of the raw table itself (and of its new partition): autovacuum never analyzes a
        # partitioned table, and without them the planner guesses 200 distinct values per column
        # for any query that reads it (a dbt model's join would be planned for millions of rows)
        conn.execute(sql.SQL("ANALYZE {}").format(raw))

    def _target(self, conn: psycopg.Connection[Any]) -> tuple[str, str]:
        """The table rows are written to: the raw table's partition (or the raw table, when plain).

        Upserts go to the partition: it holds the primary key (``ON CONFLICT``'s arbiter), and
        ``RETURNING xmax`` is refused on a partitioned table.
        """
        if not self.partitioned:
            return (RAW_SCHEMA, self.spec.table)
        partitions = self._partitions(conn)
        if len(partitions) != 1:
            raise IngestError(
                f"{self.spec.raw_table} should have one partition in {STORAGE_SCHEMA}, it has {len(partitions)} "
                f"({', '.join('.'.join(p) for p in partitions) or 'none'}); it was changed by hand"
            )
        return partitions[0]

    def _initial(self, conn: psycopg.Connection[Any], result: LoadResult) -> str | None:
        """COPY straight into the new table's partition; on bad rows, roll back and take the staged path."""
        import psycopg
        from psycopg import sql

        binary = self._binary_ok()
        try:
            with conn.transaction():  # savepoint: FREEZE needs the table created in this subtransaction
                self._create_raw(conn)
                storage = self._new_storage(conn)
                statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {}, FREEZE)").format(
                    _ident(*storage), _column_list(self.columns), sql.SQL("binary" if binary else "csv")
                )
                source_rows, copied = self._copy_in(conn, statement, binary=binary)
                self._swap_in(conn, storage)
        except (psycopg.Error, BinaryUnavailable) as err:
            if isinstance(err, psycopg.Error) and not is_data_error(err):
                raise
            log.info(
                "%s: first load hit rows that do not fit (%s); re-reading through the validating path",
                self.spec.raw_table,
                getattr(err, "sqlstate", None) or err,
            )
            self._create_raw(conn)
            self._swap_in(conn, self._new_storage(conn))  # empty: the staged path merges into it
            # the typed attempt was this one: straight to the validating stage
            return self._staged(conn, result, full_refresh=False, typed=False)
        result.path = "direct-binary" if binary else "direct"
        result.source_rows = source_rows
        result.loaded_rows = result.inserted_rows = copied
        if self.spec.cursor is None:
            return None
        row = conn.execute(
            sql.SQL("SELECT max({})::text FROM {}").format(
                _ident(self.spec.cursor), _ident(RAW_SCHEMA, self.spec.table)
            )
        ).fetchone()
        return row[0] if row else None

    def _binary_ok(self) -> bool:
        """Whether the connector can hand over the rows in binary COPY form (PostgreSQL sources)."""
        supports = getattr(self.connector, "supports_binary", None)
        return (
            callable(supports) and callable(getattr(self.connector, "extract_binary", None)) and supports(self.schema)
        )

    # -- staged path ----------------------------------------------------------------------------

    def _staged(
        self, conn: psycopg.Connection[Any], result: LoadResult, *, full_refresh: bool, typed: bool = True
    ) -> str | None:
        """Stage the batch and merge it: first typed (binary when the connector can, else CSV parsed by
        COPY), and when a value, a key or the binary form does not fit, read again as validated text.

        ``typed=False``: only the validating stage (the first load's direct COPY already failed).
        """
        import psycopg

        if typed:
            binary = self._binary_ok()
            try:
                with conn.transaction():  # savepoint: a batch that does not fit is read again as text
                    return self._staged_once(conn, result, full_refresh=full_refresh, typed=True, binary=binary)
            except (psycopg.Error, BinaryUnavailable, _DuplicateKeys) as err:
                if isinstance(err, psycopg.Error) and not is_data_error(err):
                    raise
                log.info(
                    "%s: the typed batch does not fit (%s); re-reading it through the validating path",
                    self.spec.raw_table,
                    getattr(err, "sqlstate", None) or err,
                )
        return self._staged_once(conn, result, full_refresh=full_refresh, typed=False, binary=False)

    def _create_stage(self, conn: psycopg.Connection[Any], *, typed: bool) -> None:
        """The batch's stage table (``self.stage``), created in the current subtransaction."""
        from psycopg import sql

        self.stage_swapped = False
        # typed, of a partitioned raw table: a new table shaped like it, which becomes its partition
        # when the batch rewrites the table (the rows are then written once), else is dropped
        if typed and self.partitioned:
            self.stage = self._new_storage(conn)
        else:
            # typed: the warehouse types, values parsed once by COPY (the casts below are then no-ops);
            # text: every value checked before it is cast, bad rows quarantined.
            # UNLOGGED in raw, not TEMP: PostgreSQL never reads a temporary table in parallel, and the
            # join of a large batch with its table is the longest step of a merge. Created and dropped
            # in the load's transaction, it is never visible to anyone else (a killed load leaves nothing).
            self.stage = (RAW_SCHEMA, f"{STAGE}_{self.batch_id[:16]}")
            columns = [
                sql.SQL("{} {}").format(_ident(c.name), quarantine.type_sql(c.pg_type) if typed else sql.SQL("text"))
                for c in self.columns
            ]
            conn.execute(
                sql.SQL("CREATE UNLOGGED TABLE {} ({})").format(_ident(*self.stage), sql.SQL(", ").join(columns))
            )

    def _staged_once(
        self, conn: psycopg.Connection[Any], result: LoadResult, *, full_refresh: bool, typed: bool, binary: bool
    ) -> str | None:
        import psycopg
        from psycopg import sql

        spec = self.spec
        self._create_stage(conn, typed=typed)
        stage = _ident(*self.stage)
        # FREEZE (the stage was created in this subtransaction): rows land with their hint bits
        # set, so the scans that follow do not dirty and write every page once more
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {}, FREEZE)").format(
            stage, _column_list(self.columns), sql.SQL("binary" if binary else "csv")
        )
        source_rows, staged = self._copy_in(conn, statement, binary=binary)
        if staged >= LARGE_BATCH_ROWS:
            # row and key estimates for the join's plan (the other columns' statistics would only cost time)
            conn.execute(
                sql.SQL("ANALYZE {} ({})").format(stage, sql.SQL(", ").join(_ident(n) for n in spec.primary_key))
            )
        if source_rows != staged:
            raise CountMismatchError(
                f"{spec.raw_table}: the connector reported {source_rows} row(s) but COPY read {staged}; "
                "nothing was committed"
            )
        result.path = "staged-binary" if binary else "staged-typed" if typed else "staged"
        result.source_rows = source_rows
        before = result.cursor_before
        quarantined = quarantine.QuarantineCounts()
        try:
            with conn.transaction():
                # the cursor counts every row read, quarantined ones included (as on the path below)
                cursor_max = self._cursor_max(conn, before, validate=False)
                loaded = staged
                # a key twice in the batch: every row of it goes to quarantine, on every apply path
                # (an upsert would apply one copy or fail on the second, a join would count wrong).
                # A typed batch is only checked where the apply path would not fail on it (_apply).
                if not typed and quarantine.has_duplicates(
                    conn, self.stage, self.columns, spec.primary_key, typed=False
                ):
                    quarantine.ensure_table(conn, spec.table)
                    quarantined = self._quarantine_duplicates(conn)
                    loaded = staged - quarantined.total
                inserted, written, deleted = self._apply(conn, result, loaded, full_refresh=full_refresh, typed=typed)
        except psycopg.Error as err:
            if typed or not is_data_error(err):
                raise  # a typed batch with bad keys is read again as text (see _staged)
            cursor_max = self._cursor_max(conn, before, validate=True)
            quarantine.ensure_table(conn, spec.table)
            # duplicates first, so whether a key's rows are duplicates never depends on other columns
            quarantined = self._quarantine_duplicates(conn)
            invalid = quarantine.quarantine_invalid(
                conn, self.stage, spec.table, self.columns, spec.primary_key, run_id=self.run_id, batch_id=self.batch_id
            )
            for reason, count in invalid.by_reason.items():
                quarantined.add(reason, count)
            loaded = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(stage)).fetchone()[0]  # type: ignore[index]
            inserted, written, deleted = self._apply(conn, result, loaded, full_refresh=full_refresh, typed=False)
        if quarantined.total:
            log.warning(
                "%s: %d row(s) quarantined in raw_quarantine.%s (%s)",
                spec.raw_table,
                quarantined.total,
                spec.table,
                "; ".join(f"{reason}: {count}" for reason, count in sorted(quarantined.by_reason.items())),
            )
        result.deleted_rows = deleted
        result.loaded_rows = loaded
        result.inserted_rows = inserted
        result.updated_rows = written - inserted
        result.unchanged_rows = loaded - written
        result.quarantined_rows = quarantined.total
        result.quarantine_reasons = dict(quarantined.by_reason)
        if not self.stage_swapped:
            conn.execute(sql.SQL("DROP TABLE {}").format(stage))
        return cursor_max

    def _quarantine_duplicates(self, conn: psycopg.Connection[Any]) -> quarantine.QuarantineCounts:
        spec = self.spec
        return quarantine.quarantine_duplicates(
            conn, self.stage, spec.table, self.columns, spec.primary_key, run_id=self.run_id, batch_id=self.batch_id
        )

    def _apply(
        self, conn: psycopg.Connection[Any], result: LoadResult, staged: int, *, full_refresh: bool, typed: bool
    ) -> tuple[int, int, int]:
        """Bring the stage into the raw table; (inserted, inserted + updated, deleted).

        A batch that is small next to the table is upserted row by row (:meth:`_merge`). A large
        one is first compared with the whole table in one join (:meth:`_compare`); when most of
        the table changes, the table is rewritten (:meth:`_rewrite`), else only the changed rows
        are applied. Same result either way; the choice is only about speed.

        ``typed``: the stage has not been checked for a key in more than one row yet. Where that
        would go unnoticed (an upsert applies one copy when the other equals the stored row, a
        join pairs a stored row with both), :meth:`_refuse_duplicates` checks first. A rewrite of
        a batch whose rows all changed needs no check: it inserts every row of the stage, so the
        primary key it rebuilds fails on a duplicate, and the batch is read again as text.
        """
        from psycopg import sql

        if staged < LARGE_BATCH_ROWS or staged < LARGE_BATCH_FRACTION * self._estimated_rows(conn):
            if typed:
                self._refuse_duplicates(conn)
            result.applied_by = "upsert"
            inserted, written = self._merge(conn)
            return inserted, written, self._delete_absent(conn) if full_refresh else 0
        counts = self._compare(conn, staged)
        inserted, updated = counts["inserted"], counts["updated"]
        deleted = counts["absent"] if full_refresh else 0
        kept = sum(counts.values()) - deleted
        # every row of the batch new or changed (and no removed column to carry over): the changed
        # rows are the stage as it is, with no join to the kept rows (a hash of the whole stage)
        matched = counts["unchanged"] > 0 or bool(self._removed_columns(conn))
        if matched:
            conn.execute(sql.SQL("ANALYZE {}").format(_ident(KEPT)))  # a temporary table has no statistics
        rewrite = inserted + updated + deleted >= REWRITE_FRACTION * max(kept, 1)
        if typed and (matched or not rewrite):
            self._refuse_duplicates(conn)
        if rewrite:
            result.applied_by = "rewrite"
            self._rewrite(conn, full_refresh=full_refresh, matched=matched)
        else:
            result.applied_by = "changes"
            self._apply_changes(conn, full_refresh=full_refresh, matched=matched)
        return inserted, inserted + updated, deleted

    def _refuse_duplicates(self, conn: psycopg.Connection[Any]) -> None:
        """Raise :class:`_DuplicateKeys` when a key is in more than one row of the typed stage."""
        spec = self.spec
        if quarantine.has_duplicates(conn, self.stage, self.columns, spec.primary_key, typed=True):
            raise _DuplicateKeys(f"{spec.raw_table}: a primary key value is in more than one row")

    def _estimated_rows(self, conn: psycopg.Connection[Any]) -> float:
        """Rows in the raw table as the planner believes (kept up to date by loads and autovacuum).

        Read from its partition: a partitioned table has no row count of its own.
        """
        row = conn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(format('%%I.%%I', %s::text, %s::text))",
            self._target(conn),
        ).fetchone()
        return max(float(row[0]), 0.0) if row and row[0] is not None else 0.0

    def _raw_columns(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Every column of the raw table in order (columns removed at the source stay in it)."""
        rows = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (RAW_SCHEMA, self.spec.table),
        ).fetchall()
        return [row[0] for row in rows]

    def _removed_columns(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Columns of the raw table the source no longer has (besides the loader's own)."""
        ours = {col.name for col in self.columns} | {"_loaded_at", "_run_id"}
        return [name for name in self._raw_columns(conn) if name not in ours]

    def _compare(self, conn: psycopg.Connection[Any], staged: int) -> dict[str, int]:
        """Join the raw table with the stage into ``_scrollintel_kept``: the stored rows that stay.

        Kept are the rows the batch leaves as they are: ``unchanged`` (same values: they keep their
        ``_loaded_at`` and ``_run_id``, as the upsert would) and ``absent`` (key not in the batch),
        flagged ``_in_batch`` and ``_same``. The changed rows are not copied: they are the stage's
        rows without a kept match, written once by :meth:`_rewrite` or :meth:`_apply_changes`.
        When a batch changes every row, the join writes nothing. (Only when the table holds
        columns removed at the source are all its rows kept, since updated rows keep their values
        of those columns.) Counts: ``inserted``, ``updated``, ``unchanged``, ``absent``.
        """
        from psycopg import sql

        spec = self.spec
        same = self._same("t", "s")
        only_kept = (
            sql.SQL("") if self._removed_columns(conn) else sql.SQL(" WHERE s._present IS NULL OR {}").format(same)
        )
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_ident(KEPT)))
        # the hash of the stage fits in memory (a few hundred MB for millions of rows) instead of
        # spilling to disk in batches; for the rest of this transaction only
        conn.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(COMPARE_WORK_MEM)))
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {kept} ON COMMIT DROP AS "
                "SELECT t.*, s._present IS NOT NULL AS _in_batch, s._present IS NOT NULL AND {same} AS _same "
                "FROM {table} AS t LEFT JOIN (SELECT true AS _present, {casts} FROM {stage}) AS s ON {match}{only_kept}"
            ).format(
                kept=_ident(KEPT),
                same=same,
                table=_ident(RAW_SCHEMA, spec.table),
                casts=self._stage_casts(),
                stage=_ident(*self.stage),
                match=sql.SQL(" AND ").join(sql.SQL("s.{0} = t.{0}").format(_ident(name)) for name in spec.primary_key),
                only_kept=only_kept,
            )
        )
        row = conn.execute(
            sql.SQL(
                "SELECT count(*) FILTER (WHERE _same), count(*) FILTER (WHERE NOT _in_batch), "
                "(SELECT count(*) FROM {table}) FROM {kept}"
            ).format(kept=_ident(KEPT), table=_ident(RAW_SCHEMA, spec.table))
        ).fetchone()
        assert row is not None
        unchanged, absent, stored = (int(value) for value in row)
        updated = stored - unchanged - absent
        return {"inserted": staged - unchanged - updated, "updated": updated, "unchanged": unchanged, "absent": absent}

    def _same(self, stored: str, staged: str) -> sql.Composable:
        """SQL: the non-key values of rows ``stored`` and ``staged`` are the same (nulls equal)."""
        from psycopg import sql

        data = [col.name for col in self.columns if col.name not in self.spec.primary_key]
        if not data:
            return sql.SQL("true")
        return sql.SQL("({}) IS NOT DISTINCT FROM ({})").format(
            sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(stored), _ident(name)) for name in data),
            sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(staged), _ident(name)) for name in data),
        )

    def _stage_casts(self) -> sql.Composable:
        """The stage's columns cast to the warehouse types (a value that does not fit raises a data error)."""
        from psycopg import sql

        return sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(quarantine.cast(col.name, col.pg_type), _ident(col.name)) for col in self.columns
        )

    def _changed_rows(self, conn: psycopg.Connection[Any], *, matched: bool) -> sql.Composable:
        """SELECT of the batch's new and changed rows, in the raw table's column order.

        ``matched``: some kept rows are rows of the batch (unchanged, or all stored rows when
        columns were removed at the source), so the stage is joined with them; else every stage
        row is new or changed and the stage is read alone.
        """
        from psycopg import sql

        ours = {col.name for col in self.columns}
        picks: list[sql.Composable] = []
        for name in self._raw_columns(conn):
            if name in ours:
                picks.append(sql.SQL("s.{}").format(_ident(name)))
            elif name == "_loaded_at":
                picks.append(sql.SQL("now()"))
            elif name == "_run_id":
                picks.append(sql.Literal(self.run_id))
            else:  # removed at the source: new rows have none, updated ones keep theirs
                picks.append(sql.SQL("k.{}").format(_ident(name)))
        if not matched:
            return sql.SQL("SELECT {picks} FROM (SELECT {casts} FROM {stage}) AS s").format(
                picks=sql.SQL(", ").join(picks), casts=self._stage_casts(), stage=_ident(*self.stage)
            )
        return sql.SQL(
            "SELECT {picks} FROM (SELECT {casts} FROM {stage}) AS s "
            "LEFT JOIN {kept} AS k ON k._in_batch AND {match} WHERE k._same IS NOT TRUE"
        ).format(
            picks=sql.SQL(", ").join(picks),
            casts=self._stage_casts(),
            stage=_ident(*self.stage),
            kept=_ident(KEPT),
            # keys are unique in the stage by now (duplicates are quarantined first): one kept row each
            match=sql.SQL(" AND ").join(
                sql.SQL("k.{0} = s.{0}").format(_ident(name)) for name in self.spec.primary_key
            ),
        )

    def _rewrite(self, conn: psycopg.Connection[Any], *, full_refresh: bool, matched: bool) -> None:
        """Replace the table's rows: the kept and the changed rows, written once, key built afterwards.

        A partitioned raw table gets a new partition, swapped in (:meth:`_swap_in`). When every
        row of the batch is new or changed (``not matched``) and the stage is shaped like the
        table, the stage *is* the new partition: only the stored rows absent from the batch are
        added to it (none on a full refresh), so the batch's rows are written once, as in a first
        load. Otherwise kept and changed rows are inserted into a new partition.

        A plain raw table (created before migration 0007) is emptied with TRUNCATE and refilled
        by one INSERT, its key dropped and rebuilt. Either way the table keeps its identity (the
        dbt views over it stay valid), readers wait for the load's commit (ACCESS EXCLUSIVE lock)
        and then see the new rows (a REPEATABLE READ transaction that started before the commit
        and reads the table only afterwards sees the new rows or none, PostgreSQL's documented
        TRUNCATE and COPY FREEZE caveat).
        """
        from psycopg import sql

        raw_columns = self._raw_columns(conn)
        columns = sql.SQL(", ").join(_ident(name) for name in raw_columns)
        keep = sql.SQL("_same") if full_refresh else sql.SQL("_same OR NOT _in_batch")
        if self.partitioned:
            if self.stage[0] == STORAGE_SCHEMA and not matched:  # the stage is shaped like the table
                storage = self.stage
                if not full_refresh:  # the kept rows are the stored rows absent from the batch
                    conn.execute(
                        sql.SQL("INSERT INTO {} ({columns}) SELECT {columns} FROM {} WHERE NOT _in_batch").format(
                            _ident(*storage), _ident(KEPT), columns=columns
                        )
                    )
                self.stage_swapped = True
            else:
                changed = self._changed_rows(conn, matched=matched)
                storage = self._new_storage(conn)
                conn.execute(
                    sql.SQL("INSERT INTO {} ({columns}) SELECT {columns} FROM {} WHERE {} UNION ALL {}").format(
                        _ident(*storage), _ident(KEPT), keep, changed, columns=columns
                    )
                )
            self._swap_in(conn, storage)
            return
        table = _ident(RAW_SCHEMA, self.spec.table)
        key = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) "
            "AND contype = 'p'",
            (RAW_SCHEMA, self.spec.table),
        ).fetchone()
        changed = self._changed_rows(conn, matched=matched)  # reads the catalog: before the table is emptied
        conn.execute(sql.SQL("TRUNCATE {}").format(table))
        if key:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, _ident(key[0])))
        conn.execute(
            sql.SQL(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM {kept} WHERE {keep} UNION ALL {changed}"
            ).format(table=table, columns=columns, kept=_ident(KEPT), keep=keep, changed=changed)
        )
        self._add_key(conn)

    def _apply_changes(self, conn: psycopg.Connection[Any], *, full_refresh: bool, matched: bool) -> None:
        """Upsert only the batch's new and changed rows (and delete the absent ones on a full refresh)."""
        from psycopg import sql

        spec = self.spec
        table = _ident(*self._target(conn))
        raw_columns = self._raw_columns(conn)
        names = [name for name in raw_columns if name not in spec.primary_key]
        conn.execute(
            sql.SQL(
                "INSERT INTO {table} AS t ({columns}) {changed} ON CONFLICT ({keys}) DO UPDATE SET {assignments}"
            ).format(
                table=table,
                columns=sql.SQL(", ").join(_ident(name) for name in raw_columns),
                changed=self._changed_rows(conn, matched=matched),
                keys=sql.SQL(", ").join(_ident(name) for name in spec.primary_key),
                assignments=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(_ident(name)) for name in names),
            )
        )
        if full_refresh:
            conn.execute(
                sql.SQL("DELETE FROM {table} AS t USING {kept} AS k WHERE NOT k._in_batch AND {match}").format(
                    table=table,
                    kept=_ident(KEPT),
                    match=sql.SQL(" AND ").join(
                        sql.SQL("k.{0} = t.{0}").format(_ident(name)) for name in spec.primary_key
                    ),
                )
            )

    def _merge(self, conn: psycopg.Connection[Any]) -> tuple[int, int]:
        """Upsert the stage into the raw table; (inserted, inserted + updated)."""
        from psycopg import sql

        spec = self.spec
        keys = set(spec.primary_key)
        data = [col for col in self.columns if col.name not in keys]
        casts = sql.SQL(", ").join(quarantine.cast(col.name, col.pg_type) for col in self.columns)
        if data:
            assignments = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(_ident(col.name)) for col in data)
            current = sql.SQL(", ").join(sql.SQL("t.{}").format(_ident(col.name)) for col in data)
            incoming = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(_ident(col.name)) for col in data)
            action: sql.Composable = sql.SQL(
                "DO UPDATE SET {}, _loaded_at = EXCLUDED._loaded_at, _run_id = EXCLUDED._run_id "
                "WHERE ({}) IS DISTINCT FROM ({})"
            ).format(assignments, current, incoming)
        else:
            action = sql.SQL("DO NOTHING")
        statement = sql.SQL(
            "WITH merged AS (INSERT INTO {table} AS t ({columns}, _loaded_at, _run_id) "
            "SELECT {casts}, now(), {run} FROM {stage} "
            "ON CONFLICT ({keys}) {action} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FROM merged"
        ).format(
            table=_ident(*self._target(conn)),
            columns=_column_list(self.columns),
            casts=casts,
            stage=_ident(*self.stage),
            keys=sql.SQL(", ").join(_ident(name) for name in spec.primary_key),
            action=action,
            run=sql.Literal(self.run_id),
        )
        row = conn.execute(statement).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def _cursor_max(self, conn: psycopg.Connection[Any], before: str | None, *, validate: bool) -> str | None:
        """The greatest cursor value of the stage (and of the previous state), as text."""
        from psycopg import sql

        if self.spec.cursor is None:
            return None
        name = self.spec.cursor
        pg_type = self.types[name]
        typed = quarantine.cast(name, pg_type)
        if validate and pg_type != "text":
            typed = sql.SQL("CASE WHEN pg_input_is_valid({}, {}) THEN {} END").format(
                _ident(name), sql.Literal(pg_type), typed
            )
        previous = sql.SQL("{}::{}").format(sql.Literal(before), quarantine.type_sql(pg_type))
        statement = sql.SQL("SELECT greatest({}, max({}))::text FROM {}").format(previous, typed, _ident(*self.stage))
        row = conn.execute(statement).fetchone()
        return row[0] if row else before

    def _delete_absent(self, conn: psycopg.Connection[Any]) -> int:
        """Full refresh: delete raw rows whose key is not in the (valid part of the) batch."""
        from psycopg import sql

        spec = self.spec
        match = sql.SQL(" AND ").join(
            sql.SQL("{} = t.{}").format(quarantine.cast(name, self.types[name]), _ident(name))
            for name in spec.primary_key
        )
        cur = conn.execute(
            sql.SQL("DELETE FROM {} AS t WHERE NOT EXISTS (SELECT 1 FROM {} WHERE {})").format(
                _ident(*self._target(conn)), _ident(*self.stage), match
            )
        )
        return cur.rowcount

    def _evolve(self, conn: psycopg.Connection[Any], diff: registry.SchemaDiff) -> None:
        """Apply compatible changes to the raw table (new columns, widened types)."""
        from psycopg import sql

        table = _ident(RAW_SCHEMA, self.spec.table)
        for change in diff.changes:
            if change.kind == "added" and change.new_type:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                        table, _ident(change.column), quarantine.type_sql(change.new_type)
                    )
                )
            elif change.kind == "retyped" and change.new_type:
                new_type = quarantine.type_sql(change.new_type)
                conn.execute(
                    sql.SQL("ALTER TABLE {0} ALTER COLUMN {1} TYPE {2} USING {1}::{2}").format(
                        table, _ident(change.column), new_type
                    )
                )
            # removed: the raw column stays (history); new and changed rows leave it untouched

    # -- bookkeeping ------------------------------------------------------------------------------

    def _record_run(
        self, conn: psycopg.Connection[Any], result: LoadResult | None, *, status: str, error: str | None = None
    ) -> None:
        r = result
        conn.execute(
            "INSERT INTO governance.ingest_load_run (source, resource, run_id, batch_id, mode, status, source_rows, "
            "loaded_rows, inserted_rows, updated_rows, unchanged_rows, deleted_rows, quarantined_rows, "
            "cursor_before, cursor_after, schema_version, seconds, error, started_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                self.spec.source,
                self.spec.resource,
                self.run_id,
                self.batch_id,
                r.mode if r else "unknown",
                status,
                r.source_rows if r else None,
                r.loaded_rows if r else None,
                r.inserted_rows if r else None,
                r.updated_rows if r else None,
                r.unchanged_rows if r else None,
                r.deleted_rows if r else None,
                r.quarantined_rows if r else None,
                r.cursor_before if r else None,
                r.cursor_after if r else None,
                r.schema_version if r else None,
                round(time.monotonic() - self.clock, 3),
                error,
                self.started,
            ),
        )

    def _record_blocked(self, conn: psycopg.Connection[Any], blocked: _DriftBlocked) -> None:
        spec = self.spec
        with conn.transaction():
            registry.record_drift(
                conn,
                spec.source,
                spec.resource,
                blocked.diff,
                policy=spec.schema_policy,
                outcome="blocked",
                run_id=self.run_id,
                batch_id=self.batch_id,
                from_version=blocked.contract.version,
                to_version=None,
            )
            self._record_run(conn, None, status="blocked", error=blocked.diff.describe())
        if self.audit:
            emit(self._drift_event(blocked.diff, "blocked", blocked.contract.version, None), audit_url=self.url)

    def _blocked_message(self, blocked: _DriftBlocked) -> str:
        spec = self.spec
        why = (
            f"schema_policy is 'freeze' in governance/sources/{spec.source}.yaml"
            if spec.schema_policy == "freeze"
            else "some changes cannot be applied without losing data"
        )
        return (
            f"schema drift in {spec.source}.{spec.resource} against contract version {blocked.contract.version} "
            f"({why}); nothing was loaded and the cursor is unchanged:\n{blocked.diff.describe()}\n"
            f"Review the change, then set schema_policy: evolve or adapt the source. "
            f"History: governance.ingest_drift_event."
        )

    def _record_failure(self, err: BaseException) -> None:
        """Best effort: a ``failed`` row in ``governance.ingest_load_run`` on a fresh connection."""
        import psycopg

        message = f"{type(err).__name__}: {err}"[:2000]
        try:
            with connect_warehouse(self.url) as conn, conn.transaction():
                self._record_run(conn, None, status="failed", error=message)
        except psycopg.Error as record_err:
            log.warning("could not record the failed load of %s: %s", self.spec.raw_table, record_err)

    def _drift_event(
        self, diff: registry.SchemaDiff, outcome: str, from_version: int, to_version: int | None
    ) -> IngestEvent:
        return IngestEvent(
            kind="schema_drift",
            source=self.spec.source,
            resource=self.spec.resource,
            run_id=self.run_id,
            details={
                "policy": self.spec.schema_policy,
                "outcome": outcome,
                "from_version": from_version,
                "to_version": to_version,
                "changes": diff.as_dicts(),
                "batch_id": self.batch_id,
            },
        )

    def _emit_after_commit(self, result: LoadResult, applied: registry.SchemaDiff | None) -> None:
        if not self.audit:
            return
        if applied:
            emit(
                self._drift_event(applied, "applied", result.schema_version - 1, result.schema_version),
                audit_url=self.url,
            )
        if result.quarantined_rows:
            emit(
                IngestEvent(
                    kind="rows_quarantined",
                    source=self.spec.source,
                    resource=self.spec.resource,
                    run_id=self.run_id,
                    details={
                        "rows": result.quarantined_rows,
                        "reasons": [
                            {"reason": reason, "rows": count}
                            for reason, count in sorted(result.quarantine_reasons.items())
                        ],
                        "quarantine_table": f"{quarantine.SCHEMA}.{self.spec.table}",
                        "batch_id": self.batch_id,
                    },
                ),
                audit_url=self.url,
            )


def load_resource(
    connector: Connector,
    spec: ResourceSpec,
    warehouse_url: str,
    *,
    run_id: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    audit: bool = True,
) -> LoadResult:
    """Load one resource from ``connector`` into ``raw.<source>__<resource>`` in one transaction.

    Args:
        connector: reads the source (discover + extract).
        spec: the resource (:meth:`ResourceSpec.from_config`).
        warehouse_url: the warehouse database (a role with CREATE on ``raw`` and ``raw_quarantine``).
        run_id: the Airflow run id (stored in ``_run_id`` and in the quarantine).
        chunk_rows: rows per extracted chunk (memory is about one chunk).
        audit: send drift and quarantine events to the audit ledger and the notification hooks.

    Raises:
        SchemaDriftError: the schema changed and the policy forbids it (nothing loaded).
        CountMismatchError: rows read != loaded + quarantined (nothing committed).
        ResourceConfigError: the YAML does not match the source.
        UnsupportedServerError: the warehouse is older than PostgreSQL 16.
    """
    if chunk_rows < 1:
        raise IngestError(f"chunk_rows must be positive, got {chunk_rows}")
    return _Load(connector, spec, warehouse_url, run_id=run_id, chunk_rows=chunk_rows, audit=audit).run()
