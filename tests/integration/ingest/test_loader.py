"""The loader against real PostgreSQL: exactly once, replay-safe, quarantine, drift, full refresh."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.demo.shop import SHOP_TABLES
from scrollintel.ingest import notifications as events
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.errors import CountMismatchError, IngestError, ResourceConfigError, SchemaDriftError
from scrollintel.ingest.loader import load_resource
from scrollintel.ingest.spec import ResourceSpec
from tests.integration.demo.helpers import PRIMARY_KEYS
from tests.integration.ingest.helpers import (
    STRATEGIES,
    CsvConnector,
    checksum,
    connect,
    csv_spec,
    execute,
    postgres_source,
    scalar,
)

pytestmark = pytest.mark.integration

APPLIED_BY = {"upsert": "upsert", "join-rewrite": "rewrite", "join-apply": "changes"}


@contextmanager
def _sent_events() -> Iterator[list[events.IngestEvent]]:
    """The ingestion events sent to notification hooks inside the ``with`` block, in order."""
    seen: list[events.IngestEvent] = []

    class Hook:
        def notify(self, event: events.IngestEvent) -> None:
            seen.append(event)

    hook = Hook()
    events.register_hook(hook)
    try:
        yield seen
    finally:
        events.unregister_hook(hook)


def _columns(url: str, table: str) -> list[str]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return [row[0] for row in rows]


def _raw_state(url: str, table: str) -> str:
    """Every column of a raw table including metadata: changes when any row is rewritten."""
    return str(scalar(url, f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"))


def _cursor(url: str, source: str, resource: str) -> Any:
    return scalar(
        url, "SELECT cursor_value FROM governance.ingest_cursor WHERE source = %s AND resource = %s", (source, resource)
    )


# --------------------------------------------------------------------------- the demo shop


def test_every_shop_table_lands_exactly_and_a_replay_changes_nothing(shop_url: str, warehouse: str) -> None:
    source = load_governance().source("shop")
    connector = PostgresConnector(source, shop_url)  # type: ignore[arg-type]
    for table in SHOP_TABLES:
        spec = ResourceSpec.from_config(source, table)
        first = load_resource(connector, spec, warehouse, run_id="run-1")
        count = scalar(shop_url, f"SELECT count(*) FROM {table}")
        assert (first.mode, first.path) == ("initial", "direct-binary")
        assert first.source_rows == first.loaded_rows == first.inserted_rows == count
        assert first.quarantined_rows == 0
        columns = _columns(shop_url, table)
        assert checksum(warehouse, f"raw.shop__{table}", columns, PRIMARY_KEYS[table]) == checksum(
            shop_url, table, columns, PRIMARY_KEYS[table]
        )
        before = _raw_state(warehouse, f"raw.shop__{table}")
        replay = load_resource(connector, spec, warehouse, run_id="run-2")
        assert replay.mode == "incremental"
        assert replay.source_rows >= 1  # rows at the last cursor value are read again ...
        assert (replay.inserted_rows, replay.updated_rows) == (0, 0)  # ... and change nothing
        assert replay.unchanged_rows == replay.source_rows
        assert replay.cursor_after == first.cursor_after
        assert _raw_state(warehouse, f"raw.shop__{table}") == before
    runs = scalar(warehouse, "SELECT count(*) FROM governance.ingest_load_run WHERE status = 'succeeded'")
    assert runs == 2 * len(SHOP_TABLES)


def _copy_orders(shop_url: str, source_db: str, *, rows: int = 1000) -> None:
    """A writable copy of the first shop orders in ``source_db``."""
    with connect(shop_url) as src, connect(source_db, autocommit=True) as dst:
        dst.execute(
            "CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id bigint NOT NULL, ordered_at timestamptz, "
            "status text, channel text, total_amount numeric(12,2), currency char(3), updated_at timestamptz NOT NULL)"
        )
        with (
            src.cursor().copy(
                f"COPY (SELECT * FROM orders ORDER BY order_id LIMIT {rows}) TO STDOUT (FORMAT binary)"
            ) as out,
            dst.cursor().copy("COPY orders FROM STDIN (FORMAT binary)") as into,
        ):
            for data in out:
                into.write(data)


ORDER_COLUMNS = ["order_id", "customer_id", "ordered_at", "status", "channel", "total_amount", "currency", "updated_at"]


def _orders_source(policy: str = "freeze", cursor: str | None = "updated_at") -> Any:
    return postgres_source("src", [{"name": "orders", "primary_key": ["order_id"], "cursor": cursor}], policy=policy)


def _orders_loaded_once(
    shop_url: str, source_db: str, warehouse: str, *, cursor: str | None = "updated_at"
) -> tuple[PostgresConnector, ResourceSpec]:
    """1,000 shop orders copied to ``source_db`` and loaded once (run ``first``): their connector and spec."""
    _copy_orders(shop_url, source_db)
    source = _orders_source(cursor=cursor)
    connector = PostgresConnector(source, source_db)
    spec = ResourceSpec.from_config(source, "orders")
    load_resource(connector, spec, warehouse, run_id="first")
    return connector, spec


def _assert_orders_landed(warehouse: str, source_db: str) -> None:
    assert checksum(warehouse, "raw.src__orders", ORDER_COLUMNS, "order_id") == checksum(
        source_db, "orders", ORDER_COLUMNS, "order_id"
    )


def test_incremental_load_merges_changed_and_new_rows_only(
    shop_url: str, source_db: str, warehouse: str, strategy: str
) -> None:
    connector, spec = _orders_loaded_once(shop_url, source_db, warehouse)
    execute(
        source_db,
        "UPDATE orders SET status = 'returned', updated_at = '2026-02-01T00:00:00Z' WHERE order_id % 10 = 0",
        "INSERT INTO orders SELECT order_id + 100000, customer_id, ordered_at, status, channel, total_amount, "
        "currency, '2026-02-02T00:00:00Z' FROM orders WHERE order_id % 10 = 1",
    )
    second = load_resource(connector, spec, warehouse, run_id="second")
    assert second.mode == "incremental" and second.path == "staged-binary"
    assert second.applied_by == APPLIED_BY[strategy]
    # only rows at or after the stored cursor are read: the 200 changed ones and the one at the old cursor
    assert second.source_rows == 201
    assert (second.inserted_rows, second.updated_rows, second.unchanged_rows) == (100, 100, 1)
    assert second.cursor_after == "2026-02-02 00:00:00+00"
    _assert_orders_landed(warehouse, source_db)
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__orders WHERE _run_id = 'second'") == 200


def test_full_refresh_deletes_rows_gone_from_the_source_and_replays_as_a_no_op(
    shop_url: str, source_db: str, warehouse: str, strategy: str
) -> None:
    connector, spec = _orders_loaded_once(shop_url, source_db, warehouse, cursor=None)
    assert spec.incremental is False
    execute(
        source_db,
        "DELETE FROM orders WHERE order_id % 7 = 0",
        "UPDATE orders SET total_amount = total_amount + 1 WHERE order_id % 7 = 1",
    )
    deleted = 1000 - scalar(source_db, "SELECT count(*) FROM orders")
    second = load_resource(connector, spec, warehouse, run_id="second")
    assert second.mode == "full_refresh" and second.applied_by == APPLIED_BY[strategy]
    assert second.deleted_rows == deleted
    assert second.updated_rows == scalar(source_db, "SELECT count(*) FROM orders WHERE order_id % 7 = 1")
    _assert_orders_landed(warehouse, source_db)
    before = _raw_state(warehouse, "raw.src__orders")
    third = load_resource(connector, spec, warehouse, run_id="third")
    assert (third.inserted_rows, third.updated_rows, third.deleted_rows) == (0, 0, 0)
    assert _raw_state(warehouse, "raw.src__orders") == before


def _partitions(url: str, table: str) -> list[str]:
    """The partitions of raw.<table>, as schema.name."""
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", (f"raw.{table}",)
        ).fetchall()
    return [row[0] for row in rows]


def _rewrite_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    from scrollintel.ingest import loader

    for name, value in STRATEGIES["join-rewrite"].items():
        monkeypatch.setattr(loader, name, value)


def test_a_rewrite_swaps_in_a_new_partition_and_views_over_the_raw_table_stay_valid(
    shop_url: str, source_db: str, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector, spec = _orders_loaded_once(shop_url, source_db, warehouse)
    assert scalar(warehouse, "SELECT relkind FROM pg_class WHERE oid = 'raw.src__orders'::regclass") == "p"
    (first,) = _partitions(warehouse, "src__orders")
    assert first.startswith("raw_storage.src__orders__")
    key = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'"
    assert scalar(warehouse, key, (first,)) == "PRIMARY KEY (order_id)"
    # the raw table itself has statistics (autovacuum never gathers them for a partitioned table)
    stats = "SELECT count(*) FROM pg_stats WHERE schemaname = 'raw' AND tablename = 'src__orders' AND inherited"
    assert scalar(warehouse, stats) == len(ORDER_COLUMNS) + 2
    # a view over the raw table, as dbt's staging models are: it must survive every rewrite
    execute(warehouse, "CREATE VIEW public.orders_status AS SELECT order_id, status FROM raw.src__orders")
    _rewrite_everything(monkeypatch)

    # every row read changed (the one at the old cursor too), half of the table absent from the batch
    execute(
        source_db,
        "UPDATE orders SET status = 'returned', updated_at = '2026-03-01T00:00:00Z' "
        "WHERE order_id % 2 = 0 OR updated_at = (SELECT max(updated_at) FROM orders)",
    )
    changed = scalar(source_db, "SELECT count(*) FROM orders WHERE updated_at = '2026-03-01T00:00:00Z'")
    second = load_resource(connector, spec, warehouse, run_id="second")
    assert (second.applied_by, second.updated_rows, second.unchanged_rows) == ("rewrite", changed, 0)
    (swapped,) = _partitions(warehouse, "src__orders")
    assert swapped != first and scalar(warehouse, "SELECT to_regclass(%s)", (first,)) is None
    assert scalar(warehouse, key, (swapped,)) == "PRIMARY KEY (order_id)"
    _assert_orders_landed(warehouse, source_db)
    # the rows absent from the batch were carried over as they were
    by_run = "SELECT _run_id, count(*) FROM raw.src__orders GROUP BY 1 ORDER BY 1"
    with connect(warehouse) as conn:
        assert conn.execute(by_run).fetchall() == [("first", 1000 - changed), ("second", changed)]
    returned = "SELECT count(*) FROM {} WHERE status = 'returned'"
    assert scalar(warehouse, returned.format("public.orders_status")) == scalar(source_db, returned.format("orders"))

    # some rows read again unchanged: the kept and changed rows go to another new partition
    execute(source_db, "UPDATE orders SET status = 'lost', updated_at = '2026-04-01T00:00:00Z' WHERE order_id % 3 = 0")
    kept = scalar(source_db, "SELECT count(*) FROM orders WHERE updated_at = '2026-03-01T00:00:00Z'")
    third = load_resource(connector, spec, warehouse, run_id="third")
    assert third.applied_by == "rewrite" and third.unchanged_rows == kept > 0
    (again,) = _partitions(warehouse, "src__orders")
    assert again not in (first, swapped)
    _assert_orders_landed(warehouse, source_db)
    lost = scalar(source_db, "SELECT count(*) FROM orders WHERE status = 'lost'")
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__orders WHERE _run_id = 'third'") == lost
    assert scalar(warehouse, "SELECT count(*) FROM public.orders_status WHERE status = 'lost'") == lost


def test_a_raw_table_from_before_partitions_is_still_loaded_and_rewritten_in_place(
    shop_url: str, source_db: str, warehouse: str, strategy: str
) -> None:
    connector, spec = _orders_loaded_once(shop_url, source_db, warehouse)
    # the raw table as loads before migration 0007 left it: a plain table holding the key
    execute(
        warehouse,
        "CREATE TABLE raw.plain AS SELECT * FROM raw.src__orders",
        "DROP TABLE raw.src__orders",
        "ALTER TABLE raw.plain RENAME TO src__orders",
        "ALTER TABLE raw.src__orders ADD CONSTRAINT src__orders_pkey PRIMARY KEY (order_id), "
        "ALTER COLUMN _loaded_at SET DEFAULT now(), ALTER COLUMN _loaded_at SET NOT NULL, "
        "ALTER COLUMN _run_id SET NOT NULL",
    )
    execute(source_db, "UPDATE orders SET status = 'returned', updated_at = '2026-03-01T00:00:00Z'")
    second = load_resource(connector, spec, warehouse, run_id="second")
    assert second.applied_by == APPLIED_BY[strategy] and second.updated_rows == 1000
    assert scalar(warehouse, "SELECT relkind FROM pg_class WHERE oid = 'raw.src__orders'::regclass") == "r"
    _assert_orders_landed(warehouse, source_db)
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__orders WHERE _run_id = 'second'") == 1000


def _keyless_orders(source_db: str) -> Any:
    """A source table without a primary key constraint (a view or a careless table): 500 rows, note 'v1'."""
    execute(
        source_db,
        "CREATE TABLE orders (order_id bigint, note text, updated_at timestamptz NOT NULL)",
        "INSERT INTO orders SELECT g, 'v1', '2026-01-01'::timestamptz + g * interval '1 minute' "
        "FROM generate_series(1, 500) g",
    )
    return postgres_source("src", [{"name": "orders", "primary_key": ["order_id"], "cursor": "updated_at"}])


def _quarantined(url: str, table: str, batch_id: str) -> list[tuple[str, str, str, str]]:
    """(key, note, reason, run_id) of a batch's quarantined rows, sorted."""
    with connect(url) as conn:
        rows = conn.execute(
            f"SELECT raw_row->>'order_id', raw_row->>'note', reason, run_id FROM raw_quarantine.{table} "
            "WHERE batch_id = %s ORDER BY 1, 2",
            (batch_id,),
        ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_every_row_of_a_key_duplicated_in_a_first_load_is_quarantined(
    source_db: str, warehouse: str, strategy: str
) -> None:
    source = _keyless_orders(source_db)
    execute(
        source_db,
        # 7 twice, 9 three times, 11 twice with the very same values, and a null key
        "INSERT INTO orders VALUES (NULL, 'no key', '2026-01-01'), (7, 'v2', '2026-03-01'), (9, 'v2', '2026-03-02'), "
        "(9, 'v3', '2026-03-03'), (11, 'v1', '2026-01-01'::timestamptz + 11 * interval '1 minute')",
    )
    result = load_resource(
        PostgresConnector(source, source_db), ResourceSpec.from_config(source, "orders"), warehouse, run_id="r1"
    )
    twice, thrice = (
        "order_id: duplicate primary key (2 rows in the batch)",
        "order_id: duplicate primary key (3 rows in the batch)",
    )
    assert result.source_rows == 505
    assert result.quarantine_reasons == {"order_id: null primary key": 1, twice: 4, thrice: 3}
    assert result.quarantined_rows == 8 and result.loaded_rows == 497 == result.inserted_rows
    # none of the copies is loaded: the batch does not say which one is right
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__orders WHERE order_id IN (7, 9, 11)") == 0
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__orders") == 497
    # every copy is kept, the two identical ones included
    assert _quarantined(warehouse, "src__orders", result.batch_id) == [
        ("11", "v1", twice, "r1"),
        ("11", "v1", twice, "r1"),
        ("7", "v1", twice, "r1"),
        ("7", "v2", twice, "r1"),
        ("9", "v1", thrice, "r1"),
        ("9", "v2", thrice, "r1"),
        ("9", "v3", thrice, "r1"),
        (None, "no key", "order_id: null primary key", "r1"),
    ]
    # quarantined rows count for the cursor, as for any quarantined row
    assert result.cursor_after == "2026-03-03 00:00:00+00" == _cursor(warehouse, "src", "orders")


def test_a_key_duplicated_in_a_later_batch_is_quarantined_even_when_one_copy_is_the_stored_row(
    source_db: str, warehouse: str, strategy: str
) -> None:
    source = _keyless_orders(source_db)
    connector, spec = PostgresConnector(source, source_db), ResourceSpec.from_config(source, "orders")
    first = load_resource(connector, spec, warehouse, run_id="first")
    stored = _raw_state(warehouse, "raw.src__orders")
    # 500 is at the stored cursor, so it is read again as it is stored; a second copy comes with it
    execute(
        source_db,
        "INSERT INTO orders SELECT g, 'new', '2026-02-01'::timestamptz + g * interval '1 minute' "
        "FROM generate_series(501, 510) g",
        "INSERT INTO orders VALUES (500, 'v2', '2026-03-01')",
    )
    second = load_resource(connector, spec, warehouse, run_id="second")
    reason = "order_id: duplicate primary key (2 rows in the batch)"
    assert second.applied_by == APPLIED_BY[strategy]
    # the default lookback of 5 minutes re-reads 495-499 (one a minute) as they are stored
    assert second.source_rows == 17 == second.loaded_rows + second.quarantined_rows
    assert (second.inserted_rows, second.updated_rows, second.unchanged_rows) == (10, 0, 5)
    assert second.quarantine_reasons == {reason: 2}
    assert _quarantined(warehouse, "src__orders", second.batch_id) == [
        ("500", "v1", reason, "second"),
        ("500", "v2", reason, "second"),
    ]
    # the stored row of 500 is untouched (values, _loaded_at, _run_id), the rest as before plus the new rows
    assert scalar(warehouse, "SELECT note || ' ' || _run_id FROM raw.src__orders WHERE order_id = 500") == "v1 first"
    assert _raw_state(warehouse, "(SELECT * FROM raw.src__orders WHERE order_id <= 500)") == stored
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__orders WHERE _run_id = 'second'") == 10
    assert first.cursor_after != second.cursor_after == "2026-03-01 00:00:00+00"


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "incremental"])
def test_a_key_duplicated_with_two_new_versions_is_quarantined_on_a_composite_key(
    warehouse: str, strategy: str, first_load: bool
) -> None:
    columns = [("region", "text"), ("id", "bigint"), ("qty", "integer")]
    spec = ResourceSpec(source="dup", resource="items", primary_key=("region", "id"))
    stored_rows = [f"eu,{i},1" for i in range(1, 101)]
    if not first_load:
        load_resource(CsvConnector(columns, stored_rows), spec, warehouse, run_id="first")
    # eu/7 twice, both unlike the stored row (one written 007: the same bigint); us/7 is another key
    batch = [*stored_rows[10:], "eu,7,2", "us,7,5", "eu,007,3", "eu,200,1"]
    result = load_resource(CsvConnector(columns, batch), spec, warehouse, run_id="second")
    reason = "region, id: duplicate primary key (2 rows in the batch)"
    assert result.source_rows == 94 == result.loaded_rows + result.quarantined_rows
    assert result.quarantine_reasons == {reason: 2}
    with connect(warehouse) as conn:
        kept = conn.execute(
            "SELECT raw_row->>'id', raw_row->>'qty' FROM raw_quarantine.dup__items WHERE batch_id = %s ORDER BY 2",
            (result.batch_id,),
        ).fetchall()
        landed = conn.execute("SELECT region, qty, _run_id FROM raw.dup__items WHERE id = 7 ORDER BY 1").fetchall()
    assert kept == [("7", "2"), ("007", "3")]
    if first_load:
        assert landed == [("us", 5, "second")]
        assert (result.inserted_rows, result.unchanged_rows) == (92, 0)
    else:
        assert landed == [("eu", 1, "first"), ("us", 5, "second")]
        assert (result.inserted_rows, result.updated_rows, result.unchanged_rows) == (2, 0, 90)


