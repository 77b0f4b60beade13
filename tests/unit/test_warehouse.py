"""The warehouse core: shared names, Assets and the sensitivity order (no database)."""

from __future__ import annotations

import pytest

from scrollintel import warehouse

pytestmark = pytest.mark.unit


def test_raw_table_and_asset() -> None:
    assert warehouse.raw_table("shop", "orders") == "raw.shop__orders"
    asset = warehouse.raw_asset("shop", "orders")
    assert (asset.name, asset.uri, asset.group) == (
        "raw.shop__orders",
        "x-scrollintel://warehouse/raw/shop__orders",
        "raw",
    )


def test_lineage_names() -> None:
    assert warehouse.warehouse_namespace() == "postgres://warehouse:5432"
    assert warehouse.warehouse_dataset_name("marts", "orders") == "warehouse.marts.orders"


def test_highest_sensitivity() -> None:
    assert warehouse.highest_sensitivity(["internal", None, "restricted", "confidential"]) == "restricted"
    assert warehouse.highest_sensitivity([None]) is None
