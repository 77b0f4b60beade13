"""Late commits (lookback, commit horizon) and delete detection, against real PostgreSQL sources and warehouses."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from scrollintel.db import libpq_url
from scrollintel.ingest import cursors, state
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.loader import connect_warehouse, load_resource
from scrollintel.ingest.spec import ResourceSpec
from tests.integration.ingest.helpers import checksum, connect, execute, postgres_source, scalar

pytestmark = pytest.mark.integration

COLUMNS = ["id", "note", "updated_at"]


def _items(source_db: str, rows: int = 1000) -> None:
    """``items``: one row a minute from 2026-01-01, so a lookback of minutes re-reads a few rows only."""
    execute(
        source_db,
        "CREATE TABLE items (id bigint PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now())",
        f"INSERT INTO items SELECT g, 'note ' || g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' "
        f"FROM generate_series(1, {rows}) AS g",
    )


def _spec(**table: Any) -> tuple[Any, ResourceSpec]:
    source = postgres_source("src", [{"name": "items", "primary_key": ["id"], "cursor": "updated_at", **table}])
    return source, ResourceSpec.from_config(source, "items")


def _raw_state(url: str) -> str:
    """Every column of the raw table including metadata: changes when any row is written."""
    return str(scalar(url, "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM raw.src__items t"))


def _landed(warehouse: str, source_db: str, where: str = "true") -> bool:
    return checksum(warehouse, f"(SELECT * FROM raw.src__items WHERE {where}) AS r", COLUMNS, "id") == checksum(
        source_db, "items", COLUMNS, "id"
    )


# --------------------------------------------------------------------------- late commits


def _reader(pg_server: Any, source_db: str) -> str:
    """A read-only login on ``source_db`` that cannot see other roles' sessions (no pg_read_all_stats)."""
    role = f"reader_{secrets.token_hex(3)}"
    execute(
        source_db,
        f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'",
        f"GRANT SELECT ON items TO {role}",
    )
    params = psycopg.conninfo.conninfo_to_dict(libpq_url(source_db))
    params.update(user=role, password="reader-pw")
    return psycopg.conninfo.make_conninfo(**params)


@pytest.mark.parametrize("guard", ["commit-horizon", "lookback"])
def test_a_row_committed_after_a_load_moved_past_its_timestamp_lands_at_the_next_load(
    pg_server: Any, source_db: str, warehouse: str, guard: str
) -> None:
    """A transaction stamps a row with its start time, a later one commits first, a load runs, then the first commits.

    ``commit-horizon``: no lookback, the connection sees every session: the cursor stops at the
    open transaction's start. ``lookback``: a role that cannot see the writer's session (no
    horizon), the default lookback of 5 minutes re-reads the window behind the cursor.
    """
    _items(source_db)
    if guard == "commit-horizon":
        source, spec = _spec(lookback=0)
        connector = PostgresConnector(source, source_db)
    else:
        source, spec = _spec()
        connector = PostgresConnector(source, _reader(pg_server, source_db))
    first = load_resource(connector, spec, warehouse, run_id="first")
    assert first.cursor_after == "2026-01-01 16:40:00+00"

    with connect(source_db) as held:  # a transaction: updated_at = now() is the time it started
        held.execute("UPDATE items SET note = 'late', updated_at = now() WHERE id = 1")
        execute(source_db, "UPDATE items SET note = 'early', updated_at = now() WHERE id = 2")
        early = scalar(source_db, "SELECT updated_at FROM items WHERE id = 2")
        started = held.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        assert started < early
        second = load_resource(connector, spec, warehouse, run_id="second")
        assert scalar(warehouse, "SELECT note FROM raw.src__items WHERE id = 2") == "early"
        held.commit()
    assert second.cursor_after is not None
    moved_to = datetime.fromisoformat(second.cursor_after)
    if guard == "commit-horizon":
        assert moved_to == started  # held at the open transaction's start, not at id 2's later stamp
        assert (second.source_rows, second.updated_rows) == (2, 1)  # the row at the old cursor, and id 2
    else:
        assert moved_to == early  # past the late row's stamp: only the lookback reads it again

    third = load_resource(connector, spec, warehouse, run_id="third")
    assert scalar(warehouse, "SELECT note FROM raw.src__items WHERE id = 1") == "late"
    assert _landed(warehouse, source_db)
    # the rows read again change nothing and are counted as unchanged
    assert (third.inserted_rows, third.updated_rows) == (0, 1)
    assert third.unchanged_rows == third.source_rows - 1 == third.loaded_rows - 1
    runs = "SELECT loaded_rows, updated_rows, unchanged_rows FROM governance.ingest_load_run WHERE run_id = 'third'"
    with connect(warehouse) as conn:
        assert conn.execute(runs).fetchone() == (third.loaded_rows, 1, third.unchanged_rows)
    before = _raw_state(warehouse)
    replay = load_resource(connector, spec, warehouse, run_id="replay")
    assert (replay.inserted_rows, replay.updated_rows) == (0, 0)
    assert _raw_state(warehouse) == before


