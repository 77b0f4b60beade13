"""What the loader checks before touching the warehouse (no database)."""

from __future__ import annotations

import pytest

from scrollintel.config import load_governance
from scrollintel.db import libpq_url
from scrollintel.ingest.connectors.base import DiscoveredSchema, SourceColumn
from scrollintel.ingest.errors import CountMismatchError, ResourceConfigError, UnsupportedServerError
from scrollintel.ingest.loader import check_server_version, is_data_error
from scrollintel.ingest.spec import LoadResult, ResourceSpec

pytestmark = pytest.mark.unit


def test_specs_follow_each_source_type() -> None:
    sources = load_governance().sources
    orders = ResourceSpec.from_config(sources["shop"], "orders")
    assert (orders.raw_table, orders.primary_key, orders.cursor, orders.incremental, orders.schema_policy) == (
        "raw.shop__orders",
        ("order_id",),
        "updated_at",
        True,
        "freeze",
    )
    events = ResourceSpec.from_config(sources["marketing"], "events")
    campaigns = ResourceSpec.from_config(sources["marketing"], "campaigns")
    assert (events.cursor, events.incremental, campaigns.incremental) == (None, True, False)  # API cursor / full
    inventory = ResourceSpec.from_config(sources["stores"], "inventory")
    assert inventory.incremental and inventory.primary_key == ("snapshot_date", "store_id", "product_id")


def _schema(*names: str) -> DiscoveredSchema:
    return DiscoveredSchema("t", tuple(SourceColumn(name, "text", "text") for name in names))


def test_check_names_what_does_not_fit() -> None:
    spec = ResourceSpec("shop", "orders", ("order_id",), cursor="updated_at")
    with pytest.raises(
        ResourceConfigError, match=r"primary key column\(s\) order_id not in the source \(columns: a, b\)"
    ):
        spec.check(_schema("a", "b"))
    with pytest.raises(ResourceConfigError, match=r"cursor column 'updated_at' not in the source"):
        spec.check(_schema("order_id"))
    with pytest.raises(ResourceConfigError, match="clash with the raw table's metadata columns"):
        spec.check(_schema("order_id", "updated_at", "_run_id"))
    with pytest.raises(ResourceConfigError, match="PostgreSQL allows 63"):
        ResourceSpec("s" * 40, "r" * 30, ("id",)).check(_schema("id"))


def test_old_servers_are_refused_with_the_reason() -> None:
    check_server_version(160000)
    check_server_version(180006)
    with pytest.raises(UnsupportedServerError, match=r"PostgreSQL 15\.20; the ingestion loader needs PostgreSQL 16"):
        check_server_version(150020, "15.20")


def test_data_errors_are_told_apart() -> None:
    class Err(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    assert is_data_error(Err("22P02")) and is_data_error(Err("23505")) and is_data_error(Err("21000"))
    assert not is_data_error(Err("42P01")) and not is_data_error(Err("57014")) and not is_data_error(ValueError())


def test_counts_must_add_up() -> None:
    result = LoadResult(
        "s", "r", "raw.s__r", "run", "b", "incremental", source_rows=10, loaded_rows=7, quarantined_rows=3
    )
    result.check_counts()
    result.loaded_rows = 6
    with pytest.raises(CountMismatchError, match=r"10 row\(s\) read from the source but 6 loaded \+ 3 quarantined = 9"):
        result.check_counts()


def test_libpq_url() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h:1/d") == "postgresql://u:p@h:1/d"
    assert libpq_url("postgres://u@h/d") == "postgresql://u@h/d"
    assert libpq_url("host=h dbname=d") == "host=h dbname=d"
