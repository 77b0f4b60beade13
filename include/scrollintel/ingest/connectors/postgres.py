"""PostgreSQL source connector: catalog discovery and ``COPY ... TO STDOUT`` extraction.

Discovery reads ``pg_attribute`` with ``format_type`` and the catalog entries of every type a
column reaches (a domain's base, an array's element), and decides where each column lands:
built-in types as they are (``map_type("postgres", ...)``: ``json``, arrays, ranges, geometric
and text-search types are kept), enums as an enum the loader creates in the warehouse
(:mod:`scrollintel.ingest.enums`; arrays of them too), domains as their base type (a domain's
CHECK is the source's rule: the raw layer keeps what the source accepted), composite types as
``jsonb``. Each column says what became of it (``SourceColumn.mapping``, kept by the schema
registry). Extraction is one
``COPY (SELECT ... WHERE cursor >= last) TO STDOUT (FORMAT csv)``, in no particular order (the
batch lands in one transaction, so order cannot matter; ordering by the cursor made the source's
read of a wide table a sixth slower with an index on the cursor, and sorts the whole batch on the
source without one): the server
formats every value, the connector only concatenates CopyData messages (one per row) into
chunks, so no Python object is built per value. Composite columns are selected as
``to_json(column)``: JSON text the warehouse parses as jsonb, so a ``\\u0000`` escape jsonb cannot
hold fails that row in the warehouse (it goes to quarantine) instead of the source's query.
``money`` is selected as ``numeric`` (its text form carries a currency symbol).

The session is read-only and pins ``TimeZone=UTC``, ``DateStyle=ISO`` and
``IntervalStyle=postgres`` so the text of a value does not depend on the source's settings.

The connection is an Airflow connection (host, port, login, password, ``schema`` = database,
extras passed to libpq such as ``sslmode``) or a PostgreSQL URL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from scrollintel.ingest.connectors.base import (
    Chunk,
    Connector,
    CursorState,
    DiscoveredSchema,
    SourceColumn,
    TableStatistics,
)
from scrollintel.ingest.errors import IngestError, ResourceConfigError
from scrollintel.ingest.sqltypes import SORTS_BY_CODE_POINT, type_sql
from scrollintel.ingest.types import map_type, warehouse_enum

if TYPE_CHECKING:
    import psycopg
    from psycopg.abc import Buffer

    from scrollintel.config.sources import PostgresSource

log = logging.getLogger(__name__)

#: Upper bound of one chunk's size, whatever ``chunk_rows`` says (wide rows stay bounded in memory).
#: Small enough that the warehouse's COPY starts, and ends, soon after the source's: with 16 MB
#: chunks a wide table's first load took ~10% longer, the two servers overlapping less.
MAX_CHUNK_BYTES = 1024 * 1024
#: Session settings that make the text of a value independent of the source's configuration.
SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c default_transaction_read_only=on"
#: libpq parameters an Airflow connection's extras may carry.
LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "target_session_attrs")
CONNECT_TIMEOUT_S = 15
#: Source types whose binary form is text's (their characters; ``character(n)``'s padding included).
_TEXT_SEND_TYPES = frozenset({"text", "character varying", "character", "name", "citext"})
_BINARY_HEADER = 19  # signature (11), flags (4), header extension length (4)
_BINARY_TRAILER = b"\xff\xff"

_DISCOVER_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, a.atttypid
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
#: Every type the columns reach (a domain's base type, an array's element), with an enum's labels.
_TYPES_SQL = """
WITH RECURSIVE reached(oid) AS (
    SELECT unnest(%s::oid[])
    UNION
    SELECT next.oid FROM reached r JOIN pg_type t ON t.oid = r.oid,
        LATERAL (VALUES (t.typbasetype), (CASE WHEN t.typlen = -1 THEN t.typelem ELSE 0 END)) AS next(oid)
    WHERE next.oid <> 0
)
SELECT t.oid, t.typtype, CASE WHEN t.typlen = -1 THEN t.typelem ELSE 0 END, t.typbasetype,
       format_type(t.typbasetype, t.typtypmod), format_type(t.oid, NULL), n.nspname, t.typname,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
