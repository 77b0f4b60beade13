"""Where an incremental read starts (the lookback) and how far its cursor may move (the commit horizon).

A source transaction that stamps a row ``updated_at = now()`` at ``t0`` but commits after a
load read the table is invisible to that load, and once the cursor has moved past ``t0`` a
plain ``cursor >= last`` never reads the row. Two defences, both free of duplicates because
the merge counts a re-read row as unchanged and leaves it as it is:

- the **lookback**: every incremental read starts this far behind the stored cursor
  (``lookback:`` on a source table). A duration for timestamp and date cursors (default
  :data:`DEFAULT_TIME_LOOKBACK`), a number of units for integer cursors (default 0: integer
  cursors are usually insert-only identities, and how many ids a slow transaction spans has no
  general answer), nothing for other types (text cursors cannot be shifted);
- the **commit horizon** (PostgreSQL sources, ``timestamptz`` cursors): the stored cursor never
  passes the start of the oldest transaction open in the source database when the read began,
  so the next read starts before any row such a transaction may still commit. It needs to see
  the other sessions' ``pg_stat_activity.xact_start``: a role sees its own sessions, and
  others' only with ``pg_read_all_stats``; when some session is hidden, the horizon is unknown
  and only the lookback protects (see :meth:`PostgresConnector.commit_horizon`).

The arithmetic runs in the warehouse (UTC session), on the cursor's warehouse type, so the
shifted value is text in the same form as the stored cursor, for every connector.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from scrollintel.ingest.sqltypes import type_sql

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

#: Default lookback of timestamp and date cursors: longer than an application transaction and the
#: clock skew of the servers that stamp rows, short next to an hourly schedule (the re-read rows
#: of five minutes cost little and change nothing).
DEFAULT_TIME_LOOKBACK = timedelta(minutes=5)
TIME_TYPES = frozenset({"timestamptz", "timestamp", "date"})
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
_WHOLE_NUMERIC = re.compile(r"numeric\(\d+,0\)")
_NOT_SHIFTED = "0 (a value of this type cannot be shifted)"

CursorKind = Literal["time", "integer", "other"]
Lookback = timedelta | int


@runtime_checkable
class CommitHorizon(Protocol):
    """Optional connector extension: a time no transaction that may still commit started before."""

    def commit_horizon(self) -> datetime | None: ...


def cursor_kind(pg_type: str) -> CursorKind:
    """``time`` (a duration can be subtracted), ``integer`` (a number of units) or ``other``."""
    if pg_type in TIME_TYPES:
        return "time"
    if pg_type in INTEGER_TYPES or _WHOLE_NUMERIC.fullmatch(pg_type):
        return "integer"
    return "other"


def lookback_problem(lookback: Lookback | None, pg_type: str) -> str | None:
    """Why ``lookback`` does not fit a cursor of warehouse type ``pg_type``, or None when it does."""
    if lookback is None or lookback == 0:
        return None
    kind = cursor_kind(pg_type)
    if isinstance(lookback, timedelta):
        if kind == "time":
            return None
        hint = "a whole number of ids such as 1000" if kind == "integer" else _NOT_SHIFTED
        return f"a duration does not fit a {pg_type} cursor; use {hint}"
    if kind == "integer":
        return None
    hint = "a duration such as 'PT5M'" if kind == "time" else _NOT_SHIFTED
    return f"a number of units does not fit a {pg_type} cursor; use {hint}"


def effective_lookback(lookback: Lookback | None, pg_type: str) -> Lookback:
    """The configured lookback, or the default of the cursor's kind."""
    if lookback is not None:
        return lookback
    return DEFAULT_TIME_LOOKBACK if cursor_kind(pg_type) == "time" else 0


def read_from(conn: psycopg.Connection[Any], value: str | None, pg_type: str, lookback: Lookback) -> str | None:
    """The stored cursor ``value`` moved back by ``lookback``: where the next read starts (as text)."""
    from psycopg import sql

    if value is None or not lookback:
        return value
    if isinstance(lookback, timedelta):
        # back to the cursor's own type: a date cursor starts at the day before, not at a timestamp
        query = sql.SQL("SELECT ({0}::{1} - {2}::interval)::{1}::text").format(
            sql.Literal(value), type_sql(pg_type), sql.Literal(lookback)
        )
    else:  # numeric: no overflow near the type's bounds, and the text reads back as the column's type
        query = sql.SQL("SELECT ({}::numeric - {})::text").format(sql.Literal(value), sql.Literal(lookback))
    row = conn.execute(query).fetchone()
    return None if row is None else row[0]


def bounded(
    conn: psycopg.Connection[Any],
    cursor_max: str | None,
    *,
    before: str | None,
    horizon: datetime | None,
    pg_type: str,
    label: str,
) -> str | None:
    """``cursor_max`` held at the commit ``horizon`` (never behind ``before``), for ``timestamptz`` cursors."""
    if cursor_max is None or horizon is None or pg_type != "timestamptz":
        return cursor_max
    row = conn.execute(
        "SELECT greatest(%s::timestamptz, least(%s::timestamptz, %s::timestamptz))::text",
        (before, cursor_max, horizon),
    ).fetchone()
    value = cursor_max if row is None else row[0]
    if value != cursor_max:
        log.info(
            "%s: cursor held at %s (read up to %s): a source transaction open since then may still commit rows",
            label,
            value,
            cursor_max,
        )
    return value
