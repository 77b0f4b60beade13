"""Quarantine: rows that do not fit the warehouse are kept, with why, instead of failing the load.

Every staged row is text. A row is quarantined when a value does not parse as its column's
warehouse type (``pg_input_is_valid``, PostgreSQL 16+), when a primary key column is null, or
when another row of the same batch has the same primary key value: then every row of that key
is quarantined and none is loaded (the batch does not say which one is right; the stored row, if
any, stays as it is). Quarantined rows move from the stage to
``raw_quarantine.<source>__<resource>`` in the load's transaction, so they are committed (or
not) together with the good rows and the cursor.

Some values cannot even be staged as text: PostgreSQL text holds neither NUL characters nor
bytes that are not UTF-8, and COPY rejects the whole chunk for one of them. The validating path
screens the chunks for them (:func:`screen_chunk`); a row holding one is set aside, its bad
values written in an escaped form the warehouse can store (backslashes doubled, each NUL and
each byte that is not UTF-8 as a backslash, ``x`` and two hex digits: ``x00``, ``xff``), and
staged with its reason (:func:`stage_unstorable`) so that it counts for the cursor and the keys
like any other row, then quarantined (:func:`quarantine_unstorable`).

Each quarantined row keeps its raw text values as a JSON object (``raw_row``), a ``reason``
that names the columns and types but no values (safe to log and count), a ``detail`` with
PostgreSQL's own message (which may quote the value), the run id and the batch id. Replaying a
batch adds nothing: a row already quarantined for the same reason is not stored twice (identical
copies within one batch are numbered, so each of them is kept).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrollintel.ingest.connectors.base import SourceColumn
from scrollintel.ingest.sqltypes import cast, ident, parsed

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

SCHEMA = "raw_quarantine"
DUPLICATE_DETAIL = "every row of the batch with this primary key value is quarantined; none was loaded"
#: Stage columns of a set-aside row's reason and detail (added to the stage only when a chunk has one).
UNSTORABLE_REASON = "_scrollintel_unstorable_reason"
UNSTORABLE_DETAIL = "_scrollintel_unstorable_detail"
#: A staged row as it is kept in the quarantine: its values without the set-aside marks.
_RAW_ROW = f"(to_jsonb(s) - '{UNSTORABLE_REASON}' - '{UNSTORABLE_DETAIL}')"
#: One field of chunk CSV (:mod:`scrollintel.ingest.connectors.base`): quoted, or bare up to a comma or line end.
_CSV_FIELD = re.compile(rb'"((?:[^"]|"")*)"|([^,"\r\n]*)')


@dataclass
class QuarantineCounts:
    """Rows quarantined by one load, by reason."""

    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def add(self, reason: str, count: int) -> None:
        if count:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + count


def ensure_table(conn: psycopg.Connection[Any], table: str) -> None:
    """Create ``raw_quarantine.<table>`` when it does not exist."""
    from psycopg import sql

    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            "_quarantine_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "run_id text NOT NULL, batch_id text NOT NULL, reason text NOT NULL, detail text, "
            "raw_row jsonb NOT NULL, row_hash text NOT NULL, "
            "quarantined_at timestamptz NOT NULL DEFAULT now(), "
            "UNIQUE (row_hash, reason))"
        ).format(ident(SCHEMA, table))
    )


def _typed_columns(columns: Sequence[SourceColumn]) -> list[SourceColumn]:
    return [col for col in columns if col.pg_type != "text"]


def _problem_parts(
    columns: Sequence[SourceColumn], primary_key: Sequence[str]
) -> tuple[sql.Composable, sql.Composable, sql.Composable]:
    """(row is bad, reason, detail) expressions over the stage's text columns."""
    from psycopg import sql

    flags: list[sql.Composable] = []
    reasons: list[sql.Composable] = []
    details: list[sql.Composable] = []
    for name in primary_key:
        column = ident(name)
        flags.append(sql.SQL("{} IS NULL").format(column))
        reasons.append(
            sql.SQL("CASE WHEN {} IS NULL THEN {} END").format(column, sql.Literal(f"{name}: null primary key"))
        )
    for col in _typed_columns(columns):
        column, pg_type = ident(col.name), sql.Literal(col.pg_type)
        invalid = sql.SQL("({0} IS NOT NULL AND NOT pg_input_is_valid({0}, {1}))").format(column, pg_type)
        flags.append(invalid)
        reasons.append(
            sql.SQL("CASE WHEN {} THEN {} END").format(invalid, sql.Literal(f"{col.name}: not a valid {col.pg_type}"))
        )
        details.append(
            sql.SQL("CASE WHEN {0} THEN {1} || (pg_input_error_info({2}, {3})).message END").format(
                invalid, sql.Literal(f"{col.name}: "), column, pg_type
            )
        )
    if not flags:
        false = sql.SQL("false")
        return false, sql.SQL("NULL::text"), sql.SQL("NULL::text")
    flag = sql.SQL(" OR ").join(flags)
    reason = sql.SQL("concat_ws('; ', {})").format(sql.SQL(", ").join(reasons))
    detail = sql.SQL("NULLIF(concat_ws('; ', {}), '')").format(sql.SQL(", ").join(details)) if details else None
    return flag, reason, detail or sql.SQL("NULL::text")