def test_the_lookback_moves_each_kind_of_cursor_back_in_its_own_units(warehouse: str) -> None:
    with connect_warehouse(warehouse) as conn:
        minutes = timedelta(minutes=5)
        assert cursors.read_from(conn, "2026-02-01 00:00:00+00", "timestamptz", minutes) == "2026-01-31 23:55:00+00"
        assert cursors.read_from(conn, "2026-02-01 00:00:00", "timestamp", minutes) == "2026-01-31 23:55:00"
        assert cursors.read_from(conn, "2026-02-01", "date", minutes) == "2026-01-31"
        assert cursors.read_from(conn, "1000", "bigint", 250) == "750"
        assert cursors.read_from(conn, "-9223372036854775808", "bigint", 1) == "-9223372036854775809"
        assert cursors.read_from(conn, "2026-02-01 00:00:00+00", "timestamptz", 0) == "2026-02-01 00:00:00+00"
        assert cursors.read_from(conn, None, "timestamptz", minutes) is None


def test_an_integer_cursor_re_reads_its_lookback_in_ids(source_db: str, warehouse: str) -> None:
    _items(source_db, rows=100)
    source = postgres_source("src", [{"name": "items", "primary_key": ["id"], "cursor": "id", "lookback": 10}])
    spec = ResourceSpec.from_config(source, "items")
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="first")
    execute(
        source_db, "INSERT INTO items VALUES (95, 'late id', now()) ON CONFLICT (id) DO UPDATE SET note = 'late id'"
    )
    second = load_resource(connector, spec, warehouse, run_id="second")
    assert (second.source_rows, second.updated_rows, second.unchanged_rows) == (11, 1, 10)  # ids 90-100
    assert scalar(warehouse, "SELECT note FROM raw.src__items WHERE id = 95") == "late id"


# --------------------------------------------------------------------------- delete detection


def _age_reconcile(warehouse: str, days: int = 2) -> None:
    """Pretend the last reconcile ran ``days`` ago (delete detection becomes due)."""
    execute(
        warehouse,
        f"UPDATE governance.ingest_cursor SET reconciled_at = reconciled_at - interval '{days} days' "
        "WHERE source = 'src' AND resource = 'items'",
    )


def _deleted_rows(warehouse: str, run_id: str) -> int:
    return int(scalar(warehouse, "SELECT deleted_rows FROM governance.ingest_load_run WHERE run_id = %s", (run_id,)))


def test_hard_delete_detection_deletes_rows_gone_from_the_source_when_due_and_only_once(
    source_db: str, warehouse: str, strategy: str
) -> None:
    _items(source_db)
    source, spec = _spec(delete_detection={"mode": "hard", "every": "P1D"})
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="first")
    assert scalar(warehouse, "SELECT reconciled_at FROM governance.ingest_cursor") is not None  # counts from here
    execute(
        source_db,
        "DELETE FROM items WHERE id % 13 = 0",
        "UPDATE items SET note = 'changed', updated_at = '2026-03-01T00:00:00Z' WHERE id % 10 = 1",
    )
    gone = 1000 // 13

    not_due = load_resource(connector, spec, warehouse, run_id="not-due")
    assert not_due.deleted_rows == 0 and _deleted_rows(warehouse, "not-due") == 0
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__items") == 1000  # untouched

    _age_reconcile(warehouse)
    due = load_resource(connector, spec, warehouse, run_id="due")
    assert due.deleted_rows == gone == _deleted_rows(warehouse, "due")
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__items") == 1000 - gone
    assert _landed(warehouse, source_db)

    _age_reconcile(warehouse)
    before = _raw_state(warehouse)
    again = load_resource(connector, spec, warehouse, run_id="again")
    assert (again.deleted_rows, again.inserted_rows, again.updated_rows) == (0, 0, 0)
    assert _raw_state(warehouse) == before


