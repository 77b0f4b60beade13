"""What a gate run found: per dataset, per expectation; read from GX results, summarised for people.

No row values leave the warehouse through a gate: results are requested with
``partial_unexpected_count = 0`` (counts and aggregates only), so a failing check on a raw table
holding personal data reports *how many* rows failed, never *which* values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrollintel.quality.docs import docs_dir, docs_page_url

#: At most this many failing expectations are listed in an error message (the file has all).
MAX_LISTED_FAILURES = 10
#: Observed values longer than this are shortened in messages (the stored result keeps them whole).
MAX_SHOWN_VALUE = 120
#: Expectations whose observed value *is* the number of unexpected rows.
ROW_COUNT_OBSERVERS = frozenset({"unexpected_rows_expectation"})


@dataclass(frozen=True)
class GateContext:
    """Who runs the gate: the Airflow task (dag, run, task, try), or a manual run outside Airflow."""

    run_id: str
    dag_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None

    @classmethod
    def manual(cls, at: datetime | None = None) -> GateContext:
        """A run outside Airflow (CLI, tests): ``manual__<UTC time>``."""
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        return cls(run_id=f"manual__{moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}")

    @property
    def label(self) -> str:
        """``dag/run/task try n``, or the run id alone outside Airflow."""
        if self.dag_id is None:
            return self.run_id
        return f"{self.dag_id}/{self.run_id}/{self.task_id} try {self.try_number}"

    def file_stem(self) -> str:
        """A file-name-safe stem naming this attempt: ``<dag>__<run>__<task>__try<n>``."""
        parts = [self.dag_id, self.run_id, self.task_id, f"try{self.try_number}" if self.try_number else None]
        return safe_name("__".join(part for part in parts if part))


def safe_name(text: str) -> str:
    """``text`` with anything but letters, digits, ``_ . -`` replaced by ``_`` (file and URL safe)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation result."""

    position: int
    expectation_type: str
    kwargs: dict[str, Any]
    success: bool
    column: str | None = None
    description: str | None = None
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    exception_message: str | None = None
    bounds_note: str | None = None

    @classmethod
    def from_gx(cls, position: int, result: dict[str, Any]) -> ExpectationOutcome:
        """Read one entry of a GX validation result's ``results`` (its JSON dict)."""
        config = result.get("expectation_config") or {}
        kwargs = {key: value for key, value in (config.get("kwargs") or {}).items() if key != "batch_id"}
        details = result.get("result") or {}
        kind = str(config.get("type", "?"))
        unexpected = details.get("unexpected_count")
        if unexpected is None and kind in ROW_COUNT_OBSERVERS and isinstance(details.get("observed_value"), int):
            unexpected = details["observed_value"]
        meta = config.get("meta") or {}
        return cls(
            position=position,
            expectation_type=kind,
            kwargs=kwargs,
            success=bool(result.get("success")),
            column=kwargs.get("column") if isinstance(kwargs.get("column"), str) else None,
            description=config.get("description"),
            observed_value=details.get("observed_value"),
            unexpected_count=unexpected,
            unexpected_percent=details.get("unexpected_percent"),
            element_count=details.get("element_count"),
            exception_message=_exception_message(result.get("exception_info")),
            bounds_note=meta.get("bounds") if isinstance(meta.get("bounds"), str) else None,
        )

    def describe(self) -> str:
        """One line: ``expect_x on col (min_value=1): observed 12, 3 unexpected row(s) of 100``."""
        shown = {key: value for key, value in self.kwargs.items() if key not in ("column", "unexpected_rows_query")}
        args = ", ".join(f"{key}={_short(value)}" for key, value in sorted(shown.items()))
        head = self.expectation_type + (f" on {self.column}" if self.column else "") + (f" ({args})" if args else "")
        if self.description:
            head += f" [{self.description}]"
        if self.exception_message:
            return f"{head}: could not be evaluated: {_short(self.exception_message)}"
        facts = []
        if self.observed_value is not None and self.expectation_type not in ROW_COUNT_OBSERVERS:
            facts.append(f"observed {_short(self.observed_value)}")
        if self.unexpected_count is not None:
            of = f" of {self.element_count}" if self.element_count is not None else ""
            facts.append(f"{self.unexpected_count} unexpected row(s){of}")
        if self.bounds_note:
            facts.append(self.bounds_note)
        return head + (": " + "; ".join(facts) if facts else "")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def _exception_message(info: Any) -> str | None:
    """GX puts one exception either at the top of ``exception_info`` or under each failed metric's id."""
    if not isinstance(info, dict):
        return None
    message = info.get("exception_message")
    if isinstance(message, str) and message:
        return message.splitlines()[0]
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"]).splitlines()[0]
    return None