def quarantine_invalid(
    conn: psycopg.Connection[Any],
    stage: tuple[str, ...],
    table: str,
    columns: Sequence[SourceColumn],
    primary_key: Sequence[str],
    *,
    run_id: str,
    batch_id: str,
) -> QuarantineCounts:
    """Move rows with a null key or a value that does not parse from ``stage`` (schema, name) to quarantine.

    Identical rows of one batch are each kept (the second and later copies are numbered in their
    hash), so the quarantine holds as many rows as the counts say; the first copy's hash is the
    row's own, so a row re-read in a later batch, or a replayed batch, adds nothing.
    """
    flag, reason, detail = _problem_parts(columns, primary_key)
    return _move(conn, stage, table, flag, reason=reason, detail=detail, run_id=run_id, batch_id=batch_id)


def _move(
    conn: psycopg.Connection[Any],
    stage: tuple[str, ...],
    table: str,
    flag: sql.Composable,
    *,
    reason: sql.Composable,
    detail: sql.Composable,
    run_id: str,
    batch_id: str,
) -> QuarantineCounts:
    """Move the rows of ``stage`` where ``flag`` holds to quarantine with their ``reason`` and ``detail``."""
    from psycopg import sql

    statement = sql.SQL(
        "WITH bad AS (DELETE FROM {stage} AS s WHERE {flag} "
        "RETURNING {raw_row} AS raw_row, {reason} AS reason, {detail} AS detail), "
        "numbered AS (SELECT *, row_number() OVER (PARTITION BY raw_row, reason) AS copy FROM bad), "
        "kept AS (INSERT INTO {target} (run_id, batch_id, reason, detail, raw_row, row_hash) "
        "SELECT {run}, {batch}, reason, detail, raw_row, "
        "md5(CASE WHEN copy = 1 THEN raw_row::text ELSE raw_row::text || '#' || copy END) FROM numbered "
        "ON CONFLICT (row_hash, reason) DO NOTHING) "
        "SELECT reason, count(*) FROM bad GROUP BY reason"
    ).format(
        stage=ident(*stage),
        raw_row=sql.SQL(_RAW_ROW),
        flag=flag,
        reason=reason,
        detail=detail,
        target=ident(SCHEMA, table),
        run=sql.Literal(run_id),
        batch=sql.Literal(batch_id),
    )
    return _counted(conn, statement)


# --------------------------------------------------------------------------- values text cannot hold


@dataclass
class Unstorable:
    """A row set aside by :func:`screen_chunk`: its values (bad ones escaped), why, and how they were written."""

    values: list[str | None]
    reason: str
    detail: str


def screen_chunk(data: bytes, names: Sequence[str]) -> tuple[bytes, list[Unstorable]]:
    """Split chunk CSV into what COPY can stage as text and the rows it cannot: (data, rows set aside).

    A chunk without NUL bytes that is valid UTF-8 is returned as it is (the usual case, one scan).
    Otherwise its rows are split (quoted fields may span lines) and a row with a NUL or a byte
    that is not UTF-8 in any value is set aside with its values (see the module docstring).
    """
    if b"\x00" not in data and (data.isascii() or _is_utf8(data)):
        return data, []
    kept: list[bytes] = []
    aside: list[Unstorable] = []
    for line, fields in _csv_rows(data):
        problems = [
            (name, value)
            for name, value in zip(names, fields, strict=False)
            if value is not None and _unstorable(value)
        ]
        if not problems:
            kept.append(line)
            continue
        values = [None if value is None else _escaped(value) for value in fields]
        aside.append(
            Unstorable(
                values=values,
                reason="; ".join(f"{name}: text cannot hold {_what(value)}" for name, value in problems),
                detail="; ".join(
                    f"{name}: kept in raw_row with backslashes doubled and each NUL or non-UTF-8 byte as \\xNN"
                    for name, _ in problems
                ),
            )
        )
    return b"".join(kept), aside


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _unstorable(value: bytes) -> bool:
    return b"\x00" in value or not _is_utf8(value)