FROM reached r JOIN pg_type t ON t.oid = r.oid JOIN pg_namespace n ON n.oid = t.typnamespace
"""


@dataclass(frozen=True)
class _SourceType:
    """One ``pg_type`` row a column reaches."""

    typtype: str
    element: int
    """The element type of an array (0: not an array)."""
    base: int
    """The base type of a domain (0: not a domain)."""
    base_formatted: str
    formatted: str
    schema: str
    name: str
    labels: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class _Landing:
    """Where a source column lands: its warehouse type, what became of its type, its enum labels,
    and the source type its values are printed from (a domain's base type)."""

    pg_type: str
    mapping: str
    labels: tuple[str, ...]
    effective: str


#: The oldest open transaction's start (or the clock, when none), and how many sessions this role
#: cannot see. Only client backends run the transactions that write the tables.
_HORIZON_SQL = """
SELECT least(clock_timestamp(), min(xact_start) FILTER (WHERE backend_type = 'client backend')),
       count(*) FILTER (WHERE query = '<insufficient privilege>')
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


#: A table's row estimate, whether it was ever analyzed and how many rows changed since.
_FRESHNESS_SQL = """
SELECT c.reltuples, greatest(s.last_analyze, s.last_autoanalyze) IS NOT NULL, coalesce(s.n_mod_since_analyze, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE n.nspname = %s AND c.relname = %s
"""
#: Each column's statistics (array fields as text), whether the column has a collation, and whether
#: that collation sorts by code point (C, POSIX, ucs_basic, the builtin provider's; the default when
#: the database's is one of them).
_COLUMN_STATISTICS_SQL = f"""
SELECT s.attname, s.null_frac, s.avg_width, s.n_distinct, s.most_common_vals::text, s.most_common_freqs,
       s.histogram_bounds::text, s.correlation, s.most_common_elems::text, s.most_common_elem_freqs,
       s.elem_count_histogram, s.range_length_histogram::text, s.range_empty_frac, s.range_bounds_histogram::text,
       a.attcollation <> 0,
       co.collname IN ('C', 'POSIX', 'ucs_basic') OR co.collprovider = 'b'
         OR (co.collname = 'default' AND {SORTS_BY_CODE_POINT})
FROM pg_stats s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.attname
LEFT JOIN pg_collation co ON co.oid = a.attcollation
JOIN pg_database d ON d.datname = current_database()
WHERE s.schemaname = %s AND s.tablename = %s AND NOT s.inherited
"""
#: The fields of a ``pg_stats`` row :data:`_COLUMN_STATISTICS_SQL` reads, in its order.
STATISTICS_FIELDS = (
    "null_frac",
    "avg_width",
    "n_distinct",
    "most_common_vals",
    "most_common_freqs",
    "histogram_bounds",
    "correlation",
    "most_common_elems",
    "most_common_elem_freqs",
    "elem_count_histogram",
    "range_length_histogram",
    "range_empty_frac",
    "range_bounds_histogram",
)


class ConnectionLike(Protocol):
    """The parts of an Airflow connection the connector reads."""

    host: str | None
    port: int | None
    login: str | None
    password: str | None
    schema: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def conninfo_from(conn: ConnectionLike | str, *, options: str = SESSION_OPTIONS) -> str:
    """A libpq connection string for an Airflow connection or a URL, with session ``options``."""
    from psycopg.conninfo import make_conninfo

    if isinstance(conn, str):
        url = conn
        if "://" in url:
            scheme, rest = url.split("://", 1)
            if scheme.startswith("postgresql+") or scheme == "postgres":
                url = f"postgresql://{rest}"
        return make_conninfo(url, options=options, application_name="scrollintel-ingest")
    extras: Mapping[str, Any] = conn.extra_dejson or {}
    params: dict[str, Any] = {key: extras[key] for key in LIBPQ_EXTRAS if extras.get(key) is not None}
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    return make_conninfo(
        host=conn.host or "localhost",
        port=conn.port or 5432,
        user=conn.login or None,
        password=conn.password or None,
        dbname=conn.schema or None,
        options=options,
        application_name="scrollintel-ingest",
        **params,
    )


def _select_expression(col: SourceColumn, base_type: str, *, binary: bool = False) -> psycopg.sql.Composable:
    """How a column is selected: as the server prints it (CSV), or as its warehouse type's binary form.

    Both give the same stored value. A column kept as it is, an enum (whose binary form is its
    label) and a character type landing as text (whose binary form is text's) are selected as
    they are: no work per value. A column of another type landing as text goes through its
    output function (``concat(...)``); a mapped array through its text form (which a cast to the
    warehouse's array type then parses, as COPY would), since its binary form names its element
    type by OID.
    """
    from psycopg import sql

    ident = sql.Identifier(col.name)
    if col.pg_type == "jsonb" and base_type != "jsonb":
        # to_json, not to_jsonb: a composite may hold a json value with the escape \u0000, which jsonb
        # cannot; to_jsonb would fail the source's query (the whole load), to_json hands the text
        # over and the warehouse refuses that one value, whose row goes to quarantine.
        if binary:  # jsonb's binary form: a version byte, then the text (NULL stays NULL: || is strict)
            return sql.SQL("'\\x01'::bytea || convert_to(to_json({})::text, 'UTF8')").format(ident)
        return sql.SQL("to_json({})").format(ident)
    if base_type.startswith("money"):
        return sql.SQL("{}::{}").format(ident, sql.SQL("numeric[]" if base_type.endswith("[]") else "numeric"))
    if not binary or col.mapping == "kept" or col.labels:
        return ident
    if col.pg_type == "text":
        if base_type.split("(", 1)[0] in _TEXT_SEND_TYPES:
            return ident
        # concat() prints with the type's output function; no "%" that a query's parameters would take
        return sql.SQL("CASE WHEN {0} IS NULL THEN NULL ELSE concat({0}) END").format(ident)
    if col.pg_type.endswith("[]"):
        return sql.SQL("{}::text::{}").format(ident, type_sql(col.pg_type))
    return sql.SQL("{}::{}").format(ident, type_sql(col.pg_type))


def _binary_safe(col: SourceColumn) -> bool:
    """Whether a column's binary COPY form reads the same in the warehouse.

    The binary form of every built-in type is the same on every supported server, and an
    array's names its element type by OID, fixed for built-in types (below 16384). An array of
    enums names the source's enum, whose OID means nothing in the warehouse: such a table is
    read as CSV. (An enum's own binary form is its label.)
    """
    return not (col.labels and col.pg_type.endswith("[]"))


def _first_carries_row(message: Buffer) -> bool:
    """Whether the first message of a binary COPY carries a row after the header (or the header alone).

    A row is a field count (2 bytes) and at least one field length (4 bytes), so anything
    longer than the trailer after the header is a row.
    """
    extension = int.from_bytes(bytes(message[15:_BINARY_HEADER]), "big")
    return len(message) - _BINARY_HEADER - extension > len(_BINARY_TRAILER)


def _chunked(messages: Iterable[Buffer], chunk_rows: int, *, binary: bool) -> Iterator[Chunk]:
    """Group COPY messages into chunks of at most ``chunk_rows`` rows or about ``MAX_CHUNK_BYTES``.

    A text COPY sends one message per row; a binary one also carries its header on the first
    message and its trailer alone in the last, which ``Chunk.rows`` does not count. A chunk's
    messages are joined once (appending each to a growing buffer, then copying that, moved
    every byte twice: the largest cost in Python of a wide table's extraction).
    """
    parts: list[Buffer] = []
    size = rows = 0
    first = True
    for message in messages:
        parts.append(message)
        size += len(message)
        if not binary:
            rows += 1
        elif first:
            rows += _first_carries_row(message)
            first = False
        elif len(message) > len(_BINARY_TRAILER):
            rows += 1
        if rows >= chunk_rows or size >= MAX_CHUNK_BYTES:
            yield Chunk(data=b"".join(parts), rows=rows)
            parts = []
            size = rows = 0
    if parts:
        yield Chunk(data=b"".join(parts), rows=rows)


class PostgresConnector(Connector):
    """Reads the tables of one PostgreSQL source (``type: postgres`` in ``governance/sources``)."""

    dialect = "postgres"

    def __init__(self, source: PostgresSource, conn: ConnectionLike | str) -> None:
        self.source = source
        self._conn = conn
        self._conninfo = conninfo_from(conn)
        self._base_types: dict[str, dict[str, str]] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        try:
            return psycopg.connect(self._conninfo, autocommit=False)
        except psycopg.OperationalError as err:
            raise IngestError(f"cannot connect to the {self.source.name!r} source database: {err}") from err

    @property
    def schema_name(self) -> str:
        """The source schema the tables are read from (``schema:`` in the YAML)."""
        return self.source.db_schema

    def dataset_identity(self, resource: str) -> tuple[str, str]:
        """OpenLineage namespace and name of a table: ``postgres://host:port``, ``db.schema.table``."""
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(self._conninfo)
        host = params.get("host") or "localhost"
        port = params.get("port") or 5432
        dbname = params.get("dbname") or "postgres"
        return f"postgres://{host}:{port}", f"{dbname}.{self.schema_name}.{resource}"

    # -- the contract ----------------------------------------------------------------------

    def discover(self, resource: str) -> DiscoveredSchema:
        """Columns of ``<schema>.<resource>`` in catalog order, with their warehouse types."""
        with self._connect() as conn:
            rows = conn.execute(_DISCOVER_SQL, (self.schema_name, resource)).fetchall()
            found = conn.execute(_TYPES_SQL, ([row[3] for row in rows],)).fetchall() if rows else []
        if not rows:
            raise ResourceConfigError(
                f"table {self.schema_name}.{resource} of source {self.source.name!r} does not exist "
                f"(or the connection's role cannot see it)"
            )
        types = {
            oid: _SourceType(typtype, element, base, base_formatted, formatted, schema, name, tuple(labels))
            for oid, typtype, element, base, base_formatted, formatted, schema, name, labels in found
        }
        columns = []
        base_types: dict[str, str] = {}
        for name, source_type, nullable, type_oid in rows:
            landing = self._landing(types, type_oid, source_type)
            base_types[name] = landing.effective
            columns.append(
                SourceColumn(
                    name=name,
                    source_type=source_type,
                    pg_type=landing.pg_type,
                    nullable=nullable,
                    mapping=landing.mapping,
                    labels=landing.labels,
                )
            )
        self._base_types[resource] = base_types
        return DiscoveredSchema(resource=resource, columns=tuple(columns))

    def _landing(self, types: Mapping[int, _SourceType], oid: int, formatted: str) -> _Landing:
        """Where a value of type ``oid`` (spelt ``formatted``, with the column's modifier) lands."""
        found = types[oid]
        if found.base:
            base = self._landing(types, found.base, found.base_formatted)
            why = f"domain {found.qualified} lands as its base type (its constraints are the source's rules)"
            mapping = f"mapped: {why}" if base.mapping == "kept" else f"{base.mapping}; {why}"
            return _Landing(base.pg_type, mapping, base.labels, base.effective)
        if found.element and types[found.element].typtype in ("c", "d", "e"):
            element = self._landing(types, found.element, types[found.element].formatted)
            if element.pg_type == "jsonb":
                return _Landing("jsonb", f"{element.mapping}, an array of them as a JSON array", (), formatted)
            return _Landing(f"{element.pg_type}[]", element.mapping, element.labels, f"{element.effective}[]")
        if found.typtype == "e":
            enum = warehouse_enum(self.source.name, self.schema_name, found.schema, found.name)
            return _Landing(enum, f"created enum {enum}", found.labels, formatted)
        if found.typtype == "c":
            return _Landing(
                "jsonb", f"mapped: composite type {found.qualified} lands as jsonb (one object)", (), formatted
            )
        mapped = map_type(self.dialect, formatted)
        return _Landing(mapped.pg_type, f"mapped: {mapped.reason}" if mapped.reason else "kept", (), formatted)

    def extract_query(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, binary: bool = False
    ) -> tuple[str, tuple[Any, ...]]:
        """The ``COPY ... TO STDOUT`` statement and its parameters (exposed for tests and benchmarks)."""
        from psycopg import sql

        table = self.source.resource(resource)
        cursor: str | None = getattr(table, "cursor", None)
        if resource not in self._base_types:
            self.discover(resource)
        base_types = self._base_types[resource]
        select = sql.SQL(", ").join(
            _select_expression(col, base_types.get(col.name, col.source_type), binary=binary) for col in schema.columns
        )
        query = sql.SQL("SELECT {} FROM {}.{}").format(
            select, sql.Identifier(self.schema_name), sql.Identifier(resource)
        )
        params: tuple[Any, ...] = ()
        if cursor is not None:
            if cursor not in schema.names:
                raise ResourceConfigError(
                    f"cursor column {cursor!r} of {self.source.name}.{resource} is not in the source table "
                    f"(columns: {', '.join(schema.names)})"
                )
            if state.value is not None:
                # an untyped literal takes the cursor column's type: no cast to spell out
                query = sql.SQL("{} WHERE {} >= %s").format(query, sql.Identifier(cursor))
                params = (str(state.value),)
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT {})").format(query, sql.SQL("binary" if binary else "csv"))
        return statement.as_string(None), params

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """Rows at or after the cursor, as CSV chunks of at most ``chunk_rows`` rows.

        ``>=`` (not ``>``) re-reads the rows that share the last cursor value: a row committed
        in the source after the previous load with that same value is not missed, and the
        loader's merge makes the re-read rows a no-op.
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        statement, params = self.extract_query(resource, schema, state)
        with self._connect() as conn, conn.cursor() as cur, cur.copy(statement, params or None) as copy:
            yield from _chunked(copy, chunk_rows, binary=False)

    # -- late commits and deletes (scrollintel.ingest.cursors, scrollintel.ingest.deletes) ----

    def commit_horizon(self) -> datetime | None:
        """The start of the oldest transaction open in the source database, or the server's clock.

        Asked before a read: a transaction that commits after the read began after this time,
        so its ``now()`` is later. None when some session is hidden from the connection's role
        (another role's sessions show their ``xact_start`` only to ``pg_read_all_stats``): then
        the bound is unknown and only the lookback protects late commits.
        """
        with self._connect() as conn:
            row = conn.execute(_HORIZON_SQL).fetchone()
        horizon, hidden = row if row else (None, 0)
        if hidden:
            log.info(
                "%s: %d session(s) in the source database are hidden from this role (grant it pg_read_all_stats "
                "to bound the cursor by the oldest open transaction); relying on the lookback",
                self.source.name,
                hidden,
            )
            return None
        return horizon  # type: ignore[no-any-return]

    def table_statistics(self, resource: str, schema: DiscoveredSchema, *, byte_order: bool) -> TableStatistics | None:
        """The table's own planner statistics, when its ANALYZE is fresh (:meth:`TableStatistics.within_margin`).

        Only columns whose warehouse type is the source's (kept, or an enum created with the same
        labels in the same order) and whose values sort the same on both sides: a column with a
        collation only when both sort by code point (``byte_order`` says the warehouse does).
        None when the table was never analyzed, changed too much since, is empty, or the catalog
        cannot be read (the loader then analyzes the copied rows itself).
        """
        import psycopg

        try:
            with self._connect() as conn:
                found = conn.execute(_FRESHNESS_SQL, (self.schema_name, resource)).fetchone()
                if found is None:
                    return None
                rows, analyzed, changed = found
                if not analyzed or rows <= 0 or not TableStatistics.within_margin(changed, rows):
                    return None
                stats = conn.execute(_COLUMN_STATISTICS_SQL, (self.schema_name, resource)).fetchall()
        except psycopg.Error as err:
            log.info("%s.%s: no source statistics (%s); the loader analyzes", self.source.name, resource, err)
            return None
        same_type = {col.name for col in schema.columns if (col.mapping or "").startswith(("kept", "created enum"))}
        columns: dict[str, dict[str, Any]] = {}
        for row in stats:
            name, values, collatable, code_point_order = row[0], row[1:-2], row[-2], row[-1]
            if name in same_type and (not collatable or (code_point_order and byte_order)):
                columns[name] = dict(zip(STATISTICS_FIELDS, values, strict=True))
        return TableStatistics(rows=float(rows), columns=columns)

    def extract_keys(
        self, resource: str, schema: DiscoveredSchema, primary_key: Sequence[str], *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """Every primary key of the table as CSV chunks: what delete detection compares the raw table with."""
        from psycopg import sql

        if resource not in self._base_types:
            self.discover(resource)
        base_types = self._base_types[resource]
        select = sql.SQL(", ").join(
            _select_expression(schema.column(name), base_types.get(name, schema.column(name).source_type))
            for name in primary_key
        )
        statement = sql.SQL("COPY (SELECT {} FROM {}.{}) TO STDOUT (FORMAT csv)").format(
            select, sql.Identifier(self.schema_name), sql.Identifier(resource)
        )
        with self._connect() as conn, conn.cursor() as cur, cur.copy(statement) as copy:
            yield from _chunked(copy, chunk_rows, binary=False)

    # -- binary fast path ------------------------------------------------------------------

    def supports_binary(self, schema: DiscoveredSchema) -> bool:
        """True when every column lands as a type :meth:`extract_binary` can hand over in binary."""
        return all(_binary_safe(col) for col in schema.columns)

    def extract_binary(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """The rows of :meth:`extract` as binary COPY data of exactly the warehouse types.

        An optional extension of the connector contract, used by the loader's first load: a
        PostgreSQL-to-PostgreSQL copy skips printing and parsing every value. The first chunk
        starts with the binary COPY header; ``Chunk.rows`` counts rows only.
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        if not self.supports_binary(schema):
            raise ValueError(f"{resource}: some columns have no binary form the warehouse shares")
        statement, params = self.extract_query(resource, schema, state, binary=True)
        with self._connect() as conn, conn.cursor() as cur, cur.copy(statement, params or None) as copy:
            yield from _chunked(copy, chunk_rows, binary=True)

    def test_connection(self) -> tuple[bool, str]:
        """Connect, then check that every declared table is readable."""
        import psycopg

        names = [table.name for table in self.source.tables]
        try:
            with psycopg.connect(self._conninfo) as conn:
                readable = conn.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = ANY(%s) AND has_table_privilege(c.oid, 'SELECT')",
                    (self.schema_name, names),
                ).fetchall()
                version = conn.execute("SELECT current_setting('server_version')").fetchone()
                dbname = conn.info.dbname
        except psycopg.Error as err:
            return False, f"cannot connect: {type(err).__name__}: {str(err).strip()}"
        missing = sorted(set(names) - {row[0] for row in readable})
        if missing:
            return False, (
                f"database {dbname}: tables missing or not readable in schema {self.schema_name}: {', '.join(missing)}"
            )
        server = version[0] if version else "?"
        return True, f"PostgreSQL {server}: database {dbname}, {len(names)} table(s) readable"
