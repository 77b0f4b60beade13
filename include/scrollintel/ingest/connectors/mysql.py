"""MySQL and MariaDB (``type: mysql`` sources) through PyMySQL, a pure-Python driver.

Connection (Airflow, type ``mysql``): ``host``, ``port`` (3306), ``login``, ``password``;
``schema`` is the database to connect to (default: the source's ``schema``, which is also where
the tables are read). Optional ``extra``: ``charset`` (``utf8mb4``), ``connect_timeout`` (10 s),
``ssl`` (PyMySQL's ssl options, e.g. ``{"ca": "/path/ca.pem"}``), ``unix_socket``.

Discovery reads ``information_schema.COLUMNS``: ``COLUMN_TYPE`` (with length, precision and
``unsigned``) goes through ``map_type("mysql", ...)``. MariaDB stores JSON as LONGTEXT with a
``json_valid`` check; such columns are reported as ``json``.

Extraction is one streaming query (an unbuffered ``SSCursor``: rows are read from the socket
as the chunks are consumed, never all at once), ``WHERE <cursor> > <last value> ORDER BY
<cursor>`` for incremental tables and a plain scan for full refreshes. PyMySQL's type
converters are switched off, so values arrive as the text the server sends, which PostgreSQL
already parses (DECIMAL exactly, DATETIME as ``YYYY-MM-DD hh:mm:ss[.ffffff]``, ``tinyint(1)``
booleans as ``0``/``1``, JSON as JSON text); the few that it would not are rendered by the
query itself: binary types as bytea hex (``\\x0a1b``), BIT as its number, TIMESTAMP in UTC
(the session's time zone) with ``+00``, spatial types as WKT. No Python object is built per
value besides the driver's own string.

Chunks end between distinct cursor values (see :func:`.render.chunk_rows_by_cursor`). Rows
whose cursor is NULL are read by the first load only: ``NULL > x`` is never true.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ConfigError
from scrollintel.ingest.connectors.base import Chunk, Connector, CursorState, DiscoveredSchema, SourceColumn
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.render import chunk_rows_by_cursor, rows_to_csv
from scrollintel.ingest.types import map_type

if TYPE_CHECKING:
    import pymysql
    from airflow.sdk import Connection

    from scrollintel.config.sources import MysqlSource, SourceTable

log = logging.getLogger(__name__)

DEFAULT_PORT = 3306
CONNECT_TIMEOUT_S = 10
#: How long the server waits for us to read the next rows (the loader COPYs between reads).
NET_WRITE_TIMEOUT_S = 3600
#: Error codes that mean the credentials or grants are wrong (never retried).
_AUTH_CODES = frozenset({1044, 1045, 1142, 1143, 1227, 1698})
_SPATIAL = frozenset(
    {
        "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
        "geometrycollection",
    }
)  # fmt: skip
_JSON_CHECK = re.compile(r"json_valid\(`((?:[^`]|``)+)`\)", re.IGNORECASE)
_TEMPORAL = ("date", "datetime", "timestamp")


def quote(name: str) -> str:
    """A MySQL identifier in backticks."""
    return "`" + name.replace("`", "``") + "`"


def select_expression(column: SourceColumn) -> str:
    """The select-list expression giving ``column`` as text PostgreSQL parses for its warehouse type."""
    name = quote(column.name)
    base = column.source_type.split("(")[0].strip().lower()
    if column.pg_type == "bytea":
        return f"CONCAT(CHAR(92 USING ascii), 'x', LOWER(HEX({name})))"
    if base == "bit":
        return f"({name} + 0)"
    if base == "timestamp":
        return f"CONCAT({name}, '+00')"
    if base in _SPATIAL:
        return f"ST_AsText({name})"
    return name


def cursor_parameter(value: Any, source_type: str) -> Any:
    """The last cursor value as a query parameter (date-times in UTC, the session's time zone).

    The loader may hand back a date-time as ISO text or as an aware ``datetime`` (a ``timestamptz``
    read from the warehouse); MariaDB does not understand offsets in literals, so both become
    naive UTC. Anything else passes through (MySQL compares numbers and strings itself).
    """
    temporal = source_type.split("(", maxsplit=1)[0].strip().lower() in _TEMPORAL
    if isinstance(value, str) and temporal:
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class MysqlConnector(Connector):
    """Reads the tables of a :class:`~scrollintel.config.sources.MysqlSource`."""

    def __init__(self, source: MysqlSource, connection: Connection) -> None:
        self.source = source
        self.connection = connection

    # -- connection ---------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port`` of the server (for messages)."""
        return f"{self.connection.host}:{self.connection.port or DEFAULT_PORT}"

    def connect(self) -> pymysql.connections.Connection[Any]:
        """A session in UTC with PyMySQL's result converters off (values arrive as text)."""
        import pymysql
        import pymysql.converters

        conn = self.connection
        extra = conn.extra_dejson
        if not conn.host and not extra.get("unix_socket"):
            raise ConfigError(f"connection {conn.conn_id!r} has no host")
        # Keep the encoders (keys are Python types) so parameters are still escaped; drop the
        # decoders (keys are MySQL field type codes) so results are not parsed into objects.
        encoders = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}
        options: dict[str, Any] = {
            "host": conn.host or "localhost",
            "port": int(conn.port or DEFAULT_PORT),
            "user": conn.login or "",
            "password": conn.password or "",
            "database": conn.schema or self.source.db_schema,
            "charset": extra.get("charset", "utf8mb4"),
            "connect_timeout": int(extra.get("connect_timeout", CONNECT_TIMEOUT_S)),
            "conv": encoders,
        }
        if extra.get("ssl"):
            options["ssl"] = dict(extra["ssl"])
        if extra.get("unix_socket"):
            options["unix_socket"] = str(extra["unix_socket"])
        try:
            session = pymysql.connect(**options)
            with session.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")
                cursor.execute("SET SESSION net_write_timeout = %s", (NET_WRITE_TIMEOUT_S,))
        except pymysql.err.MySQLError as err:
            raise self._error(err, f"connecting to {self.address}") from err
        return session

    def _error(self, err: Exception, doing: str) -> SourceError:
        code = err.args[0] if err.args and isinstance(err.args[0], int) else None
        message = err.args[1] if len(err.args) > 1 else str(err)
        text = f"MySQL {self.address}: {doing} failed: {message}" + (f" (error {code})" if code else "")
        if code in _AUTH_CODES:
            conn_id = self.connection.conn_id
            return SourceAuthError(f"{text}; check the login, password and grants of connection {conn_id!r}")
        return SourceError(text)

    def _table(self, resource: str) -> SourceTable:
        try:
            return self.source.resource(resource)  # type: ignore[return-value]
        except KeyError as err:
            names = ", ".join(table.name for table in self.source.tables)
            raise SourceError(f"source {self.source.name!r} has no table {resource!r} (it has: {names})") from err

    # -- contract -----------------------------------------------------------------------------

    def discover(self, resource: str) -> DiscoveredSchema:
        """The table's columns from ``information_schema`` in ordinal order."""
        import pymysql

        self._table(resource)
        database = self.source.db_schema
        session = self.connect()
        try:
            with session.cursor() as cursor:
                cursor.execute(
                    "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                    (database, resource),
                )
                rows = cursor.fetchall()
                json_columns = self._mariadb_json_columns(cursor, database, resource)
        except pymysql.err.MySQLError as err:
            raise self._error(err, f"reading the columns of {database}.{resource}") from err
        finally:
            session.close()
        if not rows:
            raise SourceError(
                f"MySQL {self.address}: table {database}.{resource} does not exist or the user of connection "
                f"{self.connection.conn_id!r} cannot see it"
            )
        columns = []
        for raw_name, column_type, nullable in rows:
            name = _text(raw_name)
            source_type = "json" if name in json_columns else _text(column_type).lower()
            mapped = map_type("mysql", source_type)
            if not mapped.exact:
                log.warning("%s.%s: MySQL type %r has no mapping; it loads as text", resource, name, source_type)
            columns.append(SourceColumn(name, source_type, mapped.pg_type, nullable=_text(nullable) == "YES"))
        return DiscoveredSchema(resource=resource, columns=tuple(columns))

    @staticmethod
    def _mariadb_json_columns(cursor: Any, database: str, table: str) -> set[str]:
        cursor.execute("SELECT VERSION()")
        version = _text(cursor.fetchone()[0])
        if "mariadb" not in version.lower():
            return set()  # MySQL has a real JSON type (and no TABLE_NAME in CHECK_CONSTRAINTS)
        cursor.execute(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s",
            (database, table),
        )
        found = set()
        for (clause,) in cursor.fetchall():
            match = _JSON_CHECK.fullmatch(_text(clause).strip())
            if match:
                found.add(match.group(1).replace("``", "`"))
        return found

    def query(self, resource: str, schema: DiscoveredSchema, state: CursorState) -> tuple[str, tuple[Any, ...]]:
        """The extraction query and its parameters."""
        table = self._table(resource)
        select = ", ".join(select_expression(column) for column in schema.columns)
        sql = f"SELECT {select} FROM {quote(self.source.db_schema)}.{quote(resource)}"
        if table.cursor is None:
            return sql, ()
        try:
            cursor_type = schema.column(table.cursor).source_type
        except KeyError as err:
            raise SourceError(f"{resource}: cursor column {table.cursor!r} is not in the schema") from err
        if state.value is None:
            return f"{sql} ORDER BY {quote(table.cursor)}", ()
        return (
            f"{sql} WHERE {quote(table.cursor)} > %s ORDER BY {quote(table.cursor)}",
            (cursor_parameter(state.value, cursor_type),),
        )

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """Rows after ``state.value`` in cursor order, streamed from the server in chunks."""
        import pymysql
        import pymysql.cursors

        table = self._table(resource)
        sql, params = self.query(resource, schema, state)
        key = schema.names.index(table.cursor) if table.cursor is not None else None
        width = len(schema.columns)
        session = self.connect()
        cursor = None
        try:
            cursor = session.cursor(pymysql.cursors.SSCursor)
            cursor.execute(sql, params)
            for rows in chunk_rows_by_cursor(_batches(cursor, chunk_rows), chunk_rows, key):
                yield Chunk(data=rows_to_csv(rows, width), rows=len(rows))
            cursor.close()
        except GeneratorExit:
            log.info("%s: extraction stopped by the caller; the rest of the query is not read", resource)
            raise
        except pymysql.err.MySQLError as err:
            raise self._error(err, f"reading {self.source.db_schema}.{resource}") from err
        finally:
            # Closing the socket ends the query; closing an unfinished SSCursor would read every
            # row left, and so would PyMySQL's result finaliser unless told the result is done.
            result = getattr(cursor, "_result", None)
            if result is not None:
                result.unbuffered_active = False
            if session.open:
                session.close()

    def test_connection(self) -> tuple[bool, str]:
        """Connect, then check that every declared table is visible."""
        import pymysql

        database = self.source.db_schema
        try:
            session = self.connect()
            try:
                with session.cursor() as cursor:
                    cursor.execute("SELECT VERSION()")
                    version = _text(cursor.fetchone()[0])
                    cursor.execute(
                        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,)
                    )
                    present = {_text(name) for (name,) in cursor.fetchall()}
            finally:
                session.close()
        except pymysql.err.MySQLError as err:
            return False, str(self._error(err, "testing the connection"))
        except (SourceError, ConfigError) as err:
            return False, str(err)
        flavour = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        missing = [table.name for table in self.source.tables if table.name not in present]
        if missing:
            return False, f"{flavour} {version} at {self.address}: database {database} lacks {', '.join(missing)}"
        found = len(self.source.tables)
        return True, f"{flavour} {version} at {self.address}: database {database}, {found} table(s) found"


def _batches(cursor: Any, size: int) -> Iterator[Sequence[tuple[str | None, ...]]]:
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield rows


def _text(value: Any) -> str:
    """A metadata value (str, or bytes for binary-collated metadata) as str."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