def _what(value: bytes) -> str:
    nul = b"\x00" in value
    utf8 = _is_utf8(value.replace(b"\x00", b""))
    return " and ".join(
        part for part, found in (("a NUL character", nul), ("bytes that are not UTF-8", not utf8)) if found
    )


def _escaped(value: bytes) -> str:
    """``value`` as text the warehouse stores: backslashes doubled, NUL and bytes that are not UTF-8 as ``\\xNN``."""
    if not _unstorable(value):
        return value.decode()
    text = value.decode(errors="surrogateescape").replace("\\", "\\\\").replace("\x00", "\\x00")
    return "".join(f"\\x{ord(char) - 0xDC00:02x}" if "\udc80" <= char <= "\udcff" else char for char in text)


def _csv_rows(data: bytes) -> list[tuple[bytes, list[bytes | None]]]:
    """Each row of chunk CSV as (its bytes with the line end, its values: None for NULL, unquoted)."""
    rows: list[tuple[bytes, list[bytes | None]]] = []
    pos, end = 0, len(data)
    while pos < end:
        start, fields = pos, []
        while True:
            match = _CSV_FIELD.match(data, pos)
            assert match is not None  # the pattern matches the empty string
            quoted, bare = match.group(1), match.group(2)
            fields.append(quoted.replace(b'""', b'"') if quoted is not None else (bare or None))
            pos = match.end()
            if data[pos : pos + 1] == b",":
                pos += 1
                continue
            if data.startswith(b"\r\n", pos):
                pos += 2
            elif data[pos : pos + 1] == b"\n":
                pos += 1
            elif pos < end:
                raise ValueError(f"chunk CSV is malformed at byte {pos}")
            break
        rows.append((data[start:pos], fields))
    return rows


def stage_unstorable(
    conn: psycopg.Connection[Any], stage: tuple[str, ...], columns: Sequence[SourceColumn], rows: Sequence[Unstorable]
) -> None:
    """Add the set-aside ``rows`` to the text stage, with their reason and detail in two added columns."""
    from psycopg import sql

    conn.execute(
        sql.SQL("ALTER TABLE {} ADD COLUMN {} text, ADD COLUMN {} text").format(
            ident(*stage), ident(UNSTORABLE_REASON), ident(UNSTORABLE_DETAIL)
        )
    )
    names = sql.SQL(", ").join(
        [*(ident(col.name) for col in columns), ident(UNSTORABLE_REASON), ident(UNSTORABLE_DETAIL)]
    )
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(ident(*stage), names)) as copy:
        for row in rows:
            copy.write_row([*row.values, row.reason, row.detail])


def quarantine_unstorable(
    conn: psycopg.Connection[Any], stage: tuple[str, ...], table: str, *, run_id: str, batch_id: str
) -> QuarantineCounts:
    """Move the rows :func:`stage_unstorable` added to quarantine and drop its two columns from the stage."""
    from psycopg import sql

    reason, detail = ident(UNSTORABLE_REASON), ident(UNSTORABLE_DETAIL)
    counts = _move(
        conn,
        stage,
        table,
        sql.SQL("{} IS NOT NULL").format(reason),
        reason=reason,
        detail=detail,
        run_id=run_id,
        batch_id=batch_id,
    )
    conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}, DROP COLUMN {}").format(ident(*stage), reason, detail))
    return counts