def test_a_key_duplicated_in_a_batch_that_changes_every_row_is_quarantined(warehouse: str, strategy: str) -> None:
    # every stored row changes, so a rewrite inserts the whole stage without looking for
    # duplicates first: the primary key it rebuilds must catch eu/7 twice
    columns = [("region", "text"), ("id", "bigint"), ("qty", "integer")]
    spec = ResourceSpec(source="dup", resource="changed", primary_key=("region", "id"))
    load_resource(CsvConnector(columns, [f"eu,{i},1" for i in range(1, 101)]), spec, warehouse, run_id="first")
    batch = [f"eu,{i},2" for i in range(1, 101)] + ["eu,7,3"]
    result = load_resource(CsvConnector(columns, batch), spec, warehouse, run_id="second")
    reason = "region, id: duplicate primary key (2 rows in the batch)"
    assert result.applied_by == APPLIED_BY[strategy]
    assert result.source_rows == 101 == result.loaded_rows + result.quarantined_rows
    assert (result.inserted_rows, result.updated_rows, result.unchanged_rows) == (0, 99, 0)
    assert result.quarantine_reasons == {reason: 2}
    assert scalar(warehouse, "SELECT qty || ' ' || _run_id FROM raw.dup__changed WHERE id = 7") == "1 first"
    assert scalar(warehouse, "SELECT count(*) FROM raw.dup__changed WHERE qty = 2 AND _run_id = 'second'") == 99


