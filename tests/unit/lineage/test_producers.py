"""Events as the platform's producers build them pass validation and derive what the store expects (no database)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from scrollintel.ingest import lineage
from scrollintel.ingest.classify import ColumnClass
from scrollintel.ingest.spec import LoadResult
from scrollintel.lineage import openlineage_events as events
from scrollintel.lineage import store
from scrollintel.lineage.nodes import field_uuid

pytestmark = pytest.mark.unit


def ingestion_event() -> dict[str, object]:
    """A COMPLETE event carrying ingestion's facets, serialised by the openlineage client as the provider does."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import job_type_job, ownership_job, parent_run
    from openlineage.client.serde import Serde

    result = LoadResult(
        "shop", "customers", "raw.shop__customers", "r1", "b1", "incremental",
        source_rows=12, loaded_rows=10, inserted_rows=4, updated_rows=3, unchanged_rows=3, quarantined_rows=2,
    )  # fmt: skip
    columns = [
        {"name": "customer_id", "source_type": "bigint", "pg_type": "bigint", "nullable": False},
        {"name": "email", "source_type": "character varying(200)", "pg_type": "text", "nullable": False},
    ]
    classes = [ColumnClass("email", "email", "confidential", "hash", "name+values", 1.0, 50)]
    built = lineage.build_operator_lineage(
        result, source_namespace="postgres://shop-db:5432", source_name="shop.public.customers",
        source_columns=columns, classes=classes, sensitivity="confidential",
    )  # fmt: skip
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=str(uuid.uuid4())), job=parent_run.Job(namespace="scrollintel", name="ingest_shop")
    )
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4()), facets={"parent": parent}),
        job=Job(
            namespace="scrollintel",
            name="ingest_shop.load_customers",
            facets={
                "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="AIRFLOW", jobType="TASK"),
                "ownership": ownership_job.OwnershipJobFacet(owners=[ownership_job.Owner(name="data-platform")]),
            },
        ),
        inputs=built.inputs,
        outputs=built.outputs,
        producer="https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
    )
    return json.loads(Serde.to_json(event))


def test_an_ingestion_event_passes_validation_and_derives_its_column_lineage_and_parent() -> None:
    event = events.validate_event(ingestion_event())

    rows = store.derive(event).by_table

    assert [part.name for part in event.outputs] == [
        "warehouse.raw.shop__customers",
        "warehouse.raw_quarantine.shop__customers",
    ]
    email = field_uuid("postgres://warehouse:5432", "warehouse.raw.shop__customers", "email")
    assert any(row[0] == email and row[7] == "facet" for row in rows["column_edge"])
    assert rows["job"][0][4] == "ingest_shop"  # the parent job (the DAG)
    assert rows["run"][0][2] is not None  # the parent run
    raw = next(row for row in rows["dataset"] if row[2] == "warehouse.raw.shop__customers")
    tag = raw[7]["tags"]["tags"][0]
    assert (tag["key"], tag["value"], tag["field"]) == ("classification", "email", "email")


def test_the_client_serialises_what_the_store_accepts_for_every_event_type() -> None:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    for state in RunState:
        event = RunEvent(
            eventType=state,
            eventTime="2026-01-01T00:00:00+00:00",
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="scrollintel", name="dag.task"),
            producer="https://example.com/producer",
        )
        assert events.validate_event(json.loads(Serde.to_json(event))).event_type == state.value
