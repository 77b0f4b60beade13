"""Marquez node ids and the store's deterministic row ids (no database)."""

from __future__ import annotations

import pytest

from scrollintel.lineage.errors import InvalidNodeId
from scrollintel.lineage.nodes import NodeRef, dataset_uuid, field_uuid, job_uuid, parse_node_id

pytestmark = pytest.mark.unit


def test_a_uri_namespace_is_read_the_way_marquez_reads_it_first() -> None:
    first = parse_node_id("dataset:postgres://warehouse:5432:warehouse.raw.shop__orders")[0]

    assert first == NodeRef("dataset", "postgres://warehouse:5432", "warehouse.raw.shop__orders")


def test_every_split_is_a_candidate_when_names_hold_colons() -> None:
    candidates = parse_node_id("job:ns:a:b")

    assert [(c.namespace, c.name) for c in candidates] == [("ns", "a:b"), ("ns:a", "b")]


def test_a_field_node_ends_with_its_column_and_a_version_suffix_is_ignored() -> None:
    ref = parse_node_id("datasetField:s3://bucket:landing/orders.csv:amount#6f2d1c1e-8a57-5d0b-9a0e-3c1f5e7b2a64")[0]

    assert (ref.kind, ref.namespace, ref.name, ref.field) == (
        "datasetField",
        "s3://bucket",
        "landing/orders.csv",
        "amount",
    )
    assert ref.node_id == "datasetField:s3://bucket:landing/orders.csv:amount"
    assert ref.dataset.node_id == "dataset:s3://bucket:landing/orders.csv"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("table:x:y", "must start with 'dataset:', 'job:' or 'datasetField:'"),
        ("dataset:only", "expected dataset:<namespace>:<name>"),
        ("dataset::name", "expected dataset:<namespace>:<name>"),
        ("datasetField:ns:name:", "a datasetField node ends with ':<field>'"),
    ],
)
def test_malformed_node_ids_say_what_is_expected(value: str, message: str) -> None:
    with pytest.raises(InvalidNodeId, match=message):
        parse_node_id(value)


def test_row_ids_are_stable_and_unambiguous() -> None:
    assert dataset_uuid("a:b", "c") != dataset_uuid("a", "b:c")
    assert dataset_uuid("ns", "t") == dataset_uuid("ns", "t")
    assert dataset_uuid("ns", "t") != job_uuid("ns", "t")
    assert str(field_uuid("postgres://warehouse:5432", "warehouse.raw.shop__customers", "email")) == (
        "8495fb8f-c4f9-5f92-8c9e-917dfa869ca2"
    )
