"""What an ingestion DAG says about itself: tags, doc_md, description (read at parse time: config only).

The classification tag of a source's DAG is the sensitivity the source is assumed to hold
(:meth:`~scrollintel.config.Governance.source_sensitivity`): the highest among the classes its
YAML assigns explicitly (``classification:`` overrides) and ``confidential``: columns are only
classified once data has landed, so at parse time any source may hold personal data. A source
that holds more sensitive data (card numbers, IBANs: ``restricted``) declares those columns in
its YAML; the classifier records an ``ingest.classification_above_tag`` event when it finds a
class more sensitive than the tag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrollintel.warehouse import RAW_SCHEMA, raw_asset_uri, raw_table

if TYPE_CHECKING:
    from scrollintel.config import Governance
    from scrollintel.config.sources import SourceConfig

#: Tag of every ingestion DAG besides its classification tag.
INGESTION_TAG = "ingestion"


def dag_id(source: SourceConfig) -> str:
    """``ingest_<source>``."""
    return f"ingest_{source.name}"


def dag_tags(source: SourceConfig, governance: Governance) -> list[str]:
    """``["ingestion", <classification tag>]``."""
    return [INGESTION_TAG, governance.source_sensitivity(source)]


def dag_doc(source: SourceConfig, governance: Governance) -> str:
    """doc_md: why the DAG exists, what it loads and where to look."""
    label = source.resource_label
    lines = [
        f"### Ingestion: {source.name}",
        (source.description or f"The {source.name} source.").strip(),
        "",
        f"Loads each {label} of this **{source.type}** source (Airflow connection `{source.connection_id}`) into "
        f"the warehouse's `raw` schema, exactly once: schema drift is checked against the registered contract "
        f"(policy **{source.schema_policy}**), rows are merged together with the cursor in one transaction, rows "
        f"that do not fit go to `raw_quarantine`, columns are classified for PII and the batch is validated "
        f"against its suite in `expectations/` when there is one. Each task publishes its raw table as an Asset.",
        "",
        f"Declared in `governance/sources/{source.name}.yaml`; owner `{source.owner}`; classification tag "
        f"`{governance.source_sensitivity(source)}`.",
        "",
        f"| {label} | primary key | incremental by | Asset |",
        "| --- | --- | --- | --- |",
    ]
    for item in source.resources:
        lines.append(
            f"| `{raw_table(source.name, item.name)}` | {', '.join(item.primary_key)} | {item.incremental_label} | "
            f"`{raw_asset_uri(source.name, item.name)}` |"
        )
    lines += [
        "",
        "Run history: `governance.ingest_load_run`; cursors: `governance.ingest_cursor`; "
        "drift: `governance.ingest_drift_event`; CLI: `scrollintel ingest status " + source.name + "`.",
    ]
    return "\n".join(lines)


def dag_description(source: SourceConfig) -> str:
    """One line for the DAG list."""
    return f"Ingest {source.name} ({source.type}) into {RAW_SCHEMA}.{source.name}__*"