# --------------------------------------------------------------------------- quarantine


def _rows_with_one_percent_bad(n: int = 5000) -> tuple[list[str], dict[int, str]]:
    """``id,qty,price,day,label`` rows; every 100th row is broken in one of five ways."""
    rows, broken = [], {}
    for i in range(1, n + 1):
        qty, price, day = str(i % 50), f"{i % 1000}.25", f"2026-01-{1 + i % 28:02d}"
        key = str(i)
        if i % 100 == 0:
            kind = (i // 100) % 5
            if kind == 0:
                qty = "seven"
                broken[i] = "qty: not a valid integer"
            elif kind == 1:
                price = "12.5x"
                broken[i] = "price: not a valid numeric(10,2)"
            elif kind == 2:
                day = "2026-02-30"
                broken[i] = "day: not a valid date"
            elif kind == 3:
                qty = "99999999999"
                broken[i] = "qty: not a valid integer"
            else:
                price = "123456789.99"  # too many digits for numeric(10,2)
                broken[i] = "price: not a valid numeric(10,2)"
        rows.append(f'{key},{qty},{price},{day},"label, {i}"')
    return rows, broken


COLUMNS = [("id", "bigint"), ("qty", "integer"), ("price", "numeric(10,2)"), ("day", "date"), ("label", "text")]


def test_identical_malformed_rows_are_each_kept_in_quarantine_and_a_replay_adds_none(warehouse: str) -> None:
    # a null key is never a duplicate key: three identical rows reach the invalid-row quarantine
    rows = ["1,1,1.00,2026-01-01,a"] + [",seven,1.00,2026-01-01,same"] * 3 + ["2,2,2.00,2026-01-02,b"]
    spec = csv_spec("same")
    first = load_resource(CsvConnector(COLUMNS, rows), spec, warehouse, run_id="first")
    assert first.quarantine_reasons == {"id: null primary key; qty: not a valid integer": 3}
    assert first.source_rows == 5 == first.loaded_rows + first.quarantined_rows
    stored = "SELECT count(*) FROM raw_quarantine.same__items WHERE raw_row ->> 'label' = 'same'"
    assert scalar(warehouse, stored) == 3
    replay = load_resource(CsvConnector(COLUMNS, rows), spec, warehouse, run_id="replay")
    assert replay.quarantined_rows == 3 and scalar(warehouse, stored) == 3


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "incremental"])
def test_one_percent_malformed_rows_are_quarantined_with_a_reason_and_the_run_succeeds(
    warehouse: str, first_load: bool, strategy: str
) -> None:
    rows, broken = _rows_with_one_percent_bad()
    spec = csv_spec("csvsrc")
    if not first_load:  # the raw table exists: the malformed rows arrive through the staged merge
        load_resource(CsvConnector(COLUMNS, ["1,1,1.00,2026-01-01,x"]), spec, warehouse, run_id="seed")
    result = load_resource(CsvConnector(COLUMNS, rows), spec, warehouse, run_id="bad-batch", chunk_rows=700)
    assert result.source_rows == 5000
    assert result.quarantined_rows == len(broken) == 50
    assert result.loaded_rows == 5000 - 50 == result.source_rows - result.quarantined_rows
    assert sum(result.quarantine_reasons.values()) == 50
    with connect(warehouse) as conn:
        quarantined = conn.execute(
            "SELECT (raw_row->>'id')::bigint, reason, detail, run_id, batch_id, raw_row "
            "FROM raw_quarantine.csvsrc__items"
        ).fetchall()
        landed = {row[0] for row in conn.execute("SELECT id FROM raw.csvsrc__items").fetchall()}
    assert {row[0]: row[1] for row in quarantined} == broken
    assert all(row[3] == "bad-batch" and row[4] == result.batch_id for row in quarantined)
    assert all(row[2] for row in quarantined)  # PostgreSQL's own message, e.g. invalid input syntax
    assert quarantined[0][5]["label"].startswith("label, ")  # the raw text of every column is kept
    assert not landed & set(broken)  # none of them in the target
    assert len(landed) == 5000 - 50
    # replaying the batch changes nothing, in the raw table or in the quarantine
    before = _raw_state(warehouse, "raw.csvsrc__items")
    replay = load_resource(CsvConnector(COLUMNS, rows), spec, warehouse, run_id="bad-batch")
    assert (replay.inserted_rows, replay.updated_rows, replay.quarantined_rows) == (0, 0, 50)
    assert _raw_state(warehouse, "raw.csvsrc__items") == before
    assert scalar(warehouse, "SELECT count(*) FROM raw_quarantine.csvsrc__items") == 50


