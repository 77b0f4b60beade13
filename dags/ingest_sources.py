"""Ingestion DAG factory: one Airflow DAG ``ingest_<source>`` per ``governance/sources/<source>.yaml``.

Adding a source is adding a YAML file. Each DAG has one task per table/endpoint/file, which
loads it into ``raw.<source>__<resource>`` and publishes the Asset
``x-scrollintel://warehouse/raw/<source>__<resource>`` (see scrollintel.warehouse). A source
whose contract is frozen (``schema_policy: freeze``) has two more tasks per resource: when the
load is blocked by a schema change, ``<resource>_schema_change`` asks the policy's approvers
(governance/approvals.yaml) and, on approval, ``<resource>_approved_load`` applies exactly that
change and loads from the unchanged cursor. When the load succeeds both are skipped.
Parse time reads only the cached, validated governance config: no connection, SQL or HTTP.
"""

from __future__ import annotations

from airflow.sdk import DAG

from scrollintel.config import load_governance
from scrollintel.dag_defaults import START_DATE, default_args
from scrollintel.ingest.dagspec import dag_description, dag_doc, dag_id, dag_tags
from scrollintel.ingest.operators import IngestResourceOperator, SchemaChangeGate
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
            _load = IngestResourceOperator(
                task_id=_resource.name,
                source_name=_source.name,
                resource_name=_resource.name,
                outlets=[raw_asset(_source.name, _resource.name)],
            )
            if _source.schema_policy == "freeze":
                _gate = SchemaChangeGate(
                    task_id=f"{_resource.name}_schema_change",
                    source_name=_source.name,
                    resource_name=_resource.name,
                    load_task_id=_load.task_id,
                    retries=0,
                )
                _approved = IngestResourceOperator(
                    task_id=f"{_resource.name}_approved_load",
                    source_name=_source.name,
                    resource_name=_resource.name,
                    approved_change_of=_load.task_id,
                    outlets=[raw_asset(_source.name, _resource.name)],
                )
                _load >> _gate >> _approved
    globals()[_dag.dag_id] = _dag
