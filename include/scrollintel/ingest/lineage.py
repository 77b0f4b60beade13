"""OpenLineage facets of ingestion, through Airflow's OpenLineage provider (no own emitter).

Each raw table is an Airflow Asset and an OpenLineage dataset named as
:mod:`scrollintel.warehouse` describes (:func:`~scrollintel.warehouse.raw_asset`,
:func:`~scrollintel.warehouse.warehouse_namespace`); dbt DAGs schedule on the same Asset.

**Facets** (returned by ``IngestResourceOperator.get_openlineage_facets_on_complete``):
input = the source table/endpoint/file with its schema (source types) and a datasource facet;
outputs = the raw table with its schema (warehouse types), column lineage (identity from the
source column), classification tags per column (``TagsDatasetFacet``: key ``classification``,
value the class id, field the column; plus ``sensitivity`` for the dataset) and output
statistics (rows written by this run); and the quarantine table with its row count when
rows were quarantined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scrollintel.warehouse import RAW_SCHEMA, raw_table_name, warehouse_dataset_name, warehouse_namespace

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from scrollintel.ingest.classify import ColumnClass
    from scrollintel.ingest.spec import LoadResult


def source_identity(connector: object, source_type: str, connection_id: str, resource: str) -> tuple[str, str]:
    """(namespace, name) of the resource in the source system.

    Connectors that know better (a host and database) provide ``dataset_identity(resource)``;
    otherwise ``<type>://<connection id>`` and the resource name.
    """
    identity = getattr(connector, "dataset_identity", None)
    if callable(identity):
        namespace, name = identity(resource)
        return str(namespace), str(name)
    return f"{source_type}://{connection_id}", resource


def build_operator_lineage(
    result: LoadResult,
    *,
    source_namespace: str,
    source_name: str,
    source_columns: Sequence[Mapping[str, Any]],
    classes: Sequence[ColumnClass] = (),
    sensitivity: str | None = None,
) -> OperatorLineage:
    """Input and output datasets, with facets, of one completed load."""
    from airflow.providers.common.compat.openlineage.facet import (
        ColumnLineageDatasetFacet,
        Fields,
        InputDataset,
        InputField,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
        SchemaDatasetFacet,
        SchemaDatasetFacetFields,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.facet_v2 import datasource_dataset, tags_dataset

    source_schema = SchemaDatasetFacet(
        fields=[
            SchemaDatasetFacetFields(name=col["name"], type=col["source_type"], ordinal_position=index)
            for index, col in enumerate(source_columns, start=1)
        ]
    )
    source_dataset = InputDataset(
        namespace=source_namespace,
        name=source_name,
        facets={
            "schema": source_schema,
            "datasource": datasource_dataset.DatasourceDatasetFacet(name=source_namespace, uri=source_namespace),
        },
    )
    raw_name = warehouse_dataset_name(RAW_SCHEMA, raw_table_name(result.source, result.resource))
    raw_schema = SchemaDatasetFacet(
        fields=[
            *(
                SchemaDatasetFacetFields(name=col["name"], type=col["pg_type"], ordinal_position=index)
                for index, col in enumerate(source_columns, start=1)
            ),
            SchemaDatasetFacetFields(name="_loaded_at", type="timestamptz", description="when the row was loaded"),
            SchemaDatasetFacetFields(name="_run_id", type="text", description="Airflow run that loaded the row"),
        ]
    )
    column_lineage = ColumnLineageDatasetFacet(
        fields={
            col["name"]: Fields(
                inputFields=[InputField(namespace=source_namespace, name=source_name, field=col["name"])],
                transformationType="IDENTITY",
                transformationDescription=f"{col['source_type']} -> {col['pg_type']}",
            )
            for col in source_columns
        }
    )
    tags = [
        tags_dataset.TagsDatasetFacetFields(
            key="classification", value=item.class_id, source="scrollintel", field=item.column
        )
        for item in classes
        if item.class_id
    ]
    if sensitivity:
        tags.append(tags_dataset.TagsDatasetFacetFields(key="sensitivity", value=sensitivity, source="scrollintel"))
    facets: dict[str, Any] = {"schema": raw_schema, "columnLineage": column_lineage}
    if tags:
        facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags)
    outputs = [
        OutputDataset(
            namespace=warehouse_namespace(),
            name=raw_name,
            outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=result.written_rows)},
            facets=facets,
        )
    ]
    if result.quarantined_rows:
        outputs.append(
            OutputDataset(
                namespace=warehouse_namespace(),
                name=warehouse_dataset_name("raw_quarantine", raw_table_name(result.source, result.resource)),
                outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=result.quarantined_rows)},
            )
        )
    return OperatorLineage(inputs=[source_dataset], outputs=outputs)