def has_duplicates(
    conn: psycopg.Connection[Any],
    stage: tuple[str, ...],
    columns: Sequence[SourceColumn],
    primary_key: Sequence[str],
    *,
    typed: bool,
) -> bool:
    """Whether a primary key value is in more than one row of ``stage``: one scan and one sort.

    ``typed``: the stage holds the warehouse types (a binary stage), else text, compared as the
    key's type (``7`` and ``007`` are one bigint key); a key that does not parse raises the
    cast's data error. Rows with a null key column are left out. ``count(DISTINCT ...)`` sorts:
    about 0.3-0.5 s for 2M rows here, a third of a hash aggregate's time over as many groups.
    """
    from psycopg import sql

    types = {col.name: col.pg_type for col in columns}
    keys: list[sql.Composable] = []
    for name in primary_key:
        if types[name] == "text":  # byte order: the same equality as the default collation's, cheaper to sort
            keys.append(sql.SQL('{} COLLATE "C"').format(ident(name)))
        else:
            keys.append(ident(name) if typed else cast(name, types[name]))
    distinct = keys[0] if len(keys) == 1 else sql.SQL("({})").format(sql.SQL(", ").join(keys))
    statement = sql.SQL("SELECT count(*) > count(DISTINCT {}) FROM {} WHERE {}").format(
        distinct,
        ident(*stage),
        sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(ident(name)) for name in primary_key),
    )
    row = conn.execute(statement).fetchone()
    return bool(row and row[0])


def quarantine_duplicates(
    conn: psycopg.Connection[Any],
    stage: tuple[str, ...],
    table: str,
    columns: Sequence[SourceColumn],
    primary_key: Sequence[str],
    *,
    run_id: str,
    batch_id: str,
) -> QuarantineCounts:
    """Move every row of each primary key value found more than once in ``stage`` (text) to quarantine.

    Keys are compared as their warehouse type; a row whose key is null or does not parse is left
    for :func:`quarantine_invalid`. The reason names the key columns and how many rows had the
    value.
    """
    from psycopg import sql

    types = {col.name: col.pg_type for col in columns}
    key_values = [parsed(name, types[name]) for name in primary_key]
    names = [ident(f"k{i}") for i in range(len(primary_key))]
    prefix = f"{', '.join(primary_key)}: duplicate primary key ("
    reason = sql.SQL("concat({}, n, {})").format(sql.Literal(prefix), sql.Literal(" rows in the batch)"))
    statement = sql.SQL(
        "WITH dup AS (SELECT {keys}, count(*) AS n FROM {stage} AS s WHERE {parses} GROUP BY {positions} "
        "HAVING count(*) > 1), "
        "bad AS (DELETE FROM {stage} AS s USING dup AS d WHERE {match} RETURNING {raw_row} AS raw_row, d.n), "
        "numbered AS (SELECT raw_row, n, row_number() OVER (PARTITION BY raw_row) AS copy FROM bad), "
        "kept AS (INSERT INTO {target} (run_id, batch_id, reason, detail, raw_row, row_hash) "
        "SELECT {run}, {batch}, {reason}, {detail}, raw_row, md5(raw_row::text || '#' || copy) FROM numbered "
        "ON CONFLICT (row_hash, reason) DO NOTHING) "
        "SELECT {reason}, count(*) FROM bad GROUP BY n"
    ).format(
        keys=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(expr, name) for expr, name in zip(key_values, names, strict=True)
        ),
        stage=ident(*stage),
        raw_row=sql.SQL(_RAW_ROW),
        parses=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(expr) for expr in key_values),
        positions=sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(primary_key))),
        match=sql.SQL(" AND ").join(
            sql.SQL("{} = d.{}").format(expr, name) for expr, name in zip(key_values, names, strict=True)
        ),
        target=ident(SCHEMA, table),
        run=sql.Literal(run_id),
        batch=sql.Literal(batch_id),
        reason=reason,
        detail=sql.Literal(DUPLICATE_DETAIL),
    )
    return _counted(conn, statement)


def _counted(conn: psycopg.Connection[Any], statement: sql.Composed) -> QuarantineCounts:
    """Run a quarantine ``statement`` that returns (reason, rows moved) and add up its counts."""
    counts = QuarantineCounts()
    for found_reason, count in conn.execute(statement).fetchall():
        counts.add(found_reason, count)
    return counts


def quarantined_rows(
    conn: psycopg.Connection[Any], table: str, *, batch_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Quarantined rows of ``raw_quarantine.<table>`` (of one batch), newest first."""
    from psycopg import sql

    where = sql.SQL("WHERE batch_id = {}").format(sql.Literal(batch_id)) if batch_id else sql.SQL("")
    cur = conn.execute(
        sql.SQL(
            "SELECT run_id, batch_id, reason, detail, raw_row, quarantined_at FROM {} {} "
            "ORDER BY _quarantine_id DESC LIMIT {}"
        ).format(ident(SCHEMA, table), where, sql.Literal(int(limit)))
    )
    names = [col.name for col in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