@dataclass
class DatasetOutcome:
    """One dataset validated by one gate run."""

    dataset: str
    suite_path: str
    success: bool
    row_count: int | None
    results: list[ExpectationOutcome]
    result_path: str
    started_at: datetime
    finished_at: datetime
    docs_path: str | None = None

    @property
    def evaluated(self) -> int:
        """Expectations evaluated."""
        return len(self.results)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        """The failed expectations, in suite order."""
        return [item for item in self.results if not item.success]

    def failure_lines(self) -> list[str]:
        """``  - <failed expectation>`` for the first :data:`MAX_LISTED_FAILURES` failures, then how many more."""
        failures = self.failures
        lines = [f"  - {failure.describe()}" for failure in failures[:MAX_LISTED_FAILURES]]
        if len(failures) > MAX_LISTED_FAILURES:
            lines.append(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more")
        return lines


@dataclass
class GateOutcome:
    """Everything one gate run found."""

    gate_run_id: str
    context: GateContext
    as_of: datetime
    datasets: list[DatasetOutcome] = field(default_factory=list)
    docs_index: str | None = None

    @property
    def success(self) -> bool:
        """Every dataset passed."""
        return all(item.success for item in self.datasets)

    @property
    def failed_datasets(self) -> list[DatasetOutcome]:
        """The datasets that failed, in the order they were given."""
        return [item for item in self.datasets if not item.success]

    def summary_line(self) -> str:
        """``quality gate passed: 3 dataset(s), 41 expectation(s)`` (or failed: which datasets)."""
        expectations = sum(item.evaluated for item in self.datasets)
        if self.success:
            return f"quality gate passed: {len(self.datasets)} dataset(s), {expectations} expectation(s)"
        failed = ", ".join(item.dataset for item in self.failed_datasets)
        return f"quality gate failed for {failed} ({len(self.datasets)} dataset(s), {expectations} expectation(s))"

    def failure_message(self) -> str:
        """The message of a failed gate: each failing dataset, its failing expectations and where the results are."""
        lines = [f"{self.summary_line()}; run {self.context.label}, as of {self.as_of.isoformat()}"]
        for item in self.failed_datasets:
            rows = f"{item.row_count} row(s)" if item.row_count is not None else "row count unknown"
            lines.append(f"{item.dataset} ({rows}): {len(item.failures)} of {item.evaluated} expectation(s) failed")
            lines += item.failure_lines()
            lines.append(f"  suite: {item.suite_path}")
            lines.append(f"  full result: {item.result_path}")
            if item.docs_path:
                lines.append(f"  data docs: {docs_page_url(item.docs_path)} ({docs_dir() / item.docs_path})")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the operator's XCom)."""
        return {
            "gate_run_id": self.gate_run_id,
            "success": self.success,
            "as_of": self.as_of.isoformat(),
            "docs_index": self.docs_index,
            "datasets": [
                {
                    "dataset": item.dataset,
                    "success": item.success,
                    "evaluated": item.evaluated,
                    "failed": len(item.failures),
                    "row_count": item.row_count,
                    "result_path": item.result_path,
                    "docs_path": item.docs_path,
                }
                for item in self.datasets
            ],
        }
