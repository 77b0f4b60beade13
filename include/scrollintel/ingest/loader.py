"""The loader: one resource from a connector into ``raw.<source>__<resource>``, exactly once.

One load is one warehouse transaction: lock, cursor state and schema contract, drift check, the
rows (COPY into a new partition on a first load, else into a stage merged by one of the
strategies of :mod:`scrollintel.ingest.merge`), quarantine, counts check, new cursor state and a
load-run row, committed together. The decision, its steps and its performance figures are in
``governance/adr/0006-ingestion-loader.md``. This module orchestrates; the work is done by
:mod:`~scrollintel.ingest.storage` (raw table, partitions), :mod:`~scrollintel.ingest.stage`
(extraction, stage, COPY), :mod:`~scrollintel.ingest.merge` (the SQL of each strategy),
:mod:`~scrollintel.ingest.quarantine` and :mod:`~scrollintel.ingest.runs` (bookkeeping).

Needs PostgreSQL 16+ in the warehouse (``pg_input_is_valid``); older servers fail with a message
saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Generator, Iterator
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from scrollintel import warehouse
from scrollintel.ingest import cursors, deletes, enums, merge, quarantine, registry, state
from scrollintel.ingest.connectors.base import (
    BinaryUnavailable,
    Chunk,
    Connector,
    CursorState,
    DiscoveredSchema,
    SourceColumn,
    TableStatistics,
)
from scrollintel.ingest.errors import (
    CountMismatchError,
    IngestError,
    LoadInterrupted,
    ResourceConfigError,
    SchemaDriftError,
    UnsupportedServerError,
)
from scrollintel.ingest.runs import DriftBlocked, RunBook, next_state
from scrollintel.ingest.spec import LoadResult, Mode, ResourceSpec
from scrollintel.ingest.sqltypes import type_sql
from scrollintel.ingest.stage import (
    Extract,
    StatisticsSource,
    analyze_keys_sql,
    copy_sql,
    create_stage,
    drop_stage,
    greatest_cursor,
    row_count,
)
from scrollintel.ingest.storage import ANALYZE_ONLY_VERSION, STORAGE_SCHEMA, RawTable, sorts_by_code_point

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg
    from psycopg import sql


log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000
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
#: A batch of at least this many rows and this share of the table's rows is compared with the
#: whole table in one join instead of upserted row by row ...
LARGE_BATCH_ROWS = 50_000
LARGE_BATCH_FRACTION = 0.25
#: ... and when the changes reach this share of the table, the table is rewritten.
REWRITE_FRACTION = 0.3
#: SQLSTATE classes of errors caused by the data (not by the loader or the server).
_DATA_ERROR_CLASSES = ("22", "23")
_CARDINALITY_VIOLATION = "21000"  # ON CONFLICT DO UPDATE touching one row twice


class _DuplicateKeys(Exception):
    """A typed stage holds a primary key value twice: the batch is read again as text to quarantine them."""


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


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else '-'}"


def interrupted(spec: ResourceSpec, err: BaseException, *, side: str) -> LoadInterrupted:
    """The one-line message of a load whose source or warehouse failed under it.

    A lost connection (backend terminated, server restarted, network gone) is worth a rerun; an
    error the source raised while producing the rows needs a look at the source first. Either
    way nothing was committed: the load is one transaction, so a rerun is exactly-once.
    """
    import psycopg

    if isinstance(err, psycopg.OperationalError | OSError):
        what, todo = f"the connection to the {side} was lost", "run the load again"
    else:
        what, todo = f"the {side} raised an error", f"fix what the {side} reports, then run the load again"
    return LoadInterrupted(
        f"{spec.source}.{spec.resource}: {what} during the load ({_first_line(err)}); nothing was committed "
        f"and the cursor did not move: {todo} (it is exactly-once)",
        side=side,
    )


@contextlib.contextmanager
def _source_errors(spec: ResourceSpec) -> Iterator[None]:
    """Errors raised while talking to the source, as :class:`LoadInterrupted` (``side="source"``)."""
    import psycopg

    try:
        yield
    except (psycopg.Error, OSError) as err:
        raise interrupted(spec, err, side="source") from err


class _SourceExtract(Extract):
    """The batch's extraction, with the source's errors named as the source's and chunks screened on request.

    An error raised while reading the source becomes :class:`LoadInterrupted`, so the loader
    never mistakes a source's refusal (say, a value it cannot convert) for a value that does not
    fit the warehouse, and the message says which side failed. With ``screen`` set (the
    validating path), rows the warehouse cannot hold even as text are set aside in
    ``unstorable`` (:func:`~scrollintel.ingest.quarantine.screen_chunk`) instead of failing COPY.
    """

    def __init__(self, spec: ResourceSpec, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.screen = False
        self.unstorable: list[quarantine.Unstorable] = []

    def chunks(self, *, binary: bool = False) -> Generator[Chunk, None, None]:
        self.unstorable = []
        names = self.schema.names
        with _source_errors(self.spec):
            for chunk in super().chunks(binary=binary):
                if not self.screen or binary:
                    yield chunk
                    continue
                data, aside = quarantine.screen_chunk(chunk.data, names)
                self.unstorable.extend(aside)
                yield dataclasses.replace(chunk, data=data, rows=chunk.rows - len(aside))


# --------------------------------------------------------------------------- the load


class _Load:
    """One load while it runs: the steps of ADR 0006 in order, in one transaction with savepoints."""

    def __init__(
        self, connector: Connector, spec: ResourceSpec, url: str, *, run_id: str, chunk_rows: int, audit: bool
    ) -> None:
        self.connector = connector
        self.spec = spec
        self.url = url
        self.run_id = run_id
        self.chunk_rows = chunk_rows
        self.batch_id = uuid.uuid4().hex
        self.raw = RawTable(spec.table, spec.primary_key, run_id=run_id, batch_id=self.batch_id)
        self.book = RunBook(spec, url, run_id=run_id, batch_id=self.batch_id, audit=audit)
        #: The batch's stage table (see :func:`~scrollintel.ingest.stage.create_stage`): one per load,
        #: so loads never wait on each other.
        self.stage: tuple[str, str]
        #: The stage became the raw table's partition (see _rewrite): then it is not dropped.
        self.stage_swapped = False
        self.schema: DiscoveredSchema
        self.extract: _SourceExtract
        self.columns: list[SourceColumn] = []
        self.types: dict[str, str] = {}
        #: The raw table has soft delete detection's column (see merge.Batch.deleted_at).
        self.deleted_at = False

    # -- entry point ------------------------------------------------------------------------

    def run(self) -> LoadResult:
        import psycopg

        spec = self.spec
        with _source_errors(spec):
            self.schema = self.connector.discover(spec.resource)
        spec.check(self.schema)
        self.columns = list(self.schema.columns)
        self.types = {col.name: col.pg_type for col in self.columns}
        for pg_type in self.types.values():
            type_sql(pg_type)  # refuse anything that is not a plain type name
        applied: registry.SchemaDiff | None = None
        try:
            with connect_warehouse(self.url) as conn:
                info = conn.info
                check_server_version(info.server_version, conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
                enums.ensure_enums(conn, self.columns)  # committed first: a label is usable once committed
                conn.commit()
                try:
                    with conn.transaction():
                        result, applied = self._load(conn)
                except DriftBlocked as blocked:
                    self.book.record_blocked(conn, blocked)
                    raise SchemaDriftError(
                        self.book.blocked_message(blocked),
                        changes=blocked.diff.as_dicts(),
                        contract_version=blocked.contract.version,
                        approvable=blocked.diff.compatible and blocked.approved is None,
                    ) from None
                except BaseException as err:
                    self._record_failure(err)
                    raise
        except psycopg.Error as err:
            # the source's errors arrive as LoadInterrupted (see _SourceExtract): this one is the warehouse's
            raise interrupted(spec, err, side="warehouse") from err
        self.book.emit_after_commit(result, applied)
        return result

    def _load(self, conn: psycopg.Connection[Any]) -> tuple[LoadResult, registry.SchemaDiff | None]:
        spec = self.spec
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"scrollintel.ingest:{spec.raw_table}",))
        contract = registry.current_contract(conn, spec.source, spec.resource)
        stored = state.read_state(conn, spec.source, spec.resource, for_update=True)
        kind = self.raw.relkind(conn)
        exists = kind is not None
        self.raw.partitioned = kind is None or kind == "p"
        before = stored.state if stored and exists else CursorState()
        if stored and not exists:
            log.warning("%s is missing but a cursor is stored: loading everything again", spec.raw_table)
        mode: Mode = "initial" if not exists else ("incremental" if spec.incremental else "full_refresh")
        self.deleted_at = exists and merge.DELETED_AT in self.raw.columns(conn) and merge.DELETED_AT not in self.types
        horizon = self._commit_horizon()  # before the read: see scrollintel.ingest.cursors
        self.extract = _SourceExtract(
            spec,
            self.connector,
            spec.resource,
            spec.table,
            self.schema,
            self._read_from(conn, before) if spec.incremental else CursorState(),
            chunk_rows=self.chunk_rows,
        )
        contract, applied = self._contract(conn, contract, exists=exists)
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
        if spec.cursor is not None:
            cursor_max = cursors.bounded(
                conn,
                cursor_max,
                before=result.cursor_before,
                horizon=horizon,
                pg_type=self.types[spec.cursor],
                label=spec.raw_table,
            )
        reconciled_at = self._detect_deletes(conn, result, None if stored is None else stored.reconciled_at)

        new_state = next_state(spec, before, cursor_max=cursor_max, token=self.extract.token, files=self.extract.files)
        result.cursor_after = None if new_state.value is None else str(new_state.value)
        state.write_state(
            conn,
            spec.source,
            spec.resource,
            new_state,
            schema_version=contract.version,
            run_id=self.run_id,
            batch_id=self.batch_id,
            reconciled_at=reconciled_at,
        )
        result.seconds = self.book.elapsed()
        self.book.record_run(conn, result, status="succeeded")
        return result, applied

    # -- late commits and deletes ----------------------------------------------------------------

    def _commit_horizon(self) -> datetime | None:
        """The source's commit horizon, for a ``timestamptz`` cursor of a connector that knows it."""
        cursor = self.spec.cursor
        if cursor is None or self.types[cursor] != "timestamptz":
            return None
        if not isinstance(self.connector, cursors.CommitHorizon):
            return None
        return self.connector.commit_horizon()

    def _read_from(self, conn: psycopg.Connection[Any], before: CursorState) -> CursorState:
        """The stored state with its cursor moved back by the lookback: where this load reads from."""
        cursor = self.spec.cursor
        if cursor is None:
            return before
        pg_type = self.types[cursor]
        lookback = cursors.effective_lookback(self.spec.lookback, pg_type)
        return replace(before, value=cursors.read_from(conn, before.value, pg_type, lookback))

    def _detect_deletes(
        self, conn: psycopg.Connection[Any], result: LoadResult, last: datetime | None
    ) -> datetime | None:
        """Reconcile the keys when delete detection is due; the reconcile's time, or None when none ran.

        A first load read every row: nothing to detect, and the next reconcile is due ``every`` later.
        """
        spec = self.spec
        if spec.delete_detection is None or result.mode == "full_refresh":
            return None
        now: datetime = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        if result.mode == "initial":
            return now
        if not deletes.is_due(last, now, spec.reconcile_every):
            return None
        result.deleted_rows = deletes.reconcile(
            conn, self.connector, spec, self.schema, self.raw.name, run_id=self.run_id, chunk_rows=self.chunk_rows
        )
        return now

    def _contract(
        self, conn: psycopg.Connection[Any], contract: registry.Contract | None, *, exists: bool
    ) -> tuple[registry.Contract, registry.SchemaDiff | None]:
        """The contract this load runs under, and the drift it applied (evolve) if any.

        Raises :class:`~scrollintel.ingest.runs.DriftBlocked` when the policy forbids the drift.
        """
        spec = self.spec
        if contract is None:
            contract = registry.register_version(
                conn, spec.source, spec.resource, self.schema, spec.primary_key, run_id=self.run_id
            )
            return contract, None
        if tuple(contract.primary_key) != spec.primary_key:
            raise ResourceConfigError(
                f"{spec.raw_table}: primary key changed from {list(contract.primary_key)} to "
                f"{list(spec.primary_key)}; the raw table is keyed on the old one. Drop {spec.raw_table} "
                "(it is reloaded in full) or restore primary_key in the YAML."
            )
        diff = registry.compare(contract, self.schema)
        if not diff:
            return contract, None
        approved = spec.approved_changes is not None and list(spec.approved_changes) == diff.as_dicts()
        if (spec.schema_policy == "freeze" and not approved) or not diff.compatible:
            raise DriftBlocked(diff, contract, approved=spec.approved_changes)
        if exists:
            self.raw.evolve(conn, diff)
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
        return contract, diff

    # -- first load ----------------------------------------------------------------------------

    def _initial(self, conn: psycopg.Connection[Any], result: LoadResult) -> str | None:
        """COPY straight into the new table's partition; on bad rows, roll back and take the staged path."""
        import psycopg

        binary = self.extract.binary_ok()
        statistics = self._source_statistics(conn)
        try:
            with conn.transaction():  # savepoint: FREEZE needs the table created in this subtransaction
                self.raw.create(conn, self.columns)
                partition = self.raw.new_storage(conn)
                statement = copy_sql(partition, self.columns, binary=binary)
                source_rows, copied = self.extract.copy_in(conn, statement, binary=binary)
                self._drop_suppressed(conn, partition)
                result.statistics_taken = len(self.raw.swap_in(conn, partition, statistics))
        except (psycopg.Error, BinaryUnavailable) as err:
            if isinstance(err, psycopg.Error) and not is_data_error(err):
                raise
            log.info(
                "%s: first load hit rows that do not fit (%s); re-reading through the validating path",
                self.spec.raw_table,
                getattr(err, "sqlstate", None) or err,
            )
            self.raw.create(conn, self.columns)
            self.raw.swap_in(conn, self.raw.new_storage(conn))  # empty: the staged path merges into it
            # the typed attempt was this one: straight to the validating stage
            return self._staged(conn, result, full_refresh=False, typed=False)
        result.path = "direct-binary" if binary else "direct"
        result.source_rows = source_rows
        result.loaded_rows = result.inserted_rows = copied
        if self.spec.cursor is None:
            return None
        return self.raw.max_text(conn, self.spec.cursor)

    def _source_statistics(self, conn: psycopg.Connection[Any]) -> TableStatistics | None:
        """The source table's own statistics for a first load, when the connector offers fresh ones.

        Not for a table with erased subjects on the suppression list: the source's histograms and
        common values may hold their identifiers, which the loader keeps out of the warehouse.
        """
        from scrollintel.compliance.suppression import suppressed_columns

        if not isinstance(self.connector, StatisticsSource) or conn.info.server_version < ANALYZE_ONLY_VERSION:
            return None
        if suppressed_columns(conn, self.spec.source, self.spec.resource):
            return None
        byte_order = sorts_by_code_point(conn)
        with _source_errors(self.spec):
            return self.connector.table_statistics(self.spec.resource, self.schema, byte_order=byte_order)

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
            binary = self.extract.binary_ok()
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

    def _staged_once(
        self, conn: psycopg.Connection[Any], result: LoadResult, *, full_refresh: bool, typed: bool, binary: bool
    ) -> str | None:
        import psycopg

        spec = self.spec
        source_rows, staged, unstorable = self._stage_batch(conn, typed=typed, binary=binary)
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
                if unstorable:
                    quarantine.ensure_table(conn, spec.table)
                    self._quarantine_unstorable(conn, quarantined)
                loaded = staged - quarantined.total
                self._drop_suppressed(conn, self.stage)
                inserted, written, deleted = self._apply(conn, result, loaded, full_refresh=full_refresh, typed=typed)
        except psycopg.Error as err:
            if typed or not is_data_error(err):
                raise  # a typed batch with bad keys is read again as text (see _staged)
            cursor_max = self._cursor_max(conn, before, validate=True)
            quarantine.ensure_table(conn, spec.table)
            # duplicates first, so whether a key's rows are duplicates never depends on other columns
            quarantined = self._quarantine_duplicates(conn)
            if unstorable:
                self._quarantine_unstorable(conn, quarantined)
            invalid = quarantine.quarantine_invalid(
                conn, self.stage, spec.table, self.columns, spec.primary_key, run_id=self.run_id, batch_id=self.batch_id
            )
            for reason, count in invalid.by_reason.items():
                quarantined.add(reason, count)
            loaded = row_count(conn, self.stage)
            self._drop_suppressed(conn, self.stage)
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
            drop_stage(conn, self.stage)
        return cursor_max

    def _stage_batch(self, conn: psycopg.Connection[Any], *, typed: bool, binary: bool) -> tuple[int, int, bool]:
        """Create the stage and COPY the batch in: (rows read, rows staged, whether rows were set aside).

        The validating stage (``typed=False``) also holds the rows set aside as unstorable, with
        their reasons (:func:`~scrollintel.ingest.quarantine.stage_unstorable`); a typed batch
        holding such a value fails COPY and is read again as text.
        """
        spec = self.spec
        self.stage_swapped = False
        self.stage = create_stage(conn, self.raw, self.columns, typed=typed)
        statement = copy_sql(self.stage, self.columns, binary=binary)
        self.extract.screen = not typed
        source_rows, staged = self.extract.copy_in(conn, statement, binary=binary)
        unstorable = self.extract.unstorable if not typed else []
        if unstorable:
            quarantine.stage_unstorable(conn, self.stage, self.columns, unstorable)
            source_rows += len(unstorable)
            staged += len(unstorable)
        if staged >= LARGE_BATCH_ROWS:
            conn.execute(analyze_keys_sql(self.stage, spec.primary_key))
        if source_rows != staged:
            raise CountMismatchError(
                f"{spec.raw_table}: the connector reported {source_rows} row(s) but COPY read {staged}; "
                "nothing was committed"
            )
        return source_rows, staged, bool(unstorable)

    def _drop_suppressed(self, conn: psycopg.Connection[Any], table: tuple[str, str]) -> None:
        """Remove the rows of erased subjects (:mod:`scrollintel.compliance.suppression`) before they are applied.

        They count as read and unchanged: the raw table does not change for them.
        """
        from scrollintel.compliance.suppression import drop_suppressed

        dropped = drop_suppressed(conn, table, self.spec.source, self.spec.resource, [c.name for c in self.columns])
        if dropped:
            log.info("%s: %d row(s) of erased subjects not loaded (suppression list)", self.spec.raw_table, dropped)

    def _cursor_max(self, conn: psycopg.Connection[Any], before: str | None, *, validate: bool) -> str | None:
        """The greatest cursor value of the stage (and of the previous state), as text."""
        if self.spec.cursor is None:
            return None
        name = self.spec.cursor
        return greatest_cursor(conn, self.stage, name, self.types[name], before, validate=validate)

    def _quarantine_duplicates(self, conn: psycopg.Connection[Any]) -> quarantine.QuarantineCounts:
        spec = self.spec
        return quarantine.quarantine_duplicates(
            conn, self.stage, spec.table, self.columns, spec.primary_key, run_id=self.run_id, batch_id=self.batch_id
        )

    def _quarantine_unstorable(self, conn: psycopg.Connection[Any], counts: quarantine.QuarantineCounts) -> None:
        """Move the rows set aside as unstorable (see :class:`_SourceSide`) to quarantine, adding to ``counts``."""
        moved = quarantine.quarantine_unstorable(
            conn, self.stage, self.spec.table, run_id=self.run_id, batch_id=self.batch_id
        )
        for reason, count in moved.by_reason.items():
            counts.add(reason, count)

    def _refuse_duplicates(self, conn: psycopg.Connection[Any]) -> None:
        """Raise :class:`_DuplicateKeys` when a key is in more than one row of the typed stage."""
        spec = self.spec
        if quarantine.has_duplicates(conn, self.stage, self.columns, spec.primary_key, typed=True):
            raise _DuplicateKeys(f"{spec.raw_table}: a primary key value is in more than one row")

    # -- merge: picks a strategy of scrollintel.ingest.merge and runs its SQL ------------------------

    def _apply(
        self, conn: psycopg.Connection[Any], result: LoadResult, staged: int, *, full_refresh: bool, typed: bool
    ) -> tuple[int, int, int]:
        """Bring the stage into the raw table; (inserted, inserted + updated, deleted).

        A batch that is small next to the table is upserted row by row. A large one is first
        compared with the whole table in one join (:meth:`_compare`); when most of the table
        changes, the table is rewritten (:meth:`_rewrite`), else only the changed rows are
        applied. Same result either way; the choice is only about speed.

        ``typed``: the stage has not been checked for a key in more than one row yet. Where that
        would go unnoticed (an upsert applies one copy when the other equals the stored row, a
        join pairs a stored row with both), :meth:`_refuse_duplicates` checks first. A rewrite of
        a batch whose rows all changed needs no check: it inserts every row of the stage, so the
        primary key it rebuilds fails on a duplicate, and the batch is read again as text.
        """
        if staged < LARGE_BATCH_ROWS or staged < LARGE_BATCH_FRACTION * self.raw.estimated_rows(conn):
            if typed:
                self._refuse_duplicates(conn)
            result.applied_by = "upsert"
            inserted, written = self._upsert(conn)
            return inserted, written, self._delete_absent(conn) if full_refresh else 0
        counts = self._compare(conn, staged)
        inserted, updated = counts["inserted"], counts["updated"]
        deleted = counts["absent"] if full_refresh else 0
        kept = sum(counts.values()) - deleted
        # every row of the batch new or changed (and no removed column to carry over): the changed
        # rows are the stage as it is, with no join to the kept rows (a hash of the whole stage)
        matched = counts["unchanged"] > 0 or bool(self._removed_columns(conn))
        if matched:
            conn.execute(merge.gen_analyze_kept_sql())  # a temporary table has no statistics
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

    def _upsert(self, conn: psycopg.Connection[Any]) -> tuple[int, int]:
        """Upsert the stage into the raw table; (inserted, inserted + updated)."""
        row = conn.execute(merge.gen_upsert_sql(self._batch(), self.raw.target(conn))).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def _delete_absent(self, conn: psycopg.Connection[Any]) -> int:
        """Full refresh: delete raw rows whose key is not in the (valid part of the) batch."""
        return conn.execute(merge.gen_delete_absent_sql(self._batch(), self.raw.target(conn))).rowcount

    def _batch(self) -> merge.Batch:
        """The staged batch and its raw table, as the strategies' SQL takes them."""
        return merge.Batch(
            raw=self.raw.name,
            stage=self.stage,
            columns=self.columns,
            primary_key=self.spec.primary_key,
            run_id=self.run_id,
            deleted_at=self.deleted_at,
        )

    def _removed_columns(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Columns of the raw table the source no longer has (besides the loader's own)."""
        ours = {col.name for col in self.columns} | {"_loaded_at", "_run_id", merge.DELETED_AT}
        return [name for name in self.raw.columns(conn) if name not in ours]

    def _compare(self, conn: psycopg.Connection[Any], staged: int) -> dict[str, int]:
        """The join of the table with the stage (:func:`~scrollintel.ingest.merge.gen_compare_sql`).

        Counts: ``inserted``, ``updated``, ``unchanged``, ``absent``.
        """
        batch = self._batch()
        for statement in merge.gen_compare_sql(batch, removed_columns=bool(self._removed_columns(conn))):
            conn.execute(statement)
        row = conn.execute(merge.gen_compare_counts_sql(batch)).fetchone()
        assert row is not None
        unchanged, absent, stored = (int(value) for value in row)
        updated = stored - unchanged - absent
        return {"inserted": staged - unchanged - updated, "updated": updated, "unchanged": unchanged, "absent": absent}

    def _changed_rows(self, conn: psycopg.Connection[Any], *, matched: bool) -> sql.Composable:
        """The SELECT of the batch's new and changed rows, in the raw table's current column order."""
        return merge.gen_changed_rows_sql(self._batch(), self.raw.columns(conn), matched=matched)

    def _rewrite(self, conn: psycopg.Connection[Any], *, full_refresh: bool, matched: bool) -> None:
        """Replace the table's rows: the kept and the changed rows, written once, key built afterwards.

        A partitioned raw table gets a new partition, swapped in. When every row of the batch is
        new or changed (``not matched``) and the stage is shaped like the table, the stage *is* the
        new partition: only the stored rows absent from the batch are added to it (none on a full
        refresh), so the batch's rows are written once, as in a first load. Otherwise kept and
        changed rows are inserted into a new partition. A plain raw table (created before
        migration 0007) is emptied with TRUNCATE and refilled by one INSERT, its key dropped and
        rebuilt. Either way the table keeps its identity (the dbt views over it stay valid);
        readers wait for the load's commit (ACCESS EXCLUSIVE lock), see ADR 0006.
        """
        raw = self.raw
        raw_columns = raw.columns(conn)
        if raw.partitioned:
            if self.stage[0] == STORAGE_SCHEMA and not matched:  # the stage is shaped like the table
                partition = self.stage
                if not full_refresh:  # the kept rows are the stored rows absent from the batch
                    conn.execute(merge.gen_keep_absent_sql(partition, raw_columns))
                self.stage_swapped = True
            else:
                changed = self._changed_rows(conn, matched=matched)
                partition = raw.new_storage(conn)
                conn.execute(merge.gen_rewrite_sql(partition, raw_columns, changed, full_refresh=full_refresh))
            raw.swap_in(conn, partition)
            return
        key = raw.key_constraint(conn)
        changed = self._changed_rows(conn, matched=matched)  # reads the catalog: before the table is emptied
        raw.empty(conn, key)
        conn.execute(merge.gen_rewrite_sql(raw.name, raw_columns, changed, full_refresh=full_refresh))
        raw.add_key(conn)

    def _apply_changes(self, conn: psycopg.Connection[Any], *, full_refresh: bool, matched: bool) -> None:
        """Upsert only the batch's new and changed rows (and delete the absent ones on a full refresh)."""
        batch = self._batch()
        target = self.raw.target(conn)
        raw_columns = self.raw.columns(conn)
        conn.execute(merge.gen_changes_sql(batch, target, raw_columns, self._changed_rows(conn, matched=matched)))
        if full_refresh:
            conn.execute(merge.gen_delete_absent_kept_sql(batch, target))

    # -- bookkeeping ------------------------------------------------------------------------------

    def _record_failure(self, err: BaseException) -> None:
        """Best effort: a ``failed`` row in ``governance.ingest_load_run`` on a fresh connection."""
        import psycopg

        message = f"{type(err).__name__}: {err}"[:2000]
        try:
            with connect_warehouse(self.url) as conn, conn.transaction():
                self.book.record_run(conn, None, status="failed", error=message)
        except psycopg.Error as record_err:
            log.warning("could not record the failed load of %s: %s", self.spec.raw_table, record_err)


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
