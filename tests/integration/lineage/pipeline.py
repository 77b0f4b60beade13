"""OpenLineage events of a small pipeline, as the platform's producers send them (used by the lineage tests).

``shop.public.customers`` (source system) --ingest_shop.load_customers--> ``warehouse.raw.shop__customers``
--transform_dbt.stg_shop__customers--> ``warehouse.staging.stg_shop__customers`` (masked)
--transform_dbt.customers--> ``warehouse.marts.customers``; and a careless export job
``exports.email_export`` copying raw e-mail addresses straight into ``warehouse.marts.email_export``.

Ingestion classifies ``email`` (hash), ``first_name`` (hash) and ``birth_date`` (partial) of the raw
table (:data:`CLASSIFICATION`, as ``governance.column_classification`` rows).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
JOBS = "scrollintel"
SHOP = "postgres://shop-db:5432"
WAREHOUSE = "postgres://warehouse:5432"
T0 = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)

SOURCE = (SHOP, "shop.public.customers")
RAW = (WAREHOUSE, "warehouse.raw.shop__customers")
STAGING = (WAREHOUSE, "warehouse.staging.stg_shop__customers")
MART = (WAREHOUSE, "warehouse.marts.customers")
EXPORT = (WAREHOUSE, "warehouse.marts.email_export")

SOURCE_COLUMNS = ("customer_id", "email", "first_name", "birth_date", "city")
#: (source, resource, column, class, sensitivity, masking) as ingestion stores them.
CLASSIFICATION = (
    ("shop", "customers", "email", "email", "confidential", "hash"),
    ("shop", "customers", "first_name", "name", "confidential", "hash"),
    ("shop", "customers", "birth_date", "birth_date", "confidential", "partial"),
    ("shop", "customers", "customer_id", None, None, None),
    ("shop", "customers", "city", None, None, None),
)


def node(kind: str, dataset: tuple[str, str], field: str | None = None) -> str:
    """A Marquez node id."""
    return f"{kind}:{dataset[0]}:{dataset[1]}" + (f":{field}" if field else "")


def run_id(job: str, attempt: int = 1) -> str:
    """A stable run id per job and attempt."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"run/{job}/{attempt}"))


def schema(columns: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": name, "type": kind} for name, kind in columns],
    }


def column_lineage(mapping: dict[str, list[tuple[tuple[str, str], str, dict[str, Any] | None]]]) -> dict[str, Any]:
    """``{output column: [(input dataset, input column, transformation or None)]}`` as the facet."""
    fields = {}
    for column, sources in mapping.items():
        fields[column] = {
            "inputFields": [
                {
                    "namespace": dataset[0],
                    "name": dataset[1],
                    "field": source_column,
                    **({"transformations": [transformation]} if transformation else {}),
                }
                for dataset, source_column, transformation in sources
            ]
        }
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": fields,
    }


IDENTITY = {"type": "DIRECT", "subtype": "IDENTITY", "masking": False}
TRANSFORM = {"type": "DIRECT", "subtype": "TRANSFORMATION"}


def event(
    event_type: str,
    job: str,
    *,
    at: datetime,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    attempt: int = 1,
    owner: str | None = None,
) -> dict[str, Any]:
    """A RunEvent of ``job`` (namespace ``scrollintel``)."""
    job_facets: dict[str, Any] = {
        "jobType": {
            "_producer": PRODUCER,
            "_schemaURL": "x",
            "processingType": "BATCH",
            "integration": "AIRFLOW",
            "jobType": "TASK",
        },
    }
    if owner:
        job_facets["ownership"] = {"_producer": PRODUCER, "_schemaURL": "x", "owners": [{"name": owner}]}
    return {
        "eventType": event_type,
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT,
        "run": {"runId": run_id(job, attempt), "facets": {}},
        "job": {"namespace": JOBS, "name": job, "facets": job_facets},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


def dataset(ref: tuple[str, str], facets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"namespace": ref[0], "name": ref[1], "facets": facets or {}}


def pipeline_events() -> list[dict[str, Any]]:
    """START and COMPLETE of every job of the pipeline, in time order."""
    typed = [(name, "text") for name in SOURCE_COLUMNS]
    ingest_out = dataset(
        RAW,
        {
            "schema": schema([*typed, ("_loaded_at", "timestamptz")]),
            "columnLineage": column_lineage({c: [(SOURCE, c, IDENTITY)] for c in SOURCE_COLUMNS}),
        },
    )
    staging_columns = [
        ("customer_id", "text"),
        ("email", "text"),
        ("first_name", "text"),
        ("birth_year", "int"),
        ("city", "text"),
    ]
    staging_out = dataset(
        STAGING,
        {
            "schema": schema(staging_columns),
            "columnLineage": column_lineage(
                {
                    "customer_id": [(RAW, "customer_id", IDENTITY)],
                    "email": [(RAW, "email", TRANSFORM)],
                    "first_name": [(RAW, "first_name", TRANSFORM)],
                    "birth_year": [(RAW, "birth_date", TRANSFORM)],
                    "city": [(RAW, "city", IDENTITY)],
                }
            ),
        },
    )
    mart_out = dataset(
        MART,
        {
            "schema": schema([("customer_id", "text"), ("city", "text"), ("email_key", "text")]),
            "columnLineage": column_lineage(
                {
                    "customer_id": [(STAGING, "customer_id", IDENTITY)],
                    "city": [(STAGING, "city", IDENTITY)],
                    "email_key": [(STAGING, "email", IDENTITY)],
                }
            ),
        },
    )
    export_out = dataset(
        EXPORT,
        {
            "schema": schema([("email", "text")]),
            "columnLineage": column_lineage({"email": [(RAW, "email", IDENTITY)]}),
        },
    )
    jobs = [
        ("ingest_shop.load_customers", [dataset(SOURCE, {"schema": schema(typed)})], [ingest_out], "data-platform"),
        ("transform_dbt.stg_shop__customers", [dataset(RAW)], [staging_out], "analytics"),
        ("transform_dbt.customers", [dataset(STAGING)], [mart_out], "analytics"),
        ("exports.email_export", [dataset(RAW)], [export_out], None),
    ]
    events = []
    for index, (job, inputs, outputs, owner) in enumerate(jobs):
        start = T0 + timedelta(minutes=10 * index)
        events.append(event("START", job, at=start, inputs=inputs, outputs=outputs, owner=owner))
        events.append(
            event("COMPLETE", job, at=start + timedelta(minutes=2), inputs=inputs, outputs=outputs, owner=owner)
        )
    return events
