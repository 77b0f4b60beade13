"""Read-only queries for the Quality page and its JSON API, and for other capabilities.

The page's functions take the warehouse URL (the web app's runtime role may SELECT the quality
tables). Results are pydantic models, ready to return from FastAPI routes:

- :func:`latest_by_dataset`: each dataset's newest gate run, with the failing expectations of
  that run and its counts over the window; datasets with a suite but no run yet are listed too;
- :func:`failure_trend`: per UTC day of the window, dataset validations run and failed;
- :func:`docs_history`: the gate runs that have a data docs page, newest first;
- :func:`latest_outcomes`: the latest verdict of given datasets, on a connection the caller
  holds (the lineage API reads it inside its own transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from scrollintel.quality import store
from scrollintel.quality.outcome import ROW_COUNT_OBSERVERS
from scrollintel.quality.suites import all_suite_paths

if TYPE_CHECKING:
    import psycopg

#: Days the trend and the per-dataset counts look back.
DEFAULT_DAYS = 30


class FailedExpectation(BaseModel):
    """One expectation that failed in a dataset's latest run."""

    expectation_type: str
    column: str | None
    description: str | None
    kwargs: dict[str, Any]
    observed_value: Any = None
    unexpected_count: int | None
    element_count: int | None
    exception_message: str | None

    def facts(self) -> str:
        """``observed 600 (expected 3000 to 12000)``, ``6 unexpected rows of 1,003``, or why it could not run."""
        if self.exception_message:
            return f"could not be evaluated: {_short(self.exception_message, 160)}"
        parts = []
        if self.observed_value is not None and self.expectation_type not in ROW_COUNT_OBSERVERS:
            parts.append(f"observed {_short(self.observed_value)}")
        if self.unexpected_count is not None:
            rows = f"{self.unexpected_count:,} unexpected row{'' if self.unexpected_count == 1 else 's'}"
            parts.append(rows + (f" of {self.element_count:,}" if self.element_count is not None else ""))
        low, high = self.kwargs.get("min_value"), self.kwargs.get("max_value")
        if low is not None or high is not None:
            expected = f"{_short(low) if low is not None else '…'} to {_short(high) if high is not None else '…'}"
            parts.append(f"expected {expected}")
        return "; ".join(parts) or "failed"


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DatasetStatus(BaseModel):
    """A guarded dataset and the outcome of its latest gate run."""

    dataset: str
    state: Literal["passed", "failed", "not_run"]
    has_suite: bool = Field(description="expectations/<dataset>.json exists")
    checked_at: datetime | None = None
    row_count: int | None = None
    evaluated: int | None = None
    failed: int | None = Field(default=None, description="failed expectations in the latest run")
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None
    result_path: str | None = None
    docs_path: str | None = Field(default=None, description="the run's data docs page, relative to the docs site")
    runs_in_window: int = 0
    failed_runs_in_window: int = 0
    failures: list[FailedExpectation] = Field(default_factory=list)


class TrendPoint(BaseModel):
    """One UTC day of gate runs: dataset validations run and failed, failed expectations."""

    day: date
    runs: int
    failed: int
    failed_expectations: int


_LATEST = (
    "SELECT DISTINCT ON (dataset) id, dataset, success, evaluated, failed, row_count, dag_id, run_id, task_id, "
    f"try_number, result_path, docs_path, finished_at FROM {store.RUN_TABLE} "
    "ORDER BY dataset, finished_at DESC, id DESC"
)
_FAILURES = (
    "SELECT quality_run_id, expectation_type, column_name, description, kwargs, observed_value, unexpected_count, "
    f"element_count, exception_message FROM {store.RESULT_TABLE} "
    "WHERE quality_run_id = ANY(%s) AND NOT success ORDER BY quality_run_id, position"
)
_WINDOW_COUNTS = (
    "SELECT dataset, count(*), count(*) FILTER (WHERE NOT success) "
    f"FROM {store.RUN_TABLE} WHERE finished_at >= %s GROUP BY dataset"
)
_TREND = (
    "SELECT (finished_at AT TIME ZONE 'UTC')::date AS day, count(*), count(*) FILTER (WHERE NOT success), "
    f"coalesce(sum(failed), 0) FROM {store.RUN_TABLE} WHERE finished_at >= %s GROUP BY 1 ORDER BY 1"
)


