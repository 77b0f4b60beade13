"""Any ``sql`` facet dialect, as producers send them, derives lineage; SQL nothing can parse is counted (no database).

The events in ``producer_events/`` follow what the OpenLineage integrations send (dbt-spark and
dbt-bigquery: the adapter as ``dialect``, the compiled model as ``query``; the Hive hook; the
Spark listener, whose datasets are storage paths with the table as a symlink), and one dbt model
whose SQL still holds its Jinja, which no SQL parser reads.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from scrollintel.lineage import openlineage_events as events
from scrollintel.lineage import store
from scrollintel.lineage.nodes import field_uuid
from scrollintel.lineage.sqllineage import sql_column_lineage, sqlglot_dialect

pytestmark = pytest.mark.unit

EVENTS = Path(__file__).parent / "producer_events"


def producer_event(name: str) -> dict[str, Any]:
    """A fixture event of ``producer_events/<name>.json``."""
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


def derived(raw: dict[str, Any]) -> store.Rows:
    return store.derive(events.validate_event(raw))


def edges(rows: store.Rows) -> set[tuple[Any, ...]]:
    """(source field id, target field id, subtype, masking) of the derived column edges."""
    return {(row[1], row[0], row[4], row[6]) for row in rows.by_table["column_edge"]}


def sql_facet_of_runs(rows: store.Rows) -> list[Any]:
    return [row[8].get(store.SQL_FACET) for row in rows.by_table["run"]]


def test_dbt_bigquery_sql_is_read_as_bigquery_and_gives_column_edges() -> None:
    rows = derived(producer_event("dbt_bigquery"))

    raw = ("bigquery", "example-bigquery-project.raw.raw_stores")
    stg = ("bigquery", "example-bigquery-project.jaffle_shop.stg_locations")
    assert edges(rows) == {
        (field_uuid(*raw, "id"), field_uuid(*stg, "location_id"), "IDENTITY", False),
        (field_uuid(*raw, "name"), field_uuid(*stg, "location_name"), "IDENTITY", False),
        (field_uuid(*raw, "tax_rate"), field_uuid(*stg, "tax_rate"), "IDENTITY", False),
        (field_uuid(*raw, "opened_at"), field_uuid(*stg, "opened_date"), "TRANSFORMATION", None),
    }
    assert sql_facet_of_runs(rows) == [None]


def test_dbt_spark_sql_is_read_as_spark_and_a_hash_masks() -> None:
    rows = derived(producer_event("dbt_spark"))

    raw = ("spark://spark-thrift:10001", "default.raw_customers")
    stg = ("spark://spark-thrift:10001", "default.stg_customers")
    assert (field_uuid(*raw, "email"), field_uuid(*stg, "email_hash"), "TRANSFORMATION", True) in edges(rows)
    assert len(edges(rows)) == 4
    assert sql_facet_of_runs(rows) == [None]


def test_hive_insert_overwrite_with_a_partition_gives_column_edges() -> None:
    rows = derived(producer_event("hive"))

    orders = ("hive://metastore.internal:9083", "sales.orders")
    daily = ("hive://metastore.internal:9083", "sales.daily_revenue")
    assert edges(rows) == {
        (field_uuid(*orders, "store_id"), field_uuid(*daily, "store_id"), "IDENTITY", False),
        (field_uuid(*orders, "amount"), field_uuid(*daily, "revenue"), "AGGREGATION", None),
        (field_uuid(*orders, "order_id"), field_uuid(*daily, "orders"), "AGGREGATION", None),
    }


def test_a_spark_listener_event_keeps_its_dataset_lineage() -> None:
    """Spark names datasets by their storage path: the SQL's tables match none, so no column edge, no failure."""
    rows = derived(producer_event("spark"))

    assert len(rows.by_table["job_input"]) == 2
    assert len(rows.by_table["job_output"]) == 1
    assert edges(rows) == set()
    assert sql_facet_of_runs(rows) == [None]


@pytest.mark.parametrize(
    "dialect",
    [
        "hive", "spark", "bigquery", "redshift", "trino", "athena", "databricks", "duckdb", "mssql", "oracle",
        "sqlite", "ansi", "BigQuery", "SparkSQL", "sqlserver", "Snowflake", "postgresql", "generic", "no-such-dialect",
    ],
)  # fmt: skip
def test_any_dialect_name_derives_lineage(dialect: str) -> None:
    raw = producer_event("hive")
    raw["job"]["facets"]["sql"]["dialect"] = dialect
    raw["job"]["facets"]["sql"]["query"] = "INSERT INTO sales.daily_revenue SELECT store_id FROM sales.orders"

    rows = derived(raw)

    orders = ("hive://metastore.internal:9083", "sales.orders")
    daily = ("hive://metastore.internal:9083", "sales.daily_revenue")
    assert edges(rows) == {(field_uuid(*orders, "store_id"), field_uuid(*daily, "store_id"), "IDENTITY", False)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BigQuery", "bigquery"), ("sparksql", "spark"), ("mssql", "tsql"), ("sqlserver", "tsql"),
        ("postgresql", "postgres"), ("ansi", None), ("", None), (None, None), ("cobol", None),
    ],
)  # fmt: skip
def test_openlineage_dialect_names_map_to_sqlglot_or_its_default(name: str | None, expected: str | None) -> None:
    assert sqlglot_dialect(name) == expected


def test_sql_nothing_can_parse_keeps_the_dataset_lineage_and_marks_the_run() -> None:
    rows = derived(producer_event("unparsable_sql"))

    assert edges(rows) == set()
    assert len(rows.by_table["job_input"]) == 1 and len(rows.by_table["job_output"]) == 1
    (facet,) = sql_facet_of_runs(rows)
    assert facet["parsed"] is False
    assert facet["dialect"] == "spark"
    assert facet["problem"].startswith("openlineage-sql could not read it as")
    assert "{{" not in json.dumps(facet)  # the SQL itself is not copied


def test_sql_nested_past_the_parsers_stack_is_unparsed_not_an_error() -> None:
    query = "INSERT INTO sales.daily_revenue SELECT " + "(" * 5000 + "store_id" + ")" * 5000 + " FROM sales.orders"
    part = events.DatasetPart("hive://m:9083", "sales.orders")
    out = events.DatasetPart("hive://m:9083", "sales.daily_revenue")

    result = sql_column_lineage(query, [part], [out], "hive")

    assert (result.parsed, result.edges) == (False, [])


def test_a_columnlineage_facet_wins_and_the_sql_is_not_read() -> None:
    raw = producer_event("unparsable_sql")
    output = raw["outputs"][0]
    output["facets"] = {
        "columnLineage": {
            "fields": {"order_id": {"inputFields": [{**copy.deepcopy(raw["inputs"][0]), "field": "order_id"}]}}
        }
    }

    rows = derived(raw)

    assert len(edges(rows)) == 1
    assert sql_facet_of_runs(rows) == [None]