def test_soft_delete_detection_marks_rows_and_a_row_that_comes_back_is_unmarked(
    source_db: str, warehouse: str, strategy: str
) -> None:
    _items(source_db)
    source, spec = _spec(delete_detection={"mode": "soft"})
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="first")
    gone_rows = "id % 13 = 0 OR id = 998"  # 998: within the lookback behind the cursor (id 1000)
    execute(
        source_db,
        f"CREATE TABLE deleted AS SELECT * FROM items WHERE {gone_rows}",
        f"DELETE FROM items WHERE {gone_rows}",
    )
    gone = 1000 // 13 + 1
    _age_reconcile(warehouse)
    due = load_resource(connector, spec, warehouse, run_id="due")
    assert due.deleted_rows == gone == _deleted_rows(warehouse, "due")
    marked = "SELECT count(*) FROM raw.src__items WHERE _deleted_at IS NOT NULL"
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__items") == 1000
    assert scalar(warehouse, marked) == gone
    assert scalar(warehouse, f"{marked} AND _run_id = 'due' AND ({gone_rows})") == gone
    assert _landed(warehouse, source_db, "_deleted_at IS NULL")

    # back through the cursor: with new values, or exactly as it was and re-read by the lookback
    execute(
        source_db,
        "INSERT INTO items SELECT id, 'back', '2026-03-01T00:00:00Z' FROM deleted WHERE id IN (13, 26)",
        "INSERT INTO items SELECT * FROM deleted WHERE id = 998",
    )
    back = load_resource(connector, spec, warehouse, run_id="back")
    assert (back.inserted_rows, back.updated_rows, back.deleted_rows) == (0, 3, 0)
    assert scalar(warehouse, marked) == gone - 3
    assert _landed(warehouse, source_db, "_deleted_at IS NULL")

    # back exactly as it was, behind the cursor: the next reconcile unmarks it
    execute(source_db, "INSERT INTO items SELECT * FROM deleted WHERE id = 39")
    _age_reconcile(warehouse)
    before = _raw_state(warehouse)
    again = load_resource(connector, spec, warehouse, run_id="again")
    assert (again.deleted_rows, again.inserted_rows, again.updated_rows) == (0, 0, 0)
    assert scalar(warehouse, marked) == gone - 4
    assert _landed(warehouse, source_db, "_deleted_at IS NULL")
    assert _raw_state(warehouse) != before  # id 39 unmarked, nothing else
    assert scalar(warehouse, "SELECT count(*) FROM raw.src__items WHERE _run_id = 'again'") == 1


def test_a_failure_after_the_reconcile_leaves_the_raw_table_and_the_schedule_unchanged(
    source_db: str, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _items(source_db)
    source, spec = _spec(delete_detection={"mode": "hard"})
    connector = PostgresConnector(source, source_db)
    load_resource(connector, spec, warehouse, run_id="first")
    execute(source_db, "DELETE FROM items WHERE id <= 40")
    _age_reconcile(warehouse)
    before = _raw_state(warehouse)
    reconciled = scalar(warehouse, "SELECT reconciled_at FROM governance.ingest_cursor")

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed after the reconcile")

    with monkeypatch.context() as patch:
        patch.setattr(state, "write_state", crash)
        with pytest.raises(RuntimeError, match="killed after the reconcile"):
            load_resource(connector, spec, warehouse, run_id="crashed")
    assert _raw_state(warehouse) == before
    assert scalar(warehouse, "SELECT reconciled_at FROM governance.ingest_cursor") == reconciled
    assert scalar(warehouse, "SELECT status FROM governance.ingest_load_run WHERE run_id = 'crashed'") == "failed"

    rerun = load_resource(connector, spec, warehouse, run_id="rerun")
    assert rerun.deleted_rows == 40 and _landed(warehouse, source_db)
    total = "SELECT sum(deleted_rows) FROM governance.ingest_load_run WHERE status = 'succeeded'"
    assert scalar(warehouse, total) == 40
