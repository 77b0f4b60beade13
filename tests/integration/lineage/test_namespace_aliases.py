"""A producer that names the warehouse by host and port (dbt through cosmos) lands on ingestion's datasets."""

from __future__ import annotations

import pytest

from scrollintel.lineage import openlineage_events as lineage_events
from tests.integration.lineage.conftest import LineageDb
from tests.integration.lineage.pipeline import RAW, STAGING, T0, WAREHOUSE, event

pytestmark = pytest.mark.integration

CONNECTED_AS = "postgres://127.0.0.1:54017"


def test_aliased_namespaces_fold_into_one_dataset_per_table(
    lineage_db: LineageDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lineage_events.ENV_NAMESPACE_ALIASES, f'{{"{CONNECTED_AS}": "{WAREHOUSE}"}}')
    lineage_events.namespace_aliases.cache_clear()
    try:
        load = event("COMPLETE", "ingest_shop.load_customers", at=T0, outputs=[{"namespace": RAW[0], "name": RAW[1]}])
        dbt = event(
            "COMPLETE",
            "transform_warehouse.stg_shop__customers.run",
            at=T0,
            inputs=[{"namespace": CONNECTED_AS, "name": RAW[1]}],
            outputs=[
                {
                    "namespace": CONNECTED_AS,
                    "name": STAGING[1],
                    "facets": {
                        "columnLineage": {
                            "_producer": "p",
                            "_schemaURL": "s",
                            "fields": {
                                "email": {
                                    "inputFields": [{"namespace": CONNECTED_AS, "name": RAW[1], "field": "email"}]
                                }
                            },
                        }
                    },
                }
            ],
        )
        lineage_db.ingest([load, dbt])
    finally:
        lineage_events.namespace_aliases.cache_clear()

    with lineage_db.connect() as conn:
        datasets = conn.execute("SELECT namespace, name FROM governance.lineage_dataset ORDER BY name").fetchall()
        edge = conn.execute(
            "SELECT s.namespace, s.name, d.namespace, d.name FROM governance.lineage_column_edge e "
            "JOIN governance.lineage_dataset_field sf ON sf.id = e.src_field_id "
            "JOIN governance.lineage_dataset s ON s.id = sf.dataset_id "
            "JOIN governance.lineage_dataset_field df ON df.id = e.dst_field_id "
            "JOIN governance.lineage_dataset d ON d.id = df.dataset_id"
        ).fetchall()
        stored = conn.execute(
            "SELECT count(*) FROM governance.lineage_event WHERE payload::text LIKE %s", (f"%{CONNECTED_AS}%",)
        ).fetchone()
    assert datasets == [(WAREHOUSE, RAW[1]), (WAREHOUSE, STAGING[1])]
    assert edge == [(WAREHOUSE, RAW[1], WAREHOUSE, STAGING[1])]
    assert stored == (1,)  # the raw event is kept as sent
