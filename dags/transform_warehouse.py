"""dbt through cosmos: raw -> staging (masked) -> marts, on the raw Assets ingestion publishes.

The dbt project is rendered from its manifest (no dbt run at parse time); the schedule, the mart
Assets, tags and owner come from the manifest and the governance config
(scrollintel.transform.dagspec). A missing manifest is an import error saying how to build it.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import HEAVY_QUEUE, START_DATE, default_args
from scrollintel.quality.operators import QualityGateOperator
from scrollintel.transform.dagspec import DAG_ID, dbt_task_group, transform_spec

SPEC = transform_spec()


@dag(
    dag_id=DAG_ID,
    schedule=SPEC.schedule(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SPEC.owner, timeout_minutes=30, queue=HEAVY_QUEUE),
    tags=SPEC.tags,
    description="dbt: raw -> staging (masked) -> marts, then the marts' quality gate",
    doc_md=SPEC.doc_md(),
)
def transform_warehouse() -> None:
    @task
    def raw_tables_ready() -> int:
        """Skip the run when a later one is queued, or while a raw table it reads has never been loaded."""
        from airflow.sdk import get_current_context

        from scrollintel.db import connection_url
        from scrollintel.transform.readiness import require_raw_tables, skip_when_superseded
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        queued = get_current_context()["ti"].get_dr_count(dag_id=DAG_ID, states=["queued"])
        skip_when_superseded(DAG_ID, queued)
        return require_raw_tables(connection_url(WAREHOUSE_CONN_ID), SPEC.raw_sources)

    gate = QualityGateOperator(task_id="quality_gate", datasets=SPEC.mart_datasets, outlets=SPEC.mart_assets())
    raw_tables_ready() >> dbt_task_group(SPEC) >> gate


transform_warehouse()
