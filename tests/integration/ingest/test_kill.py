"""Kill test (PostgreSQL source): SIGKILL the loader during its load, rerun, lose and duplicate nothing.

Each trial changes the source (updates and inserts), starts a loader process, kills it at one
point of its load (early, midway, late in its calibrated duration; first loads into an empty
warehouse and incremental ones; one load left to finish: see ``kill_harness.SCHEDULE``), reruns
the load to completion and compares the raw table with the source: same rows (count and key
set, so 0 lost and 0 duplicated) and the same checksum over every column. A deliberately naive
loader (cursor committed before the rows, one transaction per chunk) must fail the same check,
proving the check can fail.
The trial loop is :mod:`tests.integration.ingest.kill_harness`; the other source types are in
``tests/integration/ingest/connectors/test_kill_sources.py`` (they need the connector servers).
"""

from __future__ import annotations

import random

import pytest

from tests.integration.ingest import kill_worker
from tests.integration.ingest.helpers import checksum, execute, scalar
from tests.integration.ingest.kill_harness import (
    KillCase,
    Snapshot,
    assert_naive_loses_rows,
    assert_nothing_lost,
    run_trials,
)

pytestmark = pytest.mark.integration

ROWS = 20_000
COLUMNS = ["id", "customer_id", "amount", "status", "note", "updated_at"]
RAW_TABLE = f"raw.{kill_worker.SOURCE_NAME}__{kill_worker.TABLE}"


def _create_source(url: str) -> None:
    execute(
        url,
        f"CREATE TABLE {kill_worker.TABLE} (id bigint PRIMARY KEY, customer_id bigint NOT NULL, amount numeric(12,2), "
        "status text, note text, updated_at timestamptz NOT NULL)",
        f"INSERT INTO {kill_worker.TABLE} SELECT g, g % 977, (g % 10000) / 100.0, "
        "(ARRAY['new','paid','shipped'])[1 + g % 3], md5(g::text), '2026-01-01'::timestamptz + g * interval '1 second' "
        f"FROM generate_series(1, {ROWS}) g",
        f"CREATE INDEX ON {kill_worker.TABLE} (updated_at)",
    )


def _change_source(url: str, trial: int, rng: random.Random) -> None:
    """Update a random quarter of the rows and append new ones, all with a fresh cursor value."""
    top = scalar(url, f"SELECT max(id) FROM {kill_worker.TABLE}")
    execute(
        url,
        f"UPDATE {kill_worker.TABLE} SET amount = amount + 1, note = 'trial {trial}', updated_at = clock_timestamp() "
        f"WHERE id % 4 = {rng.randrange(4)}",
        f"INSERT INTO {kill_worker.TABLE} SELECT g, g % 977, 1.5, 'new', 'inserted {trial}', clock_timestamp() "
        f"FROM generate_series({top + 1}, {top + rng.randrange(100, 1000)}) g",
    )


def _snapshot(url: str, table: str) -> Snapshot:
    """Checksum computed by PostgreSQL on both sides (same server, same text rendering)."""
    if not scalar(url, "SELECT to_regclass(%s) IS NOT NULL", (table,)):
        return Snapshot(0, 0, "")
    rows, digest = checksum(url, table, COLUMNS, "id")
    return Snapshot(rows, scalar(url, f"SELECT count(DISTINCT id) FROM {table}"), digest)


def _case(source_url: str, warehouse: str) -> KillCase:
    _create_source(source_url)
    return KillCase(
        source_type="postgres",
        address=source_url,
        warehouse=warehouse,
        change=lambda trial, rng: _change_source(source_url, trial, rng),
        source_snapshots=lambda: [_snapshot(source_url, kill_worker.TABLE)],
        raw_snapshots=lambda: [_snapshot(warehouse, RAW_TABLE)],
        raw_tables=[RAW_TABLE],
    )


def test_sigkill_in_every_phase_of_a_load_loses_and_duplicates_nothing(source_db: str, warehouse: str) -> None:
    assert_nothing_lost(run_trials(_case(source_db, warehouse), "real", stop_at_first_failure=False))


def test_the_same_check_catches_a_loader_that_commits_the_cursor_before_the_rows(
    source_db: str, warehouse: str
) -> None:
    assert_naive_loses_rows(run_trials(_case(source_db, warehouse), "naive", stop_at_first_failure=True))
