"""A realistic OpenLineage event set for the lineage explorer: the demo shop from source tables to marts.

The shop's operational tables are extracted by the ``ingest_shop`` DAG into ``raw.shop__*`` of the
warehouse; dbt (run by cosmos in ``transform_warehouse``) builds masked ``staging`` views and the
``marts`` tables. Each task run sends a START and a COMPLETE (one FAIL, to show a failed run) with
schema and column-lineage facets, as Airflow's OpenLineage provider and dbt do. Column lineage of
the masked PII columns names the masking transformation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_SPEC = "https://openlineage.io/spec/facets"
JOB_NAMESPACE = "scrollintel"
SHOP_NAMESPACE = "postgres://shop-db:5432"
WAREHOUSE_NAMESPACE = "postgres://warehouse:5432"

#: Source tables of the shop database and their columns (see scrollintel.demo.shop).
SHOP_TABLES: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("customer_id", "bigint"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("email", "text"),
        ("phone", "text"),
        ("street_address", "text"),
        ("city", "text"),
        ("region", "text"),
        ("postal_code", "text"),
        ("country", "char"),
        ("birth_date", "date"),
        ("signup_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
    "products": [
        ("product_id", "integer"),
        ("sku", "text"),
        ("name", "text"),
        ("category", "text"),
        ("unit_price", "numeric"),
        ("active", "boolean"),
        ("updated_at", "timestamptz"),
    ],
    "orders": [
        ("order_id", "bigint"),
        ("customer_id", "bigint"),
        ("ordered_at", "timestamptz"),
        ("status", "text"),
        ("channel", "text"),
        ("total_amount", "numeric"),
        ("currency", "char"),
        ("updated_at", "timestamptz"),
    ],
    "order_items": [
        ("order_item_id", "bigint"),
        ("order_id", "bigint"),
        ("product_id", "integer"),
        ("quantity", "integer"),
        ("unit_price", "numeric"),
        ("discount", "numeric"),
    ],
    "payments": [
        ("payment_id", "bigint"),
        ("order_id", "bigint"),
        ("paid_at", "timestamptz"),
        ("method", "text"),
        ("card_number", "text"),
        ("iban", "text"),
        ("amount", "numeric"),
        ("status", "text"),
        ("updated_at", "timestamptz"),
    ],
    "subscriptions": [
        ("subscription_id", "bigint"),
        ("customer_id", "bigint"),
        ("plan", "text"),
        ("started_at", "timestamptz"),
        ("cancelled_at", "timestamptz"),
        ("monthly_fee", "numeric"),
        ("updated_at", "timestamptz"),
    ],
}
LOADER_COLUMNS = [("_loaded_at", "timestamptz"), ("_run_id", "text")]

#: How staging masks PII columns (governance/classification.yaml): column -> (class, masking).
MASKED: dict[str, dict[str, tuple[str, str]]] = {
    "customers": {
        "first_name": ("name", "hash"),
        "last_name": ("name", "hash"),
        "email": ("email", "hash"),
        "phone": ("phone", "partial"),
        "street_address": ("address", "redact"),
        "postal_code": ("postal_code", "partial"),
        "birth_date": ("birth_date", "partial"),
    },
    "payments": {"card_number": ("payment_card", "partial"), "iban": ("iban", "partial")},
}

#: Marts: columns and, per column, the (staging or mart model, column) pairs it is computed from.
MARTS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "order_items": {
        "order_item_id": [("stg_shop__order_items", "order_item_id")],
        "order_id": [("stg_shop__order_items", "order_id")],
        "product_id": [("stg_shop__order_items", "product_id")],
        "category": [("stg_shop__products", "category")],
        "quantity": [("stg_shop__order_items", "quantity")],
        "line_amount": [
            ("stg_shop__order_items", "quantity"),
            ("stg_shop__order_items", "unit_price"),
            ("stg_shop__order_items", "discount"),
        ],
    },
    "orders": {
        "order_id": [("stg_shop__orders", "order_id")],
        "customer_id": [("stg_shop__orders", "customer_id")],
        "ordered_at": [("stg_shop__orders", "ordered_at")],
        "total_amount": [("stg_shop__orders", "total_amount")],
        "currency": [("stg_shop__orders", "currency")],
        "is_revenue": [("stg_shop__orders", "status")],
        "item_count": [("order_items", "order_item_id")],
        "items_amount": [("order_items", "line_amount")],
        "paid_amount": [("stg_shop__payments", "amount"), ("stg_shop__payments", "status")],
    },
    "customers": {
        "customer_id": [("stg_shop__customers", "customer_id")],
        "country": [("stg_shop__customers", "country")],
        "city": [("stg_shop__customers", "city")],
        "signup_at": [("stg_shop__customers", "signup_at")],
        "order_count": [("orders", "order_id")],
        "lifetime_value": [("orders", "total_amount"), ("orders", "is_revenue")],
        "subscription_plan": [("stg_shop__subscriptions", "plan")],
    },
    "daily_revenue": {
        "order_date": [("orders", "ordered_at")],
        "currency": [("orders", "currency")],
        "revenue": [("orders", "total_amount"), ("orders", "is_revenue")],
        "order_count": [("orders", "order_id")],
    },
}
MART_TYPES = {
    "line_amount": "numeric",
    "category": "text",
    "is_revenue": "boolean",
    "item_count": "bigint",
    "items_amount": "numeric",
    "paid_amount": "numeric",
    "order_count": "bigint",
    "lifetime_value": "numeric",
    "subscription_plan": "text",
    "order_date": "date",
    "revenue": "numeric",
}
INGEST_DAG = "ingest_shop"
TRANSFORM_DAG = "transform_warehouse"
#: The mart whose latest run failed.
FAILED_JOB = f"{TRANSFORM_DAG}.dbt.daily_revenue.run"


@dataclass(frozen=True)
class Dataset:
    """A dataset as OpenLineage names it, with its columns."""

    namespace: str
    name: str
    columns: list[tuple[str, str]]

    @property
    def node_id(self) -> str:
        """The Marquez node id of this dataset."""
        return f"dataset:{self.namespace}:{self.name}"


@dataclass
class DemoLineage:
    """The demo pipeline: its datasets by short name, and the events describing it."""

    datasets: dict[str, Dataset] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)

    def node_id(self, short: str) -> str:
        """Marquez node id of the dataset called ``short`` (e.g. ``raw.shop__customers``)."""
        return self.datasets[short].node_id


def _facet(name: str, version: str = "1-0-1") -> dict[str, str]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACET_SPEC}/{version}/{name}.json#/$defs/{name}"}


def _schema(columns: list[tuple[str, str]]) -> dict[str, Any]:
    return {**_facet("SchemaDatasetFacet", "1-1-1"), "fields": [{"name": n, "type": t} for n, t in columns]}


def _column_lineage(
    columns: dict[str, list[tuple[Dataset, str, str, str]]],
) -> dict[str, Any]:
    """The columnLineage facet: output column -> input (dataset, field, type, description)."""
    fields = {}
    for column, inputs in columns.items():
        fields[column] = {
            "inputFields": [
                {
                    "namespace": dataset.namespace,
                    "name": dataset.name,
                    "field": source_field,
                    "transformations": [
                        {
                            "type": "DIRECT",
                            "subtype": subtype,
                            "description": description,
                            "masking": subtype == "TRANSFORMATION" and description.startswith("masked"),
                        }
                    ],
                }
                for dataset, source_field, subtype, description in inputs
            ]
        }
    return {**_facet("ColumnLineageDatasetFacet", "1-2-0"), "fields": fields}


def _tags(classes: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Classification tags per column, as ingestion sends them for a raw table."""
    tags = [
        {"key": "classification", "value": class_id, "source": "scrollintel", "field": column}
        for column, (class_id, _) in classes.items()
    ]
    return {**_facet("TagsDatasetFacet", "1-0-0"), "tags": tags}


