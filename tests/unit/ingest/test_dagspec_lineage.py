"""Parse-time DAG metadata, Asset URIs and OpenLineage facets of a load (no database)."""

from __future__ import annotations

import pytest

from scrollintel.config import load_governance
from scrollintel.ingest import dagspec, lineage
from scrollintel.ingest.classify import ColumnClass
from scrollintel.ingest.spec import LoadResult

pytestmark = pytest.mark.unit


def test_classification_tag_is_the_highest_declared_sensitivity_at_least_confidential() -> None:
    governance = load_governance()
    assert dagspec.dag_tags(governance.source("shop"), governance) == ["ingestion", "restricted"]
    assert governance.source_sensitivity(governance.source("stores")) == "confidential"
    assert governance.source("shop").declared_classes() == {"payment_card", "iban"}


def test_doc_md_lists_every_resource_and_its_asset() -> None:
    governance = load_governance()
    doc = dagspec.dag_doc(governance.source("shop"), governance)
    assert doc.startswith("### Ingestion: shop")
    assert "| `raw.shop__orders` | order_id | `updated_at` | `x-scrollintel://warehouse/raw/shop__orders` |" in doc
    marketing = dagspec.dag_doc(governance.source("marketing"), governance)
    assert "| `raw.marketing__events` | event_id | API cursor |" in marketing
    assert "| `raw.marketing__campaigns` | campaign_id | full refresh |" in marketing


def test_operator_lineage_facets() -> None:
    result = LoadResult(
        "shop", "customers", "raw.shop__customers", "r1", "b1", "incremental",
        source_rows=12, loaded_rows=10, inserted_rows=4, updated_rows=3, unchanged_rows=3, quarantined_rows=2,
    )  # fmt: skip
    columns = [
        {"name": "customer_id", "source_type": "bigint", "pg_type": "bigint", "nullable": False},
        {"name": "email", "source_type": "character varying(200)", "pg_type": "text", "nullable": False},
    ]
    classes = [
        ColumnClass("customer_id", None, None, None, "none"),
        ColumnClass("email", "email", "confidential", "hash", "name+values", 1.0, 50),
    ]
    built = lineage.build_operator_lineage(
        result, source_namespace="postgres://db:5432", source_name="shop.public.customers",
        source_columns=columns, classes=classes, sensitivity="confidential",
    )  # fmt: skip
    (source,) = built.inputs
    assert [(f.name, f.type) for f in source.facets["schema"].fields] == [
        ("customer_id", "bigint"),
        ("email", "character varying(200)"),
    ]
    raw, quarantine = built.outputs
    assert (raw.namespace, raw.name) == ("postgres://warehouse:5432", "warehouse.raw.shop__customers")
    assert raw.outputFacets["outputStatistics"].rowCount == 7  # inserted + updated
    assert [f.name for f in raw.facets["schema"].fields] == ["customer_id", "email", "_loaded_at", "_run_id"]
    email = raw.facets["columnLineage"].fields["email"]
    assert (email.inputFields[0].namespace, email.inputFields[0].field) == ("postgres://db:5432", "email")
    assert [(t.key, t.value, t.field) for t in raw.facets["tags"].tags] == [
        ("classification", "email", "email"),
        ("sensitivity", "confidential", None),
    ]
    assert quarantine.name == "warehouse.raw_quarantine.shop__customers"
    assert quarantine.outputFacets["outputStatistics"].rowCount == 2
