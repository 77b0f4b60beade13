"""The batch on its way in: the connector's chunks, streamed by ``COPY`` into a table of the warehouse.

The chunks are CSV (or binary COPY data of exactly the warehouse types, when the connector
offers it), written to ``COPY ... FROM STDIN (FREEZE)`` with no Python object per row; the
source is read a couple of chunks ahead in a thread. The table is a new partition of the raw
table (first load) or the batch's stage (later loads). See ``governance/adr/0006-ingestion-loader.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from scrollintel.ingest.connectors.base import Chunk, Connector, CursorState, DiscoveredSchema
from scrollintel.ingest.errors import IngestError
from scrollintel.ingest.prefetch import Prefetch
from scrollintel.ingest.sqltypes import cast, column_list, ident, type_sql
from scrollintel.ingest.storage import RawTable
from scrollintel.warehouse import RAW_SCHEMA

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from scrollintel.ingest.connectors.base import SourceColumn, TableStatistics

STAGE = "_scrollintel_stage"
#: Chunks read ahead of the one COPY is taking (memory: about this many chunks more).
PREFETCH_CHUNKS = 2


@runtime_checkable
class BinaryExtractor(Protocol):
    """Optional connector extension: rows as binary COPY data of exactly the warehouse types."""

    def supports_binary(self, schema: DiscoveredSchema) -> bool: ...

    def extract_binary(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]: ...


@runtime_checkable
class StatisticsSource(Protocol):
    """Optional connector extension: the source table's own planner statistics, when they are fresh.

    A first load restores them on the raw table (PostgreSQL 18's ``pg_restore_attribute_stats``,
    as ``pg_dump --statistics`` does) instead of sampling the copied rows with ANALYZE.
    """

    def table_statistics(self, resource: str, schema: DiscoveredSchema, *, byte_order: bool) -> TableStatistics | None:
        """``byte_order``: the warehouse sorts text by code point (C collation), so a text column's
        histogram is taken only when the source sorts it so too."""
        ...


class Extract:
    """One resource's rows as the connector hands them over, and where they end (token, files).

    ``token`` and ``files`` are those of the last extraction: a batch read again starts over.
    """

    def __init__(
        self,
        connector: Connector,
        resource: str,
        table: str,
        schema: DiscoveredSchema,
        state: CursorState,
        *,
        chunk_rows: int,
    ) -> None:
        self.connector = connector
        self.resource = resource
        self.table = table
        self.schema = schema
        self.state = state
        self.chunk_rows = chunk_rows
        self.token: str | None = None
        self.files: dict[str, str] = {}

    def binary_ok(self) -> bool:
        """Whether the connector can hand over the rows in binary COPY form (PostgreSQL sources)."""
        supports = getattr(self.connector, "supports_binary", None)
        return (
            callable(supports) and callable(getattr(self.connector, "extract_binary", None)) and supports(self.schema)
        )

    def chunks(self, *, binary: bool = False) -> Generator[Chunk, None, None]:
        """The resource's chunks from the start, recording the last token and the files read."""
        self.token = None
        self.files = {}
        connector = self.connector
        extract = connector.extract_binary if binary and isinstance(connector, BinaryExtractor) else connector.extract
        for chunk in extract(self.resource, self.schema, self.state, chunk_rows=self.chunk_rows):
            if chunk.token is not None:
                self.token = chunk.token
            if chunk.file is not None:
                self.files[chunk.file[0]] = chunk.file[1]
            yield chunk

    def copy_in(
        self, conn: psycopg.Connection[Any], statement: sql.Composed, *, binary: bool = False
    ) -> tuple[int, int]:
        """Stream every chunk into ``statement`` (a COPY FROM STDIN); (rows from source, rows copied)."""
        import psycopg

        source_rows = 0
        try:
            # the source is read ahead in its own thread while COPY takes the current chunk
            prefetch = Prefetch(lambda: self.chunks(binary=binary), depth=PREFETCH_CHUNKS, name=f"extract-{self.table}")
            with contextlib.closing(prefetch) as chunks, conn.cursor() as cur:
                with cur.copy(statement) as copy:
                    for chunk in chunks:
                        # a view: psycopg sends a large buffer in slices, which of bytes would be copies
                        copy.write(memoryview(chunk.data))
                        source_rows += chunk.rows
                copied = cur.rowcount
        except psycopg.errors.BadCopyFileFormat as err:
            if binary:
                raise  # the caller falls back to CSV
            # not a value that does not fit but rows that cannot be split into columns: a connector bug
            raise IngestError(
                f"{type(self.connector).__name__} produced CSV that COPY cannot read for {RAW_SCHEMA}.{self.table} "
                f"({str(err).strip()}); nothing was loaded"
            ) from err
        return source_rows, copied


