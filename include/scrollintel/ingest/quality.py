"""Batch quality gate: the rows a load landed, validated against their raw table's suite.

The suite of a raw table is ``expectations/<raw table>.json`` (e.g.
``expectations/raw.shop__orders.json``), read and checked by
:func:`scrollintel.quality.suites.load_suite` like every suite. The batch is the rows of the raw
table whose ``_run_id`` is the current run (inserted or changed by it). Without a suite, or
without rows, there is nothing to validate.

The quality capability validates the batch (:func:`scrollintel.quality.runner.validate_rows`):
only the suite's row-level expectations apply; those that only hold for the whole table
(volume, freshness, cross-table checks: ``meta.scrollintel``) are left to the quality checkpoint
after dbt. The full result goes to ``<object store>/quality/ingest/<raw table>/<run>.json``; a
failure raises :class:`~scrollintel.quality.errors.QualityGateFailed` naming the failing
expectations, how many rows failed each, and that file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrollintel import settings
from scrollintel.quality.errors import QualityGateFailed, SuiteError
from scrollintel.quality.outcome import safe_name
from scrollintel.quality.suites import Suite, load_suite, suite_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QualityResult:
    """Outcome of one batch validation."""

    suite: str
    success: bool
    evaluated: int
    failed: list[str] = field(default_factory=list)
    result_path: str = ""
    rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (part of the ingestion task's XCom)."""
        return {
            "suite": self.suite,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "result_path": self.result_path,
            "rows": self.rows,
        }


def results_path(raw_table: str, run_id: str) -> Path:
    """Where the full result of validating ``raw_table`` in ``run_id`` is written."""
    return settings.object_store_dir() / "quality" / "ingest" / raw_table / f"{safe_name(run_id)}.json"


def _load_checked_suite(path: Path) -> Suite:
    """The checked suite at ``path``; :class:`QualityGateFailed` naming the file and key when it is invalid."""
    try:
        return load_suite(path)
    except SuiteError as err:
        raise QualityGateFailed(f"expectation suite {path} is invalid:\n{err}") from err


def validate_batch(
    warehouse_url: str, raw_table: str, run_id: str, *, suite_root: Path | None = None
) -> QualityResult | None:
    """Validate the rows ``run_id`` landed in ``raw_table``; None when there is no suite or no row.

    Raises:
        QualityGateFailed: the suite is invalid, or an expectation failed (the message lists
            them and the result file).
    """
    path = suite_path(raw_table, suite_root)
    if not path.is_file():
        log.info("no expectation suite for %s (%s): batch gate skipped", raw_table, path)
        return None
    suite = _load_checked_suite(path)
    schema, table = raw_table.split(".", 1)

    rows = _count_batch(warehouse_url, schema, table, run_id)
    if rows == 0:
        log.info("%s: run %s landed no rows; batch gate skipped", raw_table, run_id)
        return None

    from scrollintel.quality.runner import validate_rows

    quoted_run = run_id.replace("'", "''")
    checked = validate_rows(
        suite,
        warehouse_url=warehouse_url,
        query=f'SELECT * FROM "{schema}"."{table}" WHERE _run_id = \'{quoted_run}\'',
        row_count=rows,
        result_path=results_path(raw_table, run_id),
    )
    outcome = QualityResult(
        suite=str(path),
        success=checked.success,
        evaluated=checked.evaluated,
        failed=[failure.describe() for failure in checked.failures],
        result_path=checked.result_path,
        rows=rows,
    )
    if not outcome.success:
        header = (
            f"batch quality gate failed for {raw_table} (run {run_id}, {rows} landed row(s)): "
            f"{len(outcome.failed)} of {outcome.evaluated} expectation(s) failed"
        )
        lines = [header, *checked.failure_lines(), f"suite: {path}", f"full result: {outcome.result_path}"]
        raise QualityGateFailed("\n".join(lines))
    log.info("%s: %d expectation(s) passed on %d landed row(s)", raw_table, outcome.evaluated, rows)
    return outcome


def _count_batch(url: str, schema: str, table: str, run_id: str) -> int:
    """Rows of ``schema.table`` whose ``_run_id`` is ``run_id``."""
    import psycopg
    from psycopg import sql

    from scrollintel.db import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE _run_id = {}").format(
                sql.Identifier(schema, table), sql.Literal(run_id)
            )
        ).fetchone()
    return int(row[0]) if row else 0
