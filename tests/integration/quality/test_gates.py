"""Quality gates on a warehouse built by dbt from the demo data: clean data passes, injected faults fail the right gate.

Each test works on its own copy of the built warehouse (see conftest) and runs the gate as the
runtime role, so the grants of migration 0004 are exercised too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel import db
from scrollintel.quality import docs
from scrollintel.quality.errors import QualityGateFailed, SuiteError
from scrollintel.quality.outcome import GateContext
from scrollintel.quality.runner import run_quality_gate
from tests.integration.quality.conftest import AS_OF, MARTS, RAW, GateWarehouse

pytestmark = pytest.mark.integration


def _gate(house: GateWarehouse, datasets: tuple[str, ...] | list[str], run: str = "r1", **kwargs: Any) -> Any:
    context = GateContext(dag_id="transform_warehouse", run_id=run, task_id="quality_gate", try_number=1)
    return run_quality_gate(list(datasets), warehouse_url=house.url, context=context, as_of=AS_OF, **kwargs)


def _failure(house: GateWarehouse, datasets: tuple[str, ...] | list[str], run: str = "bad") -> str:
    with pytest.raises(QualityGateFailed) as failed:
        _gate(house, datasets, run=run)
    return str(failed.value)


def _failed_expectations(house: GateWarehouse, run: str) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(house.conninfo) as conn:
        rows = conn.execute(
            "SELECT r.dataset, r.expectation_type, r.column_name FROM governance.quality_result r "
            "JOIN governance.quality_run q ON q.id = r.quality_run_id WHERE q.run_id = %s AND NOT r.success "
            "ORDER BY r.dataset, r.position",
            (run,),
        ).fetchall()
    return [(str(a), str(b), c) for a, b, c in rows]


def test_clean_demo_data_passes_every_suite_and_everything_is_recorded(gate_warehouse: GateWarehouse) -> None:
    datasets = (*RAW, *MARTS)

    outcome = _gate(gate_warehouse, datasets)

    assert outcome.success, outcome.failure_message()
    assert [item.dataset for item in outcome.datasets] == list(datasets)
    evaluated = sum(item.evaluated for item in outcome.datasets)
    with psycopg.connect(gate_warehouse.conninfo) as conn:
        runs = conn.execute(
            "SELECT dataset, success, evaluated, failed, row_count, dag_id, task_id, try_number, result_path, "
            "docs_path FROM governance.quality_run WHERE gate_run_id = %s ORDER BY id",
            (outcome.gate_run_id,),
        ).fetchall()
        results = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE r.success) FROM governance.quality_result r "
            "JOIN governance.quality_run q ON q.id = r.quality_run_id WHERE q.gate_run_id = %s",
            (outcome.gate_run_id,),
        ).fetchone()
        audited = conn.execute(
            "SELECT action, subject FROM governance.audit_entry WHERE action LIKE 'quality.%%' ORDER BY seq"
        ).fetchall()
        orders = conn.execute("SELECT count(*) FROM marts.orders").fetchone()
    assert [row[0] for row in runs] == list(datasets)
    assert all(row[1] and row[3] == 0 for row in runs)
    assert {row[5:8] for row in runs} == {("transform_warehouse", "quality_gate", 1)}
    assert orders is not None
    assert dict((row[0], row[4]) for row in runs)["marts.orders"] == orders[0]
    assert results == (evaluated, evaluated)
    assert audited == [("quality.gate_passed", f"dataset:{name}") for name in datasets]
    for row in runs:
        result = json.loads(Path(row[8]).read_text())
        assert result["success"] is True and result["suite_name"] == row[0]
        assert (docs.docs_dir() / row[9]).is_file(), row[9]
    assert (docs.docs_dir() / "index.html").is_file()
    # docs live in the state folder the test gave the platform
    assert docs.docs_dir().is_relative_to(gate_warehouse.state)


def test_every_kind_of_check_is_evaluated(gate_warehouse: GateWarehouse) -> None:
    """Volume, freshness, nulls, uniqueness, referential integrity, ranges and distributions all ran."""
    outcome = _gate(gate_warehouse, ("marts.orders",))

    kinds = {result.expectation_type for result in outcome.datasets[0].results}
    assert {
        "expect_table_row_count_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "unexpected_rows_expectation",
        "expect_column_values_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_median_to_be_between",
    } <= kinds
    freshness = next(r for r in outcome.datasets[0].results if r.expectation_type == "expect_column_max_to_be_between")
    assert freshness.kwargs["min_value"] == "2025-12-29T00:00:00+00:00"  # as-of 2026-01-01 minus 72 h
    assert freshness.observed_value.startswith("2025-12-31")


def test_duplicate_keys_fail_the_uniqueness_gate_of_that_dataset_only(gate_warehouse: GateWarehouse) -> None:
    gate_warehouse.execute("INSERT INTO marts.orders SELECT * FROM marts.orders ORDER BY order_id LIMIT 5")

    message = _failure(gate_warehouse, ("marts.customers", "marts.orders"))

    assert message.startswith("quality gate failed for marts.orders (2 dataset(s)")
    assert "marts.orders (6005 row(s)): 1 of " in message
    assert "expect_column_values_to_be_unique on order_id: 10 unexpected row(s) of 6005" in message
    result_file = r"\S+/quality/checkpoint/marts\.orders/transform_warehouse__bad__quality_gate__try1\.json"
    assert re.search(f"full result: {result_file}\n", message)
    assert "data docs: /scrollintel/quality/docs/validations/marts/orders/" in message
    assert _failed_expectations(gate_warehouse, "bad") == [
        ("marts.orders", "expect_column_values_to_be_unique", "order_id")
    ]


@pytest.mark.parametrize(
    ("dataset", "fault", "expected"),
    [
        (
            "marts.customers",
            "UPDATE marts.customers SET signup_at = NULL WHERE customer_id <= 7",
            "expect_column_values_to_not_be_null on signup_at: 7 unexpected row(s) of 1000",
        ),
        (
            "raw.shop__orders",
            "UPDATE raw.shop__orders SET customer_id = NULL "
            "WHERE order_id IN (SELECT order_id FROM raw.shop__orders LIMIT 4)",
            "expect_column_values_to_not_be_null on customer_id: 4 unexpected row(s) of 6000",
        ),
        (
            "marts.order_items",
            "UPDATE marts.order_items SET line_amount = NULL WHERE order_item_id IN "
            "(SELECT order_item_id FROM marts.order_items ORDER BY order_item_id LIMIT 3)",
            "expect_column_values_to_not_be_null on line_amount: 3 unexpected row(s)",
        ),
    ],
    ids=["mart-signup", "raw-customer-id", "mart-line-amount"],
)
def test_nulls_in_required_columns_fail_the_gate(
    gate_warehouse: GateWarehouse, dataset: str, fault: str, expected: str
) -> None:
    gate_warehouse.execute(fault)

    message = _failure(gate_warehouse, (dataset,))

    assert message.startswith(f"quality gate failed for {dataset} (1 dataset(s)")
    assert expected in message


def test_a_ninety_percent_volume_drop_fails_against_recent_history(gate_warehouse: GateWarehouse) -> None:
    first = _gate(gate_warehouse, ("marts.orders",), run="h1")
    for run in ("h2", "h3"):
        _gate(gate_warehouse, ("marts.orders",), run=run)
    gate_warehouse.execute("DELETE FROM marts.orders WHERE order_id % 10 <> 0")

    message = _failure(gate_warehouse, ("marts.orders",), run="drop")

    volume = next(r for r in first.datasets[0].results if r.expectation_type == "expect_table_row_count_to_be_between")
    assert volume.bounds_note == (
        "static bounds: 0 successful run(s) on record, 3 needed to judge volume against history"
    )
    assert message.startswith("quality gate failed for marts.orders (1 dataset(s)")
    assert (
        "expect_table_row_count_to_be_between (max_value=12000, min_value=3000) "
        "[volume within -50%/+100% of the median of the last 10 successful runs]: observed 600; "
        "median of the last 3 successful runs: 6000 rows" in message
    )
    assert _failed_expectations(gate_warehouse, "drop") == [
        ("marts.orders", "expect_table_row_count_to_be_between", None)
    ]
    # the failed run never becomes the baseline
    from scrollintel.quality import store

    with store.connect(gate_warehouse.url) as conn:
        assert store.recent_row_counts(conn, "marts.orders", 10) == [6000, 6000, 6000]


def test_broken_references_fail_the_referential_integrity_check(gate_warehouse: GateWarehouse) -> None:
    first_three = "SELECT customer_id FROM marts.customers ORDER BY customer_id LIMIT 3"
    orphans = gate_warehouse.scalar(f"SELECT count(*) FROM marts.orders WHERE customer_id IN ({first_three})")
    gate_warehouse.execute(f"DELETE FROM marts.customers WHERE customer_id IN ({first_three})")

    message = _failure(gate_warehouse, ("marts.orders",))

    assert orphans > 0
    assert (
        f"unexpected_rows_expectation [every order's customer_id is a customer in marts.customers]: "
        f"{orphans} unexpected row(s)" in message
    )


def test_freshness_is_measured_against_the_as_of(gate_warehouse: GateWarehouse) -> None:
    context = GateContext(run_id="late")

    with pytest.raises(QualityGateFailed) as failed:
        run_quality_gate(["marts.daily_revenue"], warehouse_url=gate_warehouse.url, context=context, as_of="2026-03-01")

    assert (
        "expect_column_max_to_be_between on revenue_date (min_value=2026-02-26) "
        "[revenue up to 3 days before the as-of]: observed 2025-12-31" in str(failed.value)
    )


def test_the_as_of_comes_from_the_environment_when_not_given(
    gate_warehouse: GateWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_AS_OF", "2026-01-02")

    outcome = run_quality_gate(["marts.daily_revenue"], warehouse_url=gate_warehouse.url)

    assert outcome.as_of.isoformat() == "2026-01-02T00:00:00+00:00"
    assert outcome.context.run_id.startswith("manual__")


def test_a_missing_dataset_fails_before_anything_is_validated(gate_warehouse: GateWarehouse) -> None:
    gate_warehouse.execute("DROP TABLE marts.marketing_attribution")

    message = _failure(gate_warehouse, ("marts.orders", "marts.marketing_attribution"))

    assert message.startswith("quality gate failed: marts.marketing_attribution not found in the warehouse")
    assert gate_warehouse.scalar("SELECT count(*) FROM governance.quality_run") == 0


def test_a_dataset_without_a_suite_is_a_config_error_naming_the_file(gate_warehouse: GateWarehouse) -> None:
    expected = r"no expectation suite for marts\.nothing: expected expectations/marts\.nothing\.json"
    with pytest.raises(SuiteError, match=expected):
        _gate(gate_warehouse, ("marts.nothing",))


def test_the_runtime_role_may_append_results_but_never_rewrite_them(gate_warehouse: GateWarehouse) -> None:
    _gate(gate_warehouse, ("marts.daily_revenue",))

    with psycopg.connect(db.libpq_url(gate_warehouse.url), autocommit=True) as conn:
        for statement in (
            "UPDATE governance.quality_run SET success = NOT success",
            "DELETE FROM governance.quality_result",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