def test_a_csv_batch_is_staged_typed_and_read_again_as_text_only_when_a_value_does_not_fit(
    warehouse: str, strategy: str
) -> None:
    spec = csv_spec("typed")
    load_resource(
        CsvConnector(COLUMNS, [f"{i},1,1.00,2026-01-01,x" for i in range(1, 101)]), spec, warehouse, run_id="a"
    )
    changed = [f"{i},2,1.00,2026-01-01,x" for i in range(1, 101)]
    clean = load_resource(CsvConnector(COLUMNS, changed), spec, warehouse, run_id="b")
    assert (clean.path, clean.updated_rows, clean.quarantined_rows) == ("staged-typed", 100, 0)
    assert clean.applied_by == APPLIED_BY[strategy]
    changed[41] = "42,two,1.00,2026-01-01,x"
    bad = load_resource(
        CsvConnector(COLUMNS, [row.replace(",2,", ",3,") for row in changed]), spec, warehouse, run_id="c"
    )
    assert (bad.path, bad.updated_rows, bad.quarantined_rows) == ("staged", 99, 1)
    assert bad.quarantine_reasons == {"qty: not a valid integer": 1}
    assert scalar(warehouse, "SELECT count(*) FROM raw.typed__items WHERE qty = 3") == 99


def test_quarantine_is_recorded_in_the_audit_ledger_and_sent_to_hooks(warehouse: str) -> None:
    with _sent_events() as seen:
        rows, _ = _rows_with_one_percent_bad(300)
        load_resource(CsvConnector(COLUMNS, rows), csv_spec("audited"), warehouse, run_id="r1")
    assert [event.kind for event in seen] == ["rows_quarantined"]
    assert seen[0].details["rows"] == 3
    with connect(warehouse) as conn:
        entry = conn.execute(
            "SELECT action, subject, details FROM governance.audit_entry WHERE action = 'ingest.rows_quarantined'"
        ).fetchone()
    assert entry is not None
    assert entry[1] == "dataset:raw.audited__items"
    details = json.loads(entry[2]) if isinstance(entry[2], str) else entry[2]
    assert details["rows"] == 3 and details["quarantine_table"] == "raw_quarantine.audited__items"


