"""``QualityGateOperator`` as a DAG file builds it: its arguments are checked at parse time."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_the_operator_takes_datasets_outlets_and_a_templated_as_of() -> None:
    import pendulum
    from airflow.sdk import DAG, Asset

    from scrollintel.quality.operators import QualityGateOperator

    with DAG("quality_operator_test", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        gate = QualityGateOperator(
            task_id="quality_gate",
            datasets=("marts.customers", "raw.shop__orders"),
            outlets=[Asset("postgres://warehouse:5432/warehouse/marts/customers")],
            as_of="{{ var.value.get('scrollintel_as_of', '') }}",
        )

    assert gate.datasets == ["marts.customers", "raw.shop__orders"]
    assert [asset.uri for asset in gate.outlets] == ["postgres://warehouse:5432/warehouse/marts/customers"]
    assert set(gate.template_fields) == {"datasets", "as_of"}
    assert gate.warehouse_conn_id == "postgres_warehouse"


@pytest.mark.parametrize("datasets", [[], "marts.orders"])
def test_datasets_must_be_a_non_empty_list(datasets: object) -> None:
    from scrollintel.quality.operators import QualityGateOperator

    with pytest.raises(
        ValueError, match=r"quality_gate: datasets must be a non-empty list of '<schema>\.<table>' names"
    ):
        QualityGateOperator(task_id="quality_gate", datasets=datasets)  # type: ignore[arg-type]
