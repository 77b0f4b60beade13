"""The gates' tables in the warehouse: ``governance.quality_run`` and ``governance.quality_result``.

Written by the gates (one transaction per gate run: every dataset's run row and its results, or
nothing) and read back for the volume history. The warehouse reads a gate needs before GX
runs (does the table exist, how many rows, which column types) are here too. The Quality page
reads through :mod:`scrollintel.quality.query`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrollintel import warehouse
from scrollintel.warehouse import GOVERNANCE_SCHEMA

if TYPE_CHECKING:
    import psycopg

    from scrollintel.quality.outcome import DatasetOutcome, GateContext

RUN_TABLE = f"{GOVERNANCE_SCHEMA}.quality_run"
RESULT_TABLE = f"{GOVERNANCE_SCHEMA}.quality_result"


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit psycopg connection to the warehouse at ``url`` (SQLAlchemy or libpq form).

    Autocommit, so each ``conn.transaction()`` block is one real transaction.
    """
    with warehouse.connect(url, autocommit=True) as conn:
        yield conn


# -- the warehouse, before validation ---------------------------------------------------------


def column_types(conn: psycopg.Connection[Any], dataset: str) -> dict[str, str] | None:
    """``{column: data type}`` of ``dataset`` (``schema.table``); None when no such table or view exists."""
    schema, table = dataset.split(".", 1)
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows} or None


def count_rows(conn: psycopg.Connection[Any], dataset: str) -> int:
    """``count(*)`` of ``dataset``."""
    from psycopg import sql

    schema, table = dataset.split(".", 1)
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))).fetchone()
    return int(row[0]) if row else 0


# -- history -------------------------------------------------------------------------------------


def recent_row_counts(conn: psycopg.Connection[Any], dataset: str, limit: int) -> list[int]:
    """Row counts of ``dataset`` in its ``limit`` most recent successful gate runs, newest first."""
    rows = conn.execute(
        f"SELECT row_count FROM {RUN_TABLE} WHERE dataset = %s AND success AND row_count IS NOT NULL "
        "ORDER BY finished_at DESC, id DESC LIMIT %s",
        (dataset, limit),
    ).fetchall()
    return [int(row[0]) for row in rows]


# -- writes -------------------------------------------------------------------------------------


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def record_gate_run(
    conn: psycopg.Connection[Any],
    *,
    gate_run_id: str,
    context: GateContext,
    as_of: datetime,
    datasets: Sequence[DatasetOutcome],
) -> list[int]:
    """Insert one run row per dataset and one result row per expectation, in one transaction.

    Returns the ids of the run rows, in the order of ``datasets``.
    """
    ids: list[int] = []
    with conn.transaction(), conn.cursor() as cur:
        for item in datasets:
            cur.execute(
                f"INSERT INTO {RUN_TABLE} (gate_run_id, dag_id, run_id, task_id, try_number, dataset, suite_path, "
                "success, evaluated, failed, row_count, as_of, result_path, docs_path, started_at, finished_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    gate_run_id,
                    context.dag_id,
                    context.run_id,
                    context.task_id,
                    context.try_number,
                    item.dataset,
                    item.suite_path,
                    item.success,
                    item.evaluated,
                    len(item.failures),
                    item.row_count,
                    as_of,
                    item.result_path,
                    item.docs_path,
                    item.started_at,
                    item.finished_at,
                ),
            )
            row = cur.fetchone()
            assert row is not None  # RETURNING always yields the row
            run_row_id = int(row[0])
            ids.append(run_row_id)
            cur.executemany(
                f"INSERT INTO {RESULT_TABLE} (quality_run_id, dataset, position, expectation_type, column_name, "
                "kwargs, description, success, observed_value, unexpected_count, unexpected_percent, element_count, "
                "exception_message, recorded_at) "
                "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)",
                [
                    (
                        run_row_id,
                        item.dataset,
                        result.position,
                        result.expectation_type,
                        result.column,
                        _json(result.kwargs),
                        result.description,
                        result.success,
                        _json(result.observed_value),
                        result.unexpected_count,
                        result.unexpected_percent,
                        result.element_count,
                        result.exception_message,
                        item.finished_at,
                    )
                    for result in item.results
                ],
            )
    return ids