def test_csv_that_copy_cannot_read_fails_loudly_naming_the_connector(warehouse: str) -> None:
    connector = CsvConnector(COLUMNS, ["1,1,1.00,2026-01-01,a", "2,2,2.00,2026-01-02,b,extra"])
    with pytest.raises(IngestError, match=r"CsvConnector produced CSV that COPY cannot read.*extra data"):
        load_resource(connector, csv_spec("badcsv"), warehouse, run_id="r1")
    assert scalar(warehouse, "SELECT to_regclass('raw.badcsv__items')") is None


def test_a_connector_that_miscounts_rows_fails_the_load_and_commits_nothing(warehouse: str) -> None:
    connector = CsvConnector(COLUMNS, ["1,1,1.00,2026-01-01,a", "2,2,2.00,2026-01-02,b"], lie_about_rows=1)
    with pytest.raises(CountMismatchError, match=r"3 row\(s\) read from the source but 2 loaded"):
        load_resource(connector, csv_spec("liar"), warehouse, run_id="r1")
    assert scalar(warehouse, "SELECT to_regclass('raw.liar__items')") is None
    assert scalar(warehouse, "SELECT count(*) FROM governance.ingest_cursor") == 0
    assert scalar(warehouse, "SELECT status FROM governance.ingest_load_run WHERE source = 'liar'") == "failed"


