"""Ingestion DAG factory: one Airflow DAG ``ingest_<source>`` per ``governance/sources/<source>.yaml``.

Adding a source is adding a YAML file. Each DAG has one task per table/endpoint/file, which
loads it into ``raw.<source>__<resource>`` and publishes the Asset
``x-scrollintel://warehouse/raw/<source>__<resource>`` (see scrollintel.warehouse).
Parse time reads only the cached, validated governance config: no connection, SQL or HTTP.
"""

from __future__ import annotations

from airflow.sdk import DAG

from scrollintel.config import load_governance
from scrollintel.dag_defaults import START_DATE, default_args
from scrollintel.ingest.dagspec import dag_description, dag_doc, dag_id, dag_tags
from scrollintel.ingest.operators import IngestResourceOperator
from scrollintel.warehouse import raw_asset

_governance = load_governance()

for _source in _governance.sources.values():
    with DAG(
        dag_id=dag_id(_source),
        schedule=_source.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(_source.owner, timeout_minutes=120),
        tags=dag_tags(_source, _governance),
        description=dag_description(_source),
        doc_md=dag_doc(_source, _governance),
    ) as _dag:
        for _resource in _source.resources:
            IngestResourceOperator(
                task_id=_resource.name,
                source_name=_source.name,
                resource_name=_resource.name,
                outlets=[raw_asset(_source.name, _resource.name)],
            )
    globals()[_dag.dag_id] = _dag