def window_start(days: int, now: datetime | None = None) -> datetime:
    """Midnight UTC ``days - 1`` days before today: a window of ``days`` whole UTC days."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def latest_by_dataset(
    url: str, *, days: int = DEFAULT_DAYS, now: datetime | None = None, suite_root: Path | None = None
) -> list[DatasetStatus]:
    """Every dataset with a gate run or a suite, sorted by name: its latest run and what failed in it."""
    since = window_start(days, now)
    with store.connect(url) as conn:
        latest = conn.execute(_LATEST).fetchall()
        failed_ids = [row[0] for row in latest if not row[2]]
        failures: dict[int, list[FailedExpectation]] = {}
        if failed_ids:
            for row in conn.execute(_FAILURES, (failed_ids,)).fetchall():
                failures.setdefault(row[0], []).append(
                    FailedExpectation(
                        expectation_type=row[1],
                        column=row[2],
                        description=row[3],
                        kwargs=row[4] or {},
                        observed_value=row[5],
                        unexpected_count=row[6],
                        element_count=row[7],
                        exception_message=row[8],
                    )
                )
        counts = {row[0]: (int(row[1]), int(row[2])) for row in conn.execute(_WINDOW_COUNTS, (since,)).fetchall()}
    suites = {path.stem for path in all_suite_paths(suite_root)}
    statuses = {
        row[1]: DatasetStatus(
            dataset=row[1],
            state="passed" if row[2] else "failed",
            has_suite=row[1] in suites,
            evaluated=row[3],
            failed=row[4],
            row_count=row[5],
            dag_id=row[6],
            run_id=row[7],
            task_id=row[8],
            try_number=row[9],
            result_path=row[10],
            docs_path=row[11],
            checked_at=row[12],
            runs_in_window=counts.get(row[1], (0, 0))[0],
            failed_runs_in_window=counts.get(row[1], (0, 0))[1],
            failures=failures.get(row[0], []),
        )
        for row in latest
    }
    for name in suites - statuses.keys():
        statuses[name] = DatasetStatus(dataset=name, state="not_run", has_suite=True)
    return [statuses[name] for name in sorted(statuses)]


def failure_trend(url: str, *, days: int = DEFAULT_DAYS, now: datetime | None = None) -> list[TrendPoint]:
    """One point per UTC day of the window (oldest first), days without runs included as zeros."""
    since = window_start(days, now)
    with store.connect(url) as conn:
        rows = {row[0]: row for row in conn.execute(_TREND, (since,)).fetchall()}
    points = []
    for offset in range(days):
        day = since.date() + timedelta(days=offset)
        row = rows.get(day)
        points.append(
            TrendPoint(
                day=day,
                runs=int(row[1]) if row else 0,
                failed=int(row[2]) if row else 0,
                failed_expectations=int(row[3]) if row else 0,
            )
        )
    return points


class DocsRun(BaseModel):
    """A dataset validated by a gate run, with its data docs page."""

    dataset: str
    success: bool
    evaluated: int
    failed: int
    dag_id: str | None
    run_id: str
    task_id: str | None
    try_number: int | None
    finished_at: datetime
    docs_path: str


_DOCS_HISTORY = (
    "SELECT dataset, success, evaluated, failed, dag_id, run_id, task_id, try_number, finished_at, docs_path "
    f"FROM {store.RUN_TABLE} WHERE docs_path IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT %s"
)


def docs_history(url: str, *, limit: int = 300) -> list[DocsRun]:
    """The newest ``limit`` gate runs that recorded a data docs page, newest first."""
    with store.connect(url) as conn:
        rows = conn.execute(_DOCS_HISTORY, (limit,)).fetchall()
    return [
        DocsRun(
            dataset=row[0],
            success=row[1],
            evaluated=row[2],
            failed=row[3],
            dag_id=row[4],
            run_id=row[5],
            task_id=row[6],
            try_number=row[7],
            finished_at=row[8],
            docs_path=row[9],
        )
        for row in rows
    ]


class LatestOutcome(BaseModel):
    """The verdict of a dataset's latest gate run."""

    dataset: str
    success: bool
    checked_at: datetime


_LATEST_OUTCOMES = (
    f"SELECT DISTINCT ON (dataset) dataset, success, finished_at FROM {store.RUN_TABLE} "
    "WHERE dataset = ANY(%s) ORDER BY dataset, finished_at DESC"
)


def latest_outcomes(conn: psycopg.Connection[Any], datasets: Sequence[str]) -> list[LatestOutcome]:
    """The latest verdict of each of ``datasets`` that a gate has judged, sorted by dataset.

    Empty when the quality tables do not exist (the warehouse's migrations have not run).
    """
    row = conn.execute("SELECT to_regclass(%s)", (store.RUN_TABLE,)).fetchone()
    if row is None or row[0] is None:
        return []
    rows = conn.execute(_LATEST_OUTCOMES, (list(datasets),)).fetchall()
    return [LatestOutcome(dataset=row[0], success=row[1], checked_at=row[2]) for row in rows]