# --------------------------------------------------------------------------- drift


def _simple_source_table(source_db: str) -> None:
    execute(
        source_db,
        "CREATE TABLE customers (customer_id integer PRIMARY KEY, name text, updated_at timestamptz NOT NULL)",
        "INSERT INTO customers SELECT g, 'n' || g, '2026-01-01'::timestamptz + g * interval '1 hour' "
        "FROM generate_series(1, 100) g",
    )


def _customers(policy: str) -> tuple[Any, ResourceSpec]:
    source = postgres_source(
        "drift", [{"name": "customers", "primary_key": ["customer_id"], "cursor": "updated_at"}], policy=policy
    )
    return source, ResourceSpec.from_config(source, "customers")


def test_drift_under_freeze_fails_with_the_diff_writes_nothing_and_keeps_the_cursor(
    source_db: str, warehouse: str
) -> None:
    _simple_source_table(source_db)
    source, spec = _customers("freeze")
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="r1")
    cursor = _cursor(warehouse, "drift", "customers")
    before = _raw_state(warehouse, "raw.drift__customers")
    execute(
        source_db,
        "ALTER TABLE customers ADD COLUMN loyalty_tier text",
        "ALTER TABLE customers DROP COLUMN name",
        "UPDATE customers SET loyalty_tier = 'gold', updated_at = '2027-01-01' WHERE customer_id < 10",
    )
    with _sent_events() as seen, pytest.raises(SchemaDriftError) as failure:
        load_resource(connector, spec, warehouse, run_id="r2")
    message = str(failure.value)
    assert "schema drift in drift.customers against contract version 1" in message
    assert "+ loyalty_tier (text)" in message and "- name (text)" in message
    assert "schema_policy is 'freeze'" in message and "cursor is unchanged" in message
    assert _raw_state(warehouse, "raw.drift__customers") == before  # 0 rows written
    assert _cursor(warehouse, "drift", "customers") == cursor
    assert scalar(warehouse, "SELECT count(*) FROM raw.drift__customers WHERE _run_id = 'r2'") == 0
    with connect(warehouse) as conn:
        event = conn.execute("SELECT outcome, policy, changes FROM governance.ingest_drift_event").fetchone()
        run = conn.execute("SELECT status, error FROM governance.ingest_load_run WHERE run_id = 'r2'").fetchone()
        audited = conn.execute(
            "SELECT count(*) FROM governance.audit_entry WHERE action = 'ingest.schema_drift'"
        ).fetchone()
    assert event is not None and event[:2] == ("blocked", "freeze")
    assert {change["column"] for change in event[2]} == {"loyalty_tier", "name"}
    assert run is not None and run[0] == "blocked" and "+ loyalty_tier" in run[1]
    assert audited == (1,)
    assert [(e.kind, e.details["outcome"]) for e in seen] == [("schema_drift", "blocked")]