def copy_sql(table: tuple[str, str], columns: Sequence[SourceColumn], *, binary: bool) -> sql.Composed:
    """``COPY ... FROM STDIN (FREEZE)`` into ``table``, which must be created in the current subtransaction.

    FREEZE: rows land with their hint bits set, so the scans that follow do not dirty and write
    every page once more.
    """
    from psycopg import sql

    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {}, FREEZE)").format(
        ident(*table), column_list(columns), sql.SQL("binary" if binary else "csv")
    )


def create_stage(
    conn: psycopg.Connection[Any], raw: RawTable, columns: Sequence[SourceColumn], *, typed: bool
) -> tuple[str, str]:
    """The batch's stage table, created in the current subtransaction; its (schema, name).

    Typed, of a partitioned raw table: a new table shaped like it, which becomes its partition
    when the batch rewrites the table (the rows are then written once), else is dropped.
    """
    from psycopg import sql

    if typed and raw.partitioned:
        return raw.new_storage(conn)
    # typed: the warehouse types, values parsed once by COPY (the casts of the merge are then no-ops);
    # text: every value checked before it is cast, bad rows quarantined.
    # UNLOGGED in raw, not TEMP: PostgreSQL never reads a temporary table in parallel, and the
    # join of a large batch with its table is the longest step of a merge. Created and dropped
    # in the load's transaction, it is never visible to anyone else (a killed load leaves nothing).
    stage = (RAW_SCHEMA, f"{STAGE}_{raw.batch_id[:16]}")
    parts = [sql.SQL("{} {}").format(ident(c.name), type_sql(c.pg_type) if typed else sql.SQL("text")) for c in columns]
    conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} ({})").format(ident(*stage), sql.SQL(", ").join(parts)))
    return stage


def analyze_keys_sql(stage: tuple[str, str], primary_key: Sequence[str]) -> sql.Composed:
    """Row and key estimates of the stage for the join's plan (other columns' statistics would only cost time)."""
    from psycopg import sql

    return sql.SQL("ANALYZE {} ({})").format(ident(*stage), sql.SQL(", ").join(ident(n) for n in primary_key))


def greatest_cursor(
    conn: psycopg.Connection[Any],
    stage: tuple[str, str],
    name: str,
    pg_type: str,
    before: str | None,
    *,
    validate: bool,
) -> str | None:
    """The greatest value of the cursor column ``name`` in the stage (and the previous state ``before``), as text.

    ``validate``: the stage is text, and values that do not parse as ``pg_type`` are left out.
    """
    from psycopg import sql

    typed = cast(name, pg_type)
    if validate and pg_type != "text":
        typed = sql.SQL("CASE WHEN pg_input_is_valid({}, {}) THEN {} END").format(
            ident(name), sql.Literal(pg_type), typed
        )
    previous = sql.SQL("{}::{}").format(sql.Literal(before), type_sql(pg_type))
    statement = sql.SQL("SELECT greatest({}, max({}))::text FROM {}").format(previous, typed, ident(*stage))
    row = conn.execute(statement).fetchone()
    return row[0] if row else before


def row_count(conn: psycopg.Connection[Any], stage: tuple[str, str]) -> int:
    """Rows left in the stage (after the quarantine took the ones that do not fit)."""
    from psycopg import sql

    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident(*stage))).fetchone()[0]  # type: ignore[index,no-any-return]


def drop_stage(conn: psycopg.Connection[Any], stage: tuple[str, str]) -> None:
    """Drop the stage (unless it became the raw table's partition, the caller's call)."""
    from psycopg import sql

    conn.execute(sql.SQL("DROP TABLE {}").format(ident(*stage)))
