"""Batch quality gate: the rows a load landed, validated with Great Expectations 1.x.

The suite of a raw table is ``expectations/<raw table>.json`` (e.g.
``expectations/raw.shop__orders.json``), a GX 1.x suite document::

    {"name": "raw.shop__orders",
     "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}}]}

The batch is the rows of the raw table whose ``_run_id`` is the current run (inserted or
changed by it). Without a suite, or without rows, there is nothing to validate. The suite is
read and checked by :func:`scrollintel.quality.suites.load_suite`; expectations that only hold
for the whole table (volume, freshness, cross-table checks: ``meta.scrollintel``) are left to
the quality checkpoint after dbt (:mod:`scrollintel.quality.runner`). The full
result goes to ``<object store>/quality/ingest/<raw table>/<run>.json``; a failure raises
:class:`~scrollintel.ingest.errors.QualityGateFailed` naming the failing expectations, how many
rows failed each, and that file.

GX is imported inside :func:`validate_batch` only (it takes seconds) with its logger at WARNING
and its usage statistics off.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel import settings
from scrollintel.db import normalise_url
from scrollintel.ingest.errors import QualityGateFailed

if TYPE_CHECKING:
    from scrollintel.quality.suites import Suite

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = "expectations"
MAX_LISTED_FAILURES = 10


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
        return {
            "suite": self.suite,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "result_path": self.result_path,
            "rows": self.rows,
        }


def suite_path(raw_table: str, root: Path | None = None) -> Path:
    """Where the suite guarding ``raw_table`` lives (it may not exist)."""
    return (root or settings.project_root()) / EXPECTATIONS_DIR / f"{raw_table}.json"


def results_path(raw_table: str, run_id: str) -> Path:
    """Where the full result of validating ``raw_table`` in ``run_id`` is written."""
    safe_run = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    return settings.object_store_dir() / "quality" / "ingest" / raw_table / f"{safe_run}.json"


def load_suite_document(path: Path) -> dict[str, Any]:
    """The suite JSON; :class:`QualityGateFailed` when it cannot be read (a broken gate fails loudly)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise QualityGateFailed(f"expectation suite {path} cannot be read: {err}") from err
    if not isinstance(document, dict) or not isinstance(document.get("expectations"), list):
        raise QualityGateFailed(f"expectation suite {path} must be an object with an 'expectations' list")
    return document


def _load_checked_suite(path: Path) -> Suite:
    """The checked suite at ``path``; :class:`QualityGateFailed` naming the file and key when it is invalid."""
    from scrollintel.quality.errors import SuiteError
    from scrollintel.quality.suites import load_suite

    try:
        return load_suite(path)
    except SuiteError as err:
        raise QualityGateFailed(f"expectation suite {path} is invalid:\n{err}") from err


def _describe(result: dict[str, Any]) -> str:
    config = result.get("expectation_config") or {}
    kind = config.get("type", "?")
    kwargs = {key: value for key, value in (config.get("kwargs") or {}).items() if key != "batch_id"}
    column = kwargs.pop("column", None)
    details = result.get("result") or {}
    unexpected = details.get("unexpected_count")
    where = f" on {column}" if column else ""
    args = ", ".join(f"{key}={value!r}" for key, value in sorted(kwargs.items()))
    count = f": {unexpected} unexpected row(s)" if unexpected is not None else ""
    exception = (result.get("exception_info") or {}).get("exception_message")
    problem = f": error {exception}" if exception else count
    return f"{kind}{where}" + (f" ({args})" if args else "") + problem


def validate_batch(
    warehouse_url: str, raw_table: str, run_id: str, *, suite_root: Path | None = None
) -> QualityResult | None:
    """Validate the rows ``run_id`` landed in ``raw_table``; None when there is no suite or no row.

    Raises:
        QualityGateFailed: an expectation failed (the message lists them and the result file).
    """
    path = suite_path(raw_table, suite_root)
    if not path.is_file():
        log.info("no expectation suite for %s (%s): batch gate skipped", raw_table, path)
        return None
    suite_spec = _load_checked_suite(path)
    schema, table = raw_table.split(".", 1)
    url = normalise_url(warehouse_url)

    rows = _count_batch(warehouse_url, schema, table, run_id)
    if rows == 0:
        log.info("%s: run %s landed no rows; batch gate skipped", raw_table, run_id)
        return None

    from scrollintel.quality.gxutil import RESULT_FORMAT, import_gx

    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_postgres(name="warehouse", connection_string=url)
    quoted_run = run_id.replace("'", "''")
    asset = source.add_query_asset(
        name=f"{table}_batch",
        query=f'SELECT * FROM "{schema}"."{table}" WHERE _run_id = \'{quoted_run}\'',
    )
    batch = asset.add_batch_definition_whole_table("landed").get_batch()
    suite = gx.ExpectationSuite(
        name=suite_spec.dataset,
        expectations=suite_spec.batch_expectations(),
        meta=suite_spec.document.meta,
    )
    validation = batch.validate(suite, result_format=RESULT_FORMAT)  # counts only: no row values in the file
    payload = validation.to_json_dict()
    target = results_path(raw_table, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    results = payload.get("results") or []
    failed = [_describe(item) for item in results if not item.get("success")]
    outcome = QualityResult(
        suite=str(path),
        success=bool(payload.get("success")),
        evaluated=len(results),
        failed=failed,
        result_path=str(target),
        rows=rows,
    )
    if not outcome.success:
        listed = "\n".join(f"  - {line}" for line in failed[:MAX_LISTED_FAILURES])
        more = f"\n  ... and {len(failed) - MAX_LISTED_FAILURES} more" if len(failed) > MAX_LISTED_FAILURES else ""
        raise QualityGateFailed(
            f"batch quality gate failed for {raw_table} (run {run_id}, {rows} landed row(s)): "
            f"{len(failed)} of {len(results)} expectation(s) failed\n{listed}{more}\n"
            f"suite: {path}\nfull result: {target}"
        )
    log.info("%s: %d expectation(s) passed on %d landed row(s)", raw_table, len(results), rows)
    return outcome


def _count_batch(url: str, schema: str, table: str, run_id: str) -> int:
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
