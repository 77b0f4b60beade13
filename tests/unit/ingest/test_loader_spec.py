"""What the loader checks before touching the warehouse (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scrollintel.config import load_governance
from scrollintel.config.sources import DeleteDetection
from scrollintel.db import libpq_url
from scrollintel.ingest.connectors.base import DiscoveredSchema, SourceColumn
from scrollintel.ingest.cursors import effective_lookback
from scrollintel.ingest.deletes import is_due
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


def test_a_lookback_that_does_not_fit_the_cursor_type_names_file_resource_and_key() -> None:
    def schema(cursor_type: str) -> DiscoveredSchema:
        return DiscoveredSchema("t", (SourceColumn("id", "bigint", "bigint"), SourceColumn("c", "x", cursor_type)))

    minutes = timedelta(minutes=5)
    ResourceSpec("shop", "orders", ("id",), cursor="c", lookback=minutes).check(schema("timestamptz"))
    ResourceSpec("shop", "orders", ("id",), cursor="c", lookback=100).check(schema("bigint"))
    ResourceSpec("shop", "orders", ("id",), cursor="c", lookback=0).check(schema("text"))
    ResourceSpec("shop", "orders", ("id",), cursor="c").check(schema("text"))  # the default fits every type
    prefix = r"governance/sources/shop\.yaml: shop\.orders: lookback of cursor 'c': "
    with pytest.raises(ResourceConfigError, match=prefix + "a duration does not fit a bigint cursor; use a whole"):
        ResourceSpec("shop", "orders", ("id",), cursor="c", lookback=minutes).check(schema("bigint"))
    with pytest.raises(ResourceConfigError, match=prefix + "a number of units does not fit a date cursor; use a dur"):
        ResourceSpec("shop", "orders", ("id",), cursor="c", lookback=10).check(schema("date"))
    with pytest.raises(ResourceConfigError, match=prefix + r"a duration does not fit a text cursor; use 0 \(a value"):
        ResourceSpec("shop", "orders", ("id",), cursor="c", lookback=minutes).check(schema("text"))
    soft = ResourceSpec("shop", "orders", ("id",), cursor="c", delete_detection="soft")
    with pytest.raises(ResourceConfigError, match=r"_deleted_at clash with the raw table's metadata columns"):
        soft.check(DiscoveredSchema("t", (*schema("date").columns, SourceColumn("_deleted_at", "date", "date"))))


def test_default_lookbacks_by_cursor_kind() -> None:
    assert effective_lookback(None, "timestamptz") == effective_lookback(None, "date") == timedelta(minutes=5)
    assert effective_lookback(None, "bigint") == effective_lookback(None, "numeric(20,0)") == 0
    assert effective_lookback(None, "text") == 0
    assert effective_lookback(timedelta(0), "timestamptz") == timedelta(0)


def test_delete_detection_is_due_every_period_from_the_last_reconcile() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert is_due(None, now, timedelta(days=1))
    assert not is_due(now - timedelta(hours=23), now, timedelta(days=1))
    assert is_due(now - timedelta(days=1), now, timedelta(days=1))
    source = load_governance().source("shop")
    shop = source.model_copy(
        update={"tables": [source.tables[0].model_copy(update={"delete_detection": DeleteDetection(mode="hard")})]}
    )
    spec = ResourceSpec.from_config(shop, "customers")
    assert (spec.delete_detection, spec.reconcile_every, spec.lookback) == ("hard", timedelta(days=1), None)


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
