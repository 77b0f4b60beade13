"""Rows of text values -> chunk CSV (the dialect in :mod:`scrollintel.ingest.connectors.base`).

Connectors that receive Python values (MySQL rows, JSON records) render each value as the text
PostgreSQL parses for the column's warehouse type, then hand whole chunks to pyarrow's CSV
writer: it quotes every string and leaves nulls as unquoted empty fields, which is exactly the
``NULL`` / ``""`` distinction COPY makes (Python 3.11's ``csv`` module cannot write it), and it
runs in C. The rows are transposed into columns with ``zip``, also in C.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

Row = Sequence[str | None]


def write_options() -> Any:
    """pyarrow CSV writer options of the chunk dialect (no header, strings quoted, nulls bare)."""
    import pyarrow.csv as pacsv

    return pacsv.WriteOptions(include_header=False, delimiter=",", quoting_style="needed")


def table_to_csv(table: pa.Table) -> bytes:
    """A table whose columns pyarrow can write as text (see :mod:`.files` for the conversions)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if table.num_rows == 0:
        return b""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=write_options())
    return sink.getvalue().to_pybytes()


def rows_to_csv(rows: Sequence[Row], width: int) -> bytes:
    """``rows`` (each ``width`` text values or None) as chunk CSV bytes."""
    import pyarrow as pa

    if not rows:
        return b""
    columns = list(zip(*rows, strict=True)) if width else []
    if len(columns) != width:
        raise ValueError(f"rows have {len(columns)} values, expected {width}")
    arrays = []
    for column in columns:
        try:
            arrays.append(pa.array(column, type=pa.string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Slow path for a column the caller did not render: bytes that are not UTF-8, numbers.
            arrays.append(pa.array([as_text(value) for value in column], type=pa.string()))
    return table_to_csv(pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(width)]))


def as_text(value: Any) -> str | None:
    """Fallback rendering of a value no column rule covered: bytes as bytea hex, anything else as str."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def json_text(value: Any) -> str:
    """Compact JSON text of a nested value (objects, arrays) for a jsonb column."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def chunk_rows_by_cursor(batches: Iterable[Sequence[Row]], chunk_rows: int, key: int | None) -> Iterator[list[Row]]:
    """Regroup ``batches`` of rows ordered by column ``key`` into chunks of about ``chunk_rows``.

    A chunk never ends in the middle of a run of equal cursor values: the loader advances the
    cursor to the chunk's largest value and the next read asks for values strictly greater, so
    splitting a run would lose its second half. A run longer than ``chunk_rows`` becomes one
    larger chunk (logged). Without a cursor (``key`` None) chunks are cut at ``chunk_rows``.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    pending: list[Row] = []
    for batch in batches:
        pending.extend(batch)
        while len(pending) > chunk_rows:
            cut = _cut(pending, chunk_rows, key)
            if cut is None:
                break  # a run of equal values continues past what has been read so far
            if cut > chunk_rows:
                log.warning("%d rows share one cursor value: emitting them as one chunk", cut)
            yield pending[:cut]
            pending = pending[cut:]
    while pending:
        cut = _cut(pending, chunk_rows, key) if len(pending) > chunk_rows else len(pending)
        cut = cut or len(pending)
        yield pending[:cut]
        pending = pending[cut:]


def _cut(rows: list[Row], chunk_rows: int, key: int | None) -> int | None:
    """Where to end the next chunk of ``rows`` (more than ``chunk_rows`` of them); None: read more."""
    if key is None:
        return chunk_rows
    last = rows[chunk_rows - 1][key]
    if rows[chunk_rows][key] != last:
        return chunk_rows
    start = chunk_rows - 1
    while start > 0 and rows[start - 1][key] == last:
        start -= 1
    if start > 0:
        return start
    end = chunk_rows
    while end < len(rows) and rows[end][key] == last:
        end += 1
    return end if end < len(rows) else None
