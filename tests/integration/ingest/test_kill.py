"""Kill test (PostgreSQL source): SIGKILL the loader at a random moment, rerun, lose and duplicate nothing.

Each trial changes the source (updates and inserts), starts a loader process, kills it after a
random delay drawn from the load's own duration, reruns the load to completion and compares
the raw table with the source: same rows (count and key set, so 0 lost and 0 duplicated) and
the same checksum over every column. Every fourth trial starts from an empty warehouse table,
so kills also land in first loads. A deliberately naive loader (cursor committed before the
rows, one transaction per chunk) must fail the same check, proving the check can fail.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from scrollintel.settings import project_root
from tests.integration.ingest import kill_worker
from tests.integration.ingest.helpers import checksum, execute, scalar

pytestmark = pytest.mark.integration

TRIALS = 20
ROWS = 20_000
COLUMNS = ["id", "customer_id", "amount", "status", "note", "updated_at"]


@dataclass
class Trial:
    number: int
    killed: bool
    fresh: bool
    source: tuple[int, str]
    raw: tuple[int, str]
    distinct_keys: int

    @property
    def ok(self) -> bool:
        return self.source == self.raw and self.distinct_keys == self.source[0]


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


def _start(mode: str, source_url: str, warehouse_url: str, run_id: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.ingest.kill_worker", mode, source_url, warehouse_url, run_id],
        cwd=project_root(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"worker did not start: {line!r}"
    return proc


def _timed_load(mode: str, source_url: str, warehouse_url: str) -> float:
    proc = _start(mode, source_url, warehouse_url, "calibrate")
    started = time.monotonic()
    out, _ = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0 and "done" in out
    return time.monotonic() - started


def _reset(warehouse_url: str) -> None:
    execute(
        warehouse_url,
        "DROP TABLE IF EXISTS raw.kill__kill_src",
        "DELETE FROM governance.ingest_cursor",
        "DELETE FROM governance.ingest_schema_version",
    )


def _run_trials(mode: str, source_url: str, warehouse_url: str, *, stop_at_first_failure: bool) -> list[Trial]:
    rng = random.Random(20261122)
    rerun = kill_worker.real_load if mode == "real" else kill_worker.naive_load
    _reset(warehouse_url)
    initial = _timed_load(mode, source_url, warehouse_url)  # calibration: a first load, then an incremental one
    _change_source(source_url, 0, rng)
    incremental = _timed_load(mode, source_url, warehouse_url)
    trials: list[Trial] = []
    for number in range(1, TRIALS + 1):
        fresh = number % 4 == 1
        if fresh:
            _reset(warehouse_url)
        _change_source(source_url, number, rng)
        proc = _start(mode, source_url, warehouse_url, f"trial-{number}")
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(rng.uniform(0, 1.2 * (initial if fresh else incremental)))
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        rerun(source_url, warehouse_url, f"rerun-{number}")
        raw_table = "raw.kill__kill_src"
        trial = Trial(
            number=number,
            killed=killed,
            fresh=fresh,
            source=checksum(source_url, kill_worker.TABLE, COLUMNS, "id"),
            raw=checksum(warehouse_url, raw_table, COLUMNS, "id"),
            distinct_keys=scalar(warehouse_url, f"SELECT count(DISTINCT id) FROM {raw_table}"),
        )
        trials.append(trial)
        if stop_at_first_failure and not trial.ok:
            break
    return trials


def test_sigkill_at_random_points_loses_and_duplicates_nothing(source_db: str, warehouse: str) -> None:
    _create_source(source_db)
    trials = _run_trials("real", source_db, warehouse, stop_at_first_failure=False)
    failed = [(t.number, t.source, t.raw) for t in trials if not t.ok]
    assert not failed, f"trials whose raw table differs from the source after kill + rerun: {failed}"
    killed = [t for t in trials if t.killed]
    # the kills must land inside loads for the test to mean anything (first loads included)
    assert len(killed) >= TRIALS // 2, f"only {len(killed)} of {TRIALS} trials were killed mid-load"
    assert any(t.fresh for t in killed)


def test_the_same_check_catches_a_loader_that_commits_the_cursor_before_the_rows(
    source_db: str, warehouse: str
) -> None:
    _create_source(source_db)
    trials = _run_trials("naive", source_db, warehouse, stop_at_first_failure=True)
    lost = [t for t in trials if not t.ok]
    assert lost, f"the naive loader survived {len(trials)} kill trials: the check cannot fail"
    assert lost[0].raw[0] < lost[0].source[0]  # rows were lost for good