def _dataset_ref(
    dataset: Dataset, *, output: dict[str, Any] | None = None, classes: dict[str, tuple[str, str]] | None = None
) -> dict[str, Any]:
    facets: dict[str, Any] = {"schema": _schema(dataset.columns)}
    if output is not None:
        facets["columnLineage"] = output
    if classes:
        facets["tags"] = _tags(classes)
    return {"namespace": dataset.namespace, "name": dataset.name, "facets": facets}


def _run_pair(
    job: str,
    inputs: list[Dataset],
    output: Dataset,
    lineage: dict[str, Any],
    started: datetime,
    *,
    failed: bool,
    classes: dict[str, tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job}/{started.isoformat()}"))
    base = {
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id},
        "job": {"namespace": JOB_NAMESPACE, "name": job},
        "inputs": [_dataset_ref(dataset) for dataset in inputs],
    }
    start = {**base, "eventType": "START", "eventTime": started.isoformat(), "outputs": [_dataset_ref(output)]}
    end = {
        **base,
        "eventType": "FAIL" if failed else "COMPLETE",
        "eventTime": (started + timedelta(seconds=42)).isoformat(),
        "outputs": [_dataset_ref(output, output=lineage, classes=classes)],
    }
    return [start, end]


def build_demo_lineage(now: datetime | None = None) -> DemoLineage:
    """The demo shop's lineage: source tables -> raw -> staging -> marts, as OpenLineage RunEvents."""
    now = now or datetime.now(UTC)
    demo = DemoLineage()
    clock = now - timedelta(hours=2)

    def add_run(
        job: str,
        inputs: list[Dataset],
        output: Dataset,
        lineage: dict[str, Any],
        classes: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        nonlocal clock
        clock += timedelta(minutes=1)
        demo.jobs.append(job)
        demo.events.extend(_run_pair(job, inputs, output, lineage, clock, failed=job == FAILED_JOB, classes=classes))

    for table, columns in SHOP_TABLES.items():
        source = Dataset(SHOP_NAMESPACE, f"shop.public.{table}", columns)
        raw = Dataset(WAREHOUSE_NAMESPACE, f"warehouse.raw.shop__{table}", columns + LOADER_COLUMNS)
        staging = Dataset(WAREHOUSE_NAMESPACE, f"warehouse.staging.stg_shop__{table}", columns)
        demo.datasets.update({f"shop.{table}": source, f"raw.shop__{table}": raw, f"stg_shop__{table}": staging})
        copied = {name: [(source, name, "IDENTITY", "copied by the loader")] for name, _ in columns}
        masked = MASKED.get(table, {})
        add_run(f"{INGEST_DAG}.{table}", [source], raw, _column_lineage(copied), classes=masked)
        staged = {
            name: [
                (raw, name, "TRANSFORMATION", f"masked: {masked[name][1]} ({masked[name][0]})")
                if name in masked
                else (raw, name, "IDENTITY", "selected")
            ]
            for name, _ in columns
        }
        add_run(f"{TRANSFORM_DAG}.dbt.stg_shop__{table}.run", [raw], staging, _column_lineage(staged))

    types = {name: kind for table_columns in SHOP_TABLES.values() for name, kind in table_columns} | MART_TYPES
    for mart, sources_by_column in MARTS.items():
        models = {model for sources in sources_by_column.values() for model, _ in sources}
        output = Dataset(WAREHOUSE_NAMESPACE, f"warehouse.marts.{mart}", [(c, types[c]) for c in sources_by_column])
        demo.datasets[f"marts.{mart}"] = output
        inputs = [demo.datasets[_short(model)] for model in sorted(models)]
        lineage = {
            column: [
                (demo.datasets[_short(model)], field_name, "AGGREGATION" if len(sources) > 1 else "IDENTITY", "")
                for model, field_name in sources
            ]
            for column, sources in sources_by_column.items()
        }
        add_run(f"{TRANSFORM_DAG}.dbt.{mart}.run", inputs, output, _column_lineage(lineage))
    return demo


def _short(model: str) -> str:
    return model if model.startswith("stg_") else f"marts.{model}"


def seed_store(url: str, demo: DemoLineage) -> None:
    """Ingest the demo's events into the lineage store at ``url`` (migrated) through its own write path."""
    from scrollintel.lineage.openlineage_events import validate_event
    from scrollintel.lineage.store import LineageStore

    results = LineageStore(url).ingest([validate_event(event) for event in demo.events], "test:lineage-demo")
    refused = [result for result in results if result.status != "created"]
    assert not refused, f"the store refused demo events: {refused}"


#: Latest quality gate outcome per warehouse table (the marts' gate failed on daily_revenue).
QUALITY: dict[str, bool] = {"raw.shop__orders": True, "marts.orders": True, "marts.daily_revenue": False}


def seed_quality(url: str, now: datetime | None = None) -> None:
    """Record one quality gate run over :data:`QUALITY` with the gates' own writer."""
    from scrollintel.quality import store
    from scrollintel.quality.outcome import DatasetOutcome, ExpectationOutcome, GateContext

    at = (now or datetime.now(UTC)) - timedelta(minutes=30)
    outcomes = [
        DatasetOutcome(
            dataset=dataset,
            suite_path=f"expectations/{dataset}.json",
            success=success,
            row_count=6000,
            results=[
                ExpectationOutcome(
                    position=0,
                    expectation_type="expect_column_values_to_not_be_null",
                    kwargs={"column": "order_id"},
                    column="order_id",
                    success=success,
                    unexpected_count=0 if success else 12,
                    element_count=6000,
                )
            ],
            result_path=f"lineage-demo/{dataset}.json",
            started_at=at,
            finished_at=at,
        )
        for dataset, success in QUALITY.items()
    ]
    with store.connect(url) as conn:
        store.record_gate_run(
            conn,
            gate_run_id=str(uuid.uuid4()),
            context=GateContext(run_id="lineage-demo"),
            as_of=at,
            datasets=outcomes,
        )
