"""What a gate run reports: GX results read back, one line per failed expectation, the failure message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scrollintel.quality.outcome import DatasetOutcome, ExpectationOutcome, GateContext, GateOutcome

pytestmark = pytest.mark.unit

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _gx(kind: str, kwargs: dict[str, Any], result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "success": False,
        "expectation_config": {"type": kind, "kwargs": {**kwargs, "batch_id": "warehouse-x"}, **extra},
        "result": result,
        "exception_info": {"raised_exception": False, "exception_message": None, "exception_traceback": None},
    }


def test_column_checks_report_unexpected_rows() -> None:
    outcome = ExpectationOutcome.from_gx(
        3,
        _gx(
            "expect_column_values_to_be_unique",
            {"column": "order_id"},
            {"element_count": 6005, "unexpected_count": 10, "unexpected_percent": 0.17, "partial_unexpected_list": []},
        ),
    )

    assert (outcome.position, outcome.column, outcome.unexpected_count, outcome.element_count) == (
        3,
        "order_id",
        10,
        6005,
    )
    assert "batch_id" not in outcome.kwargs
    assert outcome.describe() == "expect_column_values_to_be_unique on order_id: 10 unexpected row(s) of 6005"


def test_unexpected_rows_queries_count_their_rows_and_hide_the_sql() -> None:
    outcome = ExpectationOutcome.from_gx(
        0,
        _gx(
            "unexpected_rows_expectation",
            {"unexpected_rows_query": "SELECT * FROM {batch} WHERE x"},
            {"observed_value": 42},
            description="every order's customer is known",
        ),
    )

    assert outcome.unexpected_count == 42
    assert outcome.describe() == "unexpected_rows_expectation [every order's customer is known]: 42 unexpected row(s)"


def test_aggregates_report_the_observed_value_and_the_bounds_basis() -> None:
    outcome = ExpectationOutcome.from_gx(
        0,
        _gx(
            "expect_table_row_count_to_be_between",
            {"min_value": 3000, "max_value": 12000},
            {"observed_value": 600},
            meta={"bounds": "median of the last 3 successful runs: 6000 rows"},
        ),
    )

    assert outcome.describe() == (
        "expect_table_row_count_to_be_between (max_value=12000, min_value=3000): observed 600; "
        "median of the last 3 successful runs: 6000 rows"
    )


def test_an_expectation_that_could_not_run_says_why() -> None:
    result = _gx("expect_column_mean_to_be_between", {"column": "amount"}, {})
    result["exception_info"] = {
        "metric-id": {"exception_message": 'column "amount" does not exist\nLINE 1: ...', "exception_traceback": "..."}
    }

    outcome = ExpectationOutcome.from_gx(0, result)

    assert outcome.describe() == (
        'expect_column_mean_to_be_between on amount: could not be evaluated: column "amount" does not exist'
    )


def _dataset(name: str, failures: int) -> DatasetOutcome:
    results = [
        ExpectationOutcome(position=i, expectation_type="expect_column_values_to_not_be_null", kwargs={}, success=True)
        for i in range(3)
    ] + [
        ExpectationOutcome(
            position=10 + i,
            expectation_type="expect_column_values_to_not_be_null",
            kwargs={"column": f"c{i}"},
            column=f"c{i}",
            success=False,
            unexpected_count=i + 1,
        )
        for i in range(failures)
    ]
    return DatasetOutcome(
        dataset=name,
        suite_path=f"expectations/{name}.json",
        success=not failures,
        row_count=100,
        results=results,
        result_path=f"/objects/{name}.json",
        started_at=AT,
        finished_at=AT,
        docs_path=f"validations/{name}.html" if failures else None,
    )


def test_the_failure_message_names_datasets_expectations_and_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", "/state")
    gate = GateOutcome(
        gate_run_id="g",
        context=GateContext(run_id="r", dag_id="transform_warehouse", task_id="quality_gate", try_number=2),
        as_of=AT,
        datasets=[_dataset("marts.customers", 0), _dataset("marts.orders", 12)],
    )

    lines = gate.failure_message().splitlines()

    assert lines[0] == (
        "quality gate failed for marts.orders (2 dataset(s), 18 expectation(s)); "
        "run transform_warehouse/r/quality_gate try 2, as of 2026-01-01T00:00:00+00:00"
    )
    assert lines[1] == "marts.orders (100 row(s)): 12 of 15 expectation(s) failed"
    assert lines[2] == "  - expect_column_values_to_not_be_null on c0: 1 unexpected row(s)"
    assert lines[12] == "  ... and 2 more"
    assert lines[13:] == [
        "  suite: expectations/marts.orders.json",
        "  full result: /objects/marts.orders.json",
        "  data docs: /scrollintel/quality/docs/validations/marts.orders.html "
        "(/state/quality/data-docs/validations/marts.orders.html)",
    ]
    assert gate.as_dict()["datasets"][1] == {
        "dataset": "marts.orders",
        "success": False,
        "evaluated": 15,
        "failed": 12,
        "row_count": 100,
        "result_path": "/objects/marts.orders.json",
        "docs_path": "validations/marts.orders.html",
    }


def test_file_stems_are_safe_for_every_airflow_run_id() -> None:
    gate = GateContext(
        run_id="manual__2026-01-01T00:00:00+00:00", dag_id="transform_warehouse", task_id="quality_gate", try_number=1
    )

    assert gate.file_stem() == "transform_warehouse__manual__2026-01-01T00_00_00_00_00__quality_gate__try1"
    assert GateContext.manual(AT).run_id == "manual__2026-01-01T00:00:00.000000Z"
