"""A whole ingestion task: load, PII classification, batch quality gate, operator, lineage facets, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scrollintel.ingest import quality
from scrollintel.ingest.cli import ingest_group
from scrollintel.ingest.errors import ConnectionNotDefined, SchemaDriftError
from scrollintel.ingest.pipeline import ingest_resource
from scrollintel.quality.errors import QualityGateFailed
from tests.integration.ingest.helpers import connect, execute, scalar

pytestmark = pytest.mark.integration


def _airflow_uri(url: str) -> str:
    return "postgres://" + url.split("://", 1)[1]


def _classes(warehouse: str, resource: str) -> dict[str, tuple[str | None, str]]:
    with connect(warehouse) as conn:
        rows = conn.execute(
            "SELECT column_name, class_id, method FROM governance.column_classification "
            "WHERE source = 'shop' AND resource = %s",
            (resource,),
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_shop_columns_are_classified_from_names_values_and_overrides(shop_url: str, warehouse: str) -> None:
    for table in ("customers", "payments", "products"):
        ingest_resource("shop", table, run_id="r1", warehouse_url=warehouse, source_conn=shop_url, quality=False)
    customers = _classes(warehouse, "customers")
    assert customers["email"] == ("email", "name+values")
    assert customers["phone"] == ("phone", "name+values")
    assert customers["first_name"] == ("name", "name+values")
    assert customers["last_name"] == ("name", "name+values")
    assert customers["street_address"] == ("address", "name+values")
    assert customers["birth_date"] == ("birth_date", "name+values")
    assert customers["postal_code"] == ("postal_code", "name")
    for column in ("customer_id", "city", "region", "country", "signup_at", "updated_at"):
        assert customers[column] == (None, "none"), column
    payments = _classes(warehouse, "payments")
    assert payments["card_number"] == ("payment_card", "override")
    assert payments["iban"] == ("iban", "override")
    assert payments["method"] == (None, "none")
    assert _classes(warehouse, "products")["name"] == (None, "override")  # `name: none` in shop.yaml
    first = scalar(warehouse, "SELECT count(*) FROM governance.audit_entry WHERE action = 'ingest.pii_classified'")
    assert first == 2  # customers and payments (products holds none)
    ingest_resource("shop", "customers", run_id="r2", warehouse_url=warehouse, source_conn=shop_url, quality=False)
    again = scalar(warehouse, "SELECT count(*) FROM governance.audit_entry WHERE action = 'ingest.pii_classified'")
    assert again == first  # nothing changed, nothing recorded


def test_the_batch_gate_passes_then_fails_naming_expectations_and_the_result_file(
    shop_url: str, warehouse: str
) -> None:
    outcome = ingest_resource(
        "shop", "orders", run_id="r1", warehouse_url=warehouse, source_conn=shop_url, classify=False
    )
    assert outcome.quality is not None and outcome.quality.success
    assert outcome.quality.rows == outcome.load.written_rows
    execute(warehouse, "UPDATE raw.shop__orders SET total_amount = -1, status = 'lost' WHERE order_id % 50 = 0")
    bad = scalar(warehouse, "SELECT count(*) FROM raw.shop__orders WHERE order_id % 50 = 0")
    with pytest.raises(QualityGateFailed) as failure:
        quality.validate_batch(warehouse, "raw.shop__orders", "r1")
    message = str(failure.value)
    assert "batch quality gate failed for raw.shop__orders (run r1" in message
    assert "2 of 9 expectation(s) failed" in message
    assert (
        f"expect_column_values_to_be_between on total_amount (max_value=1000000.0, min_value=0.0): {bad} unexpected"
        in message
    )
    assert "expect_column_values_to_be_in_set on status" in message
    result_file = message.rsplit("full result: ", 1)[1].strip()
    assert result_file.endswith("quality/ingest/raw.shop__orders/r1.json")
    assert json.loads(Path(result_file).read_text(encoding="utf-8"))["success"] is False
    # no suite, or no row landed by the run: nothing to validate
    assert quality.validate_batch(warehouse, "raw.shop__products", "r1") is None
    assert quality.validate_batch(warehouse, "raw.shop__orders", "another-run") is None


def test_operator_returns_the_counts_and_openlineage_facets(
    shop_url: str, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrollintel.ingest.operators import IngestResourceOperator

    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_SHOP", _airflow_uri(shop_url))
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_WAREHOUSE", _airflow_uri(warehouse))
    monkeypatch.setattr(quality, "validate_batch", lambda *args, **kwargs: None)  # the gate has its own test
    operator = IngestResourceOperator(task_id="customers", source_name="shop", resource_name="customers")
    summary = operator.execute({"run_id": "manual__1"})  # type: ignore[arg-type]
    rows = scalar(shop_url, "SELECT count(*) FROM customers")
    assert summary["source_rows"] == summary["loaded_rows"] == rows and summary["quarantined_rows"] == 0
    assert summary["classified"]["email"] == "email" and summary["sensitivity"] == "confidential"
    lineage = operator.get_openlineage_facets_on_complete(None)
    (source,) = lineage.inputs
    assert source.namespace.startswith("postgres://127.0.0.1:") and source.name.endswith(".public.customers")
    assert [field.name for field in source.facets["schema"].fields][:2] == ["customer_id", "first_name"]
    raw = lineage.outputs[0]
    assert (raw.namespace, raw.name) == ("postgres://warehouse:5432", "warehouse.raw.shop__customers")
    assert raw.outputFacets["outputStatistics"].rowCount == rows
    assert {f.name: f.type for f in raw.facets["schema"].fields}["updated_at"] == "timestamptz"
    assert raw.facets["columnLineage"].fields["email"].inputFields[0].field == "email"
    tags = {(tag.field, tag.value) for tag in raw.facets["tags"].tags}
    assert ("email", "email") in tags and ("birth_date", "birth_date") in tags and (None, "confidential") in tags


def test_operator_fails_without_retry_on_drift_gates_and_missing_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from scrollintel.ingest import pipeline
    from scrollintel.ingest.operators import IngestResourceOperator

    monkeypatch.setattr(pipeline, "warehouse_url_from_airflow", lambda conn_id: "postgresql://unused/db")
    for error in (
        SchemaDriftError("schema drift in shop.customers ..."),
        QualityGateFailed("batch quality gate ..."),
        ConnectionNotDefined("the Airflow connection 'postgres_shop' is not defined"),
    ):

        def boom(*args: Any, error: Exception = error, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(pipeline, "ingest_resource", boom)
        operator = IngestResourceOperator(task_id="customers", source_name="shop", resource_name="customers")
        with pytest.raises(AirflowFailException, match=str(error)[:20]):
            operator.execute({"run_id": "r"})  # type: ignore[arg-type]
    assert (
        IngestResourceOperator(task_id="t", source_name="s", resource_name="r")
        .get_openlineage_facets_on_complete(None)
        .outputs
        == []
    )


def test_cli_runs_a_source_and_shows_its_state(shop_url: str, warehouse: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        ingest_group,
        ["run", "shop", "products", "--source-url", shop_url, "--warehouse-url", warehouse, "--no-quality"],
    )
    assert result.exit_code == 0, result.output
    assert "raw.shop__products: initial (direct-binary) read" in result.output
    status = runner.invoke(ingest_group, ["status", "shop", "--warehouse-url", warehouse])
    assert status.exit_code == 0 and "raw.shop__products" in status.output and "last run succeeded" in status.output
    unknown = runner.invoke(ingest_group, ["run", "nope", "--warehouse-url", warehouse])
    assert unknown.exit_code != 0 and "unknown source 'nope'" in unknown.output