def test_an_approved_change_under_freeze_evolves_the_contract_and_only_that_change(
    source_db: str, warehouse: str
) -> None:
    """The schema_change gate's approval: exactly the diff shown is applied, from the unchanged cursor."""
    _simple_source_table(source_db)
    source, spec = _customers("freeze")
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="r1")
    execute(
        source_db,
        "ALTER TABLE customers ADD COLUMN loyalty_tier text",
        "UPDATE customers SET loyalty_tier = 'gold', updated_at = '2027-01-01' WHERE customer_id <= 10",
    )
    with pytest.raises(SchemaDriftError) as blocked:
        load_resource(connector, spec, warehouse, run_id="r2")
    assert blocked.value.approvable and blocked.value.contract_version == 1
    assert blocked.value.changes == [
        {"kind": "added", "column": "loyalty_tier", "old_type": None, "new_type": "text", "compatible": True}
    ]
    # the source changes again before the rerun: the approval does not cover the new diff
    execute(source_db, "ALTER TABLE customers ADD COLUMN segment text")
    approved = dataclasses.replace(spec, approved_changes=tuple(blocked.value.changes))
    with pytest.raises(SchemaDriftError, match="changed again since the change that was approved") as again:
        load_resource(connector, approved, warehouse, run_id="r3")
    assert not again.value.approvable
    execute(source_db, "ALTER TABLE customers DROP COLUMN segment")

    result = load_resource(connector, approved, warehouse, run_id="r4")

    assert result.schema_version == 2 and result.updated_rows == 10
    assert scalar(warehouse, "SELECT count(*) FROM raw.drift__customers WHERE loyalty_tier = 'gold'") == 10
    with connect(warehouse) as conn:
        events = conn.execute(
            "SELECT outcome, policy, from_version, to_version FROM governance.ingest_drift_event ORDER BY id"
        ).fetchall()
    assert events == [("blocked", "freeze", 1, None), ("blocked", "freeze", 1, None), ("applied", "freeze", 1, 2)]


