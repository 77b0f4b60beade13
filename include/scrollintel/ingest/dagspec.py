"""What an ingestion DAG says about itself: tags, doc_md, description (read at parse time: config only).

The classification tag of a source's DAG is the highest sensitivity among the classes its
YAML assigns explicitly (``classification:`` overrides) and ``confidential``: columns are only
classified once data has landed, so at parse time any source may hold personal data. A source
that holds more sensitive data (card numbers, IBANs: ``restricted``) declares those columns in
its YAML; the classifier records an ``ingest.classification_above_tag`` event when it finds a
class more sensitive than the tag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrollintel.config import NOT_PERSONAL, SENSITIVITY_LEVELS

if TYPE_CHECKING:
    from scrollintel.config import Governance, SourceConfig

#: Tag of every ingestion DAG besides its classification tag.
INGESTION_TAG = "ingestion"
#: Assumed sensitivity of a source before its columns are classified.
DEFAULT_SENSITIVITY = "confidential"


def declared_classes(source: SourceConfig) -> set[str]:
    """Class ids the source's YAML assigns to columns (source-wide or per resource)."""
    found = {value for value in source.classification.values() if value != NOT_PERSONAL}
    for item in source.resources:
        found.update(value for value in item.classification.values() if value != NOT_PERSONAL)
    return found


def classification_tag(source: SourceConfig, governance: Governance) -> str:
    """The DAG's one classification tag (see the module docstring)."""
    levels = [DEFAULT_SENSITIVITY]
    for class_id in declared_classes(source):
        levels.append(governance.classification.get(class_id).sensitivity)
    return max(levels, key=SENSITIVITY_LEVELS.index)


def dag_id(source: SourceConfig) -> str:
    """``ingest_<source>``."""
    return f"ingest_{source.name}"


def dag_tags(source: SourceConfig, governance: Governance) -> list[str]:
    """``["ingestion", <classification tag>]``."""
    return [INGESTION_TAG, classification_tag(source, governance)]


def dag_doc(source: SourceConfig, governance: Governance) -> str:
    """doc_md: why the DAG exists, what it loads and where to look."""
    from scrollintel.config import raw_table
    from scrollintel.ingest.lineage import raw_asset_uri

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
        f"`{classification_tag(source, governance)}`.",
        "",
        f"| {label} | primary key | incremental by | Asset |",
        "| --- | --- | --- | --- |",
    ]
    for item in source.resources:
        cursor = getattr(item, "cursor", None)
        how = f"`{cursor}`" if cursor else _incremental_label(source.type, item)
        lines.append(
            f"| `{raw_table(source.name, item.name)}` | {', '.join(item.primary_key)} | {how} | "
            f"`{raw_asset_uri(source.name, item.name)}` |"
        )
    lines += [
        "",
        "Run history: `governance.ingest_load_run`; cursors: `governance.ingest_cursor`; "
        "drift: `governance.ingest_drift_event`; CLI: `scrollintel ingest status " + source.name + "`.",
    ]
    return "\n".join(lines)


def _incremental_label(source_type: str, item: object) -> str:
    if source_type == "files":
        return "new files"
    if getattr(item, "cursor_param", None) or getattr(item, "cursor_variable", None):
        return "API cursor"
    return "full refresh"


def dag_description(source: SourceConfig) -> str:
    """One line for the DAG list."""
    return f"Ingest {source.name} ({source.type}) into raw.{source.name}__*"
