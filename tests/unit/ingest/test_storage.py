"""The statistics target a raw column gets from its warehouse type (scrollintel.ingest.storage)."""

from __future__ import annotations

import pytest

from scrollintel.ingest.storage import DOCUMENT_STATISTICS_TARGET, statistics_target

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "pg_type",
    ["json", "jsonb", "xml", "bytea", "tsvector", "point", "box", "polygon", "text[]", "integer[]",
     "numeric(12,2)[]", '"raw_types"."src__mood"[]', "jsonb[][]"],
)  # fmt: skip
def test_documents_and_collections_get_the_low_target(pg_type: str) -> None:
    assert statistics_target(pg_type) == DOCUMENT_STATISTICS_TARGET


@pytest.mark.parametrize(
    "pg_type",
    ["bigint", "integer", "numeric(12,2)", "text", "timestamptz", "date", "boolean", "uuid", "inet",
     "bit varying(16)", "interval", "int4range", "tstzrange", "nummultirange", "tsquery", '"raw_types"."src__mood"'],
)  # fmt: skip
def test_columns_a_query_may_filter_join_or_group_on_keep_the_default(pg_type: str) -> None:
    assert statistics_target(pg_type) is None
