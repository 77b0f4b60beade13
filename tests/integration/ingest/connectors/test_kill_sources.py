"""Kill test for the MySQL/MariaDB, REST and files sources: SIGKILL the loader, rerun, lose and duplicate nothing.

The same trials as the PostgreSQL kill test (:mod:`tests.integration.ingest.kill_harness`): per
source type, once per phase of ``kill_harness.SCHEDULE`` (first and incremental loads, killed
early, midway and late; one left to finish), the source changes, a loader process is SIGKILLed
at that point of its load and the load is rerun to completion; then every resource's raw table
must equal the source (row count, distinct keys, checksum over every column). Small data and
small chunks, so kills land between chunks, pages and files. A deliberately naive loader (state committed
before the rows) must fail the same check, for the files and the MySQL sources.

What "the source" is, read independently of the connectors:

- MariaDB: the table read with PyMySQL's own type converters;
- REST: the demo marketing API's events, computed by its :class:`EventSource`; the stream grows
  between trials (more events published, the earlier ones unchanged, as a real API behaves);
- files: the rows the test wrote, CSV and Parquet, several files per format; trials add files
  and rewrite an earlier one (its rows change, so the rewritten file must be read again).
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from scrollintel.demo import marketing
from scrollintel.demo.marketing import EventSource, create_marketing_app
from tests.integration.ingest import kill_worker
from tests.integration.ingest.kill_harness import (
    KillCase,
    Snapshot,
    assert_naive_loses_rows,
    assert_nothing_lost,
    pg_rows,
    run_trials,
    snapshot,
)

from .conftest import serve

pytestmark = pytest.mark.integration

SOURCE = kill_worker.SOURCE_NAME
COLUMNS = ["id", "customer_id", "amount", "status", "note", "updated_at"]
EPOCH = datetime(2026, 1, 1)


def _raw(resource: str) -> str:
    return f"raw.{SOURCE}__{resource}"


def _raw_snapshot(warehouse: str, resource: str, columns: list[str]) -> Snapshot:
    return snapshot(pg_rows(warehouse, _raw(resource), columns))


# --------------------------------------------------------------------------- MySQL / MariaDB

MYSQL_ROWS = 3_000


def _mysql_case(mysql_server: Any, warehouse: str) -> KillCase:
    import pymysql

    database = mysql_server.create_database()
    table = kill_worker.TABLE
    mysql_server.execute(
        database,
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2), "
        "status VARCHAR(20), note VARCHAR(100), updated_at DATETIME(6) NOT NULL, KEY (updated_at))",
        f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s)",
        rows=[
            (
                i,
                i % 977,
                Decimal(i % 10_000) / 100,
                None if i % 7 == 0 else ("new", "paid", "shipped")[i % 3],
                f'row {i}, "quoted"',
                EPOCH + timedelta(seconds=i),
            )
            for i in range(1, MYSQL_ROWS + 1)
        ],
    )

    def change(trial: int, rng: random.Random) -> None:
        # cursor values strictly above everything loaded before, distinct per row (base + id microseconds)
        base = f"TIMESTAMP '2026-03-01 00:00:00' + INTERVAL {trial} DAY"
        with mysql_server.connect(database) as conn, conn.cursor() as cursor:
            cursor.execute(f"SELECT max(id) FROM {table}")
            top = int(cursor.fetchone()[0])
            cursor.execute(
                f"UPDATE {table} SET amount = amount + 1, note = 'trial {trial}', "
                f"updated_at = {base} + INTERVAL id MICROSECOND WHERE id % 4 = {rng.randrange(4)}"
            )
            added = range(top + 1, top + rng.randrange(50, 300) + 1)
            cursor.executemany(
                f"INSERT INTO {table} VALUES (%s, %s, 1.5, 'new', %s, {base} + INTERVAL %s MICROSECOND)",
                [(n, n % 977, f"inserted {trial}", n) for n in added],
            )

    def source_snapshots() -> list[Snapshot]:
        with mysql_server.connect(database) as conn, conn.cursor(pymysql.cursors.Cursor) as cursor:
            cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {table}")
            return [snapshot(cursor.fetchall())]

    address = {
        "host": mysql_server.host,
        "port": mysql_server.port,
        "user": mysql_server.user,
        "password": mysql_server.password,
        "database": database,
    }
    return KillCase(
        source_type="mysql",
        address=json.dumps(address),
        warehouse=warehouse,
        change=change,
        source_snapshots=source_snapshots,
        raw_snapshots=lambda: [_raw_snapshot(warehouse, table, COLUMNS)],
        raw_tables=[_raw(table)],
    )


def test_mysql_sigkill_in_every_phase_of_a_load_loses_and_duplicates_nothing(mysql_server: Any, warehouse: str) -> None:
    assert_nothing_lost(run_trials(_mysql_case(mysql_server, warehouse), "real", stop_at_first_failure=False))


def test_the_check_catches_a_naive_mysql_loader(mysql_server: Any, warehouse: str) -> None:
    assert_naive_loses_rows(run_trials(_mysql_case(mysql_server, warehouse), "naive", stop_at_first_failure=True))


# --------------------------------------------------------------------------- REST (demo marketing API)

API_KEY = "kill-test-key"
EVENT_COLUMNS = ["event_id", "customer_id", "campaign_id", "channel", "event_type", "occurred_at", "cost"]
#: Events the stream can ever hold (fixes their times) and the number published at the start.
EVENT_CAPACITY = 50_000
EVENTS_AT_START = 2_000
PAGE_SIZE = 100


class GrowingEvents(EventSource):
    """The demo event stream, of which only the first ``n_events`` are published so far.

    Times are laid out for ``capacity`` events, so publishing more appends events after the
    published ones and changes none of them (the demo API reads ``n_events`` on every request).
    """

    def __init__(self, *, seed: int, capacity: int, published: int) -> None:
        super().__init__(seed=seed, n_events=capacity)
        self.n_events = published


@pytest.fixture
def growing_api(monkeypatch: pytest.MonkeyPatch) -> Any:
    events = GrowingEvents(seed=7, capacity=EVENT_CAPACITY, published=EVENTS_AT_START)
    with monkeypatch.context() as patch:
        patch.setattr(marketing, "EventSource", lambda **_: events)
        app = create_marketing_app(seed=7, n_events=EVENT_CAPACITY, api_key=API_KEY, rate_limit_per_minute=10_000_000)
    with serve(app) as url:
        yield events, url


def test_rest_sigkill_in_every_phase_of_a_load_loses_and_duplicates_nothing(growing_api: Any, warehouse: str) -> None:
    events, url = growing_api

    def change(trial: int, rng: random.Random) -> None:
        events.n_events += rng.randrange(100, 500)

    def source_snapshots() -> list[Snapshot]:
        rows = [
            tuple(datetime.fromisoformat(e[c]) if c == "occurred_at" else e[c] for c in EVENT_COLUMNS)
            for e in events.page(0, events.n_events)
        ]
        return [snapshot(rows)]

    case = KillCase(
        source_type="rest",
        address=json.dumps({"base_url": url, "key": API_KEY, "page_size": PAGE_SIZE}),
        warehouse=warehouse,
        change=change,
        source_snapshots=source_snapshots,
        raw_snapshots=lambda: [_raw_snapshot(warehouse, kill_worker.ENDPOINT, EVENT_COLUMNS)],
        raw_tables=[_raw(kill_worker.ENDPOINT)],
    )
    trials = run_trials(case, "real", stop_at_first_failure=False)
    assert_nothing_lost(trials)
    assert trials[-1].source[0].rows > EVENTS_AT_START


# --------------------------------------------------------------------------- files (CSV and Parquet)

FILES_AT_START = 8


class FileStore:
    """CSV and Parquet files the test writes, and the rows they hold (by format, by id)."""

    FORMATS = ("csv", "parquet")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: dict[str, dict[int, tuple[Any, ...]]] = {fmt: {} for fmt in self.FORMATS}
        self.files: dict[str, list[Path]] = {fmt: [] for fmt in self.FORMATS}
        self.ids: dict[Path, list[int]] = {}
        self.clock = time.time_ns()
        for fmt in self.FORMATS:
            (root / fmt).mkdir(parents=True)

    def add(self, fmt: str, rows: int, trial: int) -> None:
        number = len(self.files[fmt]) + 1
        path = self.root / fmt / f"part-{number:04d}.{fmt}"
        self.files[fmt].append(path)
        self.ids[path] = list(range(number * 1000 + 1, number * 1000 + rows + 1))
        self._write(fmt, path, trial)

    def rewrite(self, fmt: str, rng: random.Random, trial: int) -> None:
        self._write(fmt, rng.choice(self.files[fmt]), trial)

    def _write(self, fmt: str, path: Path, trial: int) -> None:
        stamp = EPOCH.replace(tzinfo=UTC) + timedelta(days=trial)
        rows = [
            (
                i,
                i % 977,
                (Decimal(i % 10_000) / 100 + trial).quantize(Decimal("0.01")),
                None if i % 7 == 0 else ("new", "paid", "shipped")[i % 3],
                f'trial {trial}, row "{i}"',
                stamp + timedelta(seconds=i),
            )
            for i in self.ids[path]
        ]
        columns = list(zip(*rows, strict=True))
        if fmt == "parquet":
            table = pa.table(
                {
                    "id": pa.array(columns[0], pa.int64()),
                    "customer_id": pa.array(columns[1], pa.int64()),
                    "amount": pa.array(columns[2], pa.decimal128(12, 2)),
                    "status": pa.array(columns[3], pa.string()),
                    "note": pa.array(columns[4], pa.string()),
                    "updated_at": pa.array(columns[5], pa.timestamp("us", tz="UTC")),
                }
            )
            pq.write_table(table, path)
            expected = rows
        else:  # CSV: amounts as doubles, times without a zone (what the reader infers back)
            naive = [(a, b, float(c), d, e, f.replace(tzinfo=None)) for a, b, c, d, e, f in rows]
            columns = list(zip(*naive, strict=True))
            table = pa.table(
                {
                    "id": pa.array(columns[0], pa.int64()),
                    "customer_id": pa.array(columns[1], pa.int64()),
                    "amount": pa.array(columns[2], pa.float64()),
                    "status": pa.array(columns[3], pa.string()),
                    "note": pa.array(columns[4], pa.string()),
                    "updated_at": pa.array(columns[5], pa.timestamp("s")),
                }
            )
            pacsv.write_csv(table, path)
            expected = naive
        # a rewritten file must get a new fingerprint (size + mtime) even within one clock tick
        self.clock += 1_000_000_000
        os.utime(path, ns=(self.clock, self.clock))
        self.rows[fmt].update((row[0], row) for row in expected)


def _files_case(root: Path, warehouse: str) -> KillCase:
    store = FileStore(root)
    setup = random.Random(1)
    for fmt in FileStore.FORMATS:
        for _ in range(FILES_AT_START):
            store.add(fmt, setup.randrange(300, 600), trial=0)

    def change(trial: int, rng: random.Random) -> None:
        for fmt in FileStore.FORMATS:
            store.rewrite(fmt, rng, trial)
            store.add(fmt, rng.randrange(200, 500), trial)

    return KillCase(
        source_type="files",
        address=json.dumps({"root": str(root)}),
        warehouse=warehouse,
        change=change,
        source_snapshots=lambda: [snapshot(store.rows[fmt].values()) for fmt in FileStore.FORMATS],
        raw_snapshots=lambda: [_raw_snapshot(warehouse, name, COLUMNS) for name in kill_worker.FILE_RESOURCES],
        raw_tables=[_raw(name) for name in kill_worker.FILE_RESOURCES],
    )


def test_files_sigkill_in_every_phase_of_a_load_loses_and_duplicates_nothing(tmp_path: Path, warehouse: str) -> None:
    assert_nothing_lost(run_trials(_files_case(tmp_path / "store", warehouse), "real", stop_at_first_failure=False))


def test_the_check_catches_a_files_loader_that_records_files_before_their_rows(tmp_path: Path, warehouse: str) -> None:
    assert_naive_loses_rows(run_trials(_files_case(tmp_path / "store", warehouse), "naive", stop_at_first_failure=True))