def test_drift_under_evolve_adds_the_column_and_registers_a_new_version(
    source_db: str, warehouse: str, strategy: str
) -> None:
    _simple_source_table(source_db)
    source, spec = _customers("evolve")
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="r1")
    execute(
        source_db,
        "ALTER TABLE customers ADD COLUMN loyalty_tier text, ALTER COLUMN customer_id TYPE bigint",
        "UPDATE customers SET loyalty_tier = 'gold', updated_at = '2027-01-01' WHERE customer_id <= 10",
    )
    result = load_resource(connector, spec, warehouse, run_id="r2")
    assert result.schema_version == 2
    assert {(c["kind"], c["column"]) for c in result.drift} == {("added", "loyalty_tier"), ("retyped", "customer_id")}
    assert result.updated_rows == 10
    with connect(warehouse) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'raw' AND table_name = 'drift__customers'"
            ).fetchall()
        )
        event = conn.execute("SELECT outcome, from_version, to_version FROM governance.ingest_drift_event").fetchone()
    assert types["loyalty_tier"] == "text" and types["customer_id"] == "bigint"
    assert event == ("applied", 1, 2)
    assert scalar(warehouse, "SELECT count(*) FROM raw.drift__customers WHERE loyalty_tier = 'gold'") == 10
    # removing a column under evolve keeps it in the raw table (history) and loads the rest
    execute(source_db, "ALTER TABLE customers DROP COLUMN name", "UPDATE customers SET updated_at = '2027-02-01'")
    third = load_resource(connector, spec, warehouse, run_id="r3")
    assert third.schema_version == 3 and third.updated_rows == 100 and third.applied_by == APPLIED_BY[strategy]
    assert scalar(warehouse, "SELECT count(*) FROM raw.drift__customers WHERE name IS NOT NULL") == 100


def test_a_narrowing_retype_is_blocked_even_under_evolve(source_db: str, warehouse: str) -> None:
    _simple_source_table(source_db)
    source, spec = _customers("evolve")
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="r1")
    execute(source_db, "ALTER TABLE customers ALTER COLUMN name TYPE integer USING length(name)")
    with pytest.raises(SchemaDriftError, match=r"~ name: text -> integer \(not a widening"):
        load_resource(connector, spec, warehouse, run_id="r2")


def test_a_changed_primary_key_is_refused_with_what_to_do(source_db: str, warehouse: str) -> None:
    _simple_source_table(source_db)
    source, spec = _customers("evolve")
    load_resource(PostgresConnector(source, source_db), spec, warehouse, run_id="r1")
    rekeyed = ResourceSpec(**{**spec.__dict__, "primary_key": ("customer_id", "name")})
    with pytest.raises(ResourceConfigError, match=r"primary key changed from \['customer_id'\] to"):
        load_resource(PostgresConnector(source, source_db), rekeyed, warehouse, run_id="r2")


def test_the_runtime_role_can_load_with_only_the_migration_grants(pg_server: Any, shop_url: str) -> None:
    from scrollintel import migrate
    from scrollintel.db import with_database

    role = "ingest_runtime_test"
    execute(
        pg_server.url("postgres"),
        f"DROP ROLE IF EXISTS {role}",
        f"CREATE ROLE {role} LOGIN PASSWORD 'runtime-pw'",
    )
    url = pg_server.create_database()
    migrate.upgrade(url, runtime_role=role)
    runtime_url = with_database(url, url.rsplit("/", 1)[1]).replace(
        url.split("://", 1)[1].split("@", 1)[0], f"{role}:runtime-pw"
    )
    source = load_governance().source("shop")
    connector = PostgresConnector(source, shop_url)  # type: ignore[arg-type]
    spec = ResourceSpec.from_config(source, "products")
    result = load_resource(connector, spec, runtime_url, run_id="r1")
    assert result.loaded_rows == scalar(shop_url, "SELECT count(*) FROM products")
    rows, _ = _rows_with_one_percent_bad(200)
    quarantined = load_resource(CsvConnector(COLUMNS, rows), csv_spec("rt"), runtime_url, run_id="r1")
    assert quarantined.quarantined_rows == 2
    assert scalar(url, "SELECT tableowner FROM pg_tables WHERE tablename = 'shop__products'") == role
