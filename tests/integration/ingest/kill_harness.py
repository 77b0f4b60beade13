"""The kill test's trial loop, shared by every source type.

A trial changes the source, starts a loader process (:mod:`kill_worker`), SIGKILLs it after a
random delay drawn from the load's own duration, reruns the load to completion in this process
and compares what landed with the source: per resource, the same number of rows, as many
distinct keys as rows (0 lost, 0 duplicated) and the same checksum over every column. Every
fourth trial starts from an empty warehouse, so kills also land in first loads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from scrollintel.settings import project_root
from tests.integration.ingest import kill_worker
from tests.integration.ingest.helpers import connect, execute, scalar

log = logging.getLogger(__name__)

TRIALS = 20
SEED = 20261122


@dataclass(frozen=True)
class Snapshot:
    """One table's content: rows, distinct keys, checksum of every column (comparable across systems)."""

    rows: int
    keys: int
    digest: str


@dataclass
class Trial:
    number: int
    killed: bool
    fresh: bool
    source: list[Snapshot]
    raw: list[Snapshot]
    committed: int = 0
    """Resources whose load had committed when the kill came (killed with 0: inside the first load)."""

    @property
    def mid_load(self) -> bool:
        """Killed before every resource of the load had committed."""
        return self.killed and self.committed < len(self.source)

    @property
    def ok(self) -> bool:
        return self.source == self.raw and all(s.keys == s.rows for s in self.raw)

    @property
    def lost(self) -> bool:
        """Rows missing from the raw table for good (what a naive loader does)."""
        return any(r.rows < s.rows for r, s in zip(self.raw, self.source, strict=True))


@dataclass
class KillCase:
    """A source type under the kill test: how to reach it, change it and read it back."""

    source_type: str
    address: str
    """What the worker needs to reach the source (see :func:`kill_worker.resources`)."""
    warehouse: str
    change: Callable[[int, random.Random], None]
    """Change the source before trial ``n`` (0: between the two calibration loads)."""
    source_snapshots: Callable[[], list[Snapshot]]
    raw_snapshots: Callable[[], list[Snapshot]]
    raw_tables: Sequence[str]


def _value(value: Any) -> str:
    """One value as canonical text: the same whichever system and driver returned it."""
    if value is None:
        return "<null>"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def snapshot(rows: Iterable[Sequence[Any]], key: int = 0) -> Snapshot:
    """Snapshot of rows given as Python values (any order; column ``key`` is the primary key)."""
    lines = sorted(
        ((row[key], "|".join(_value(v) for v in row)) for row in rows), key=lambda item: (_value(item[0]), item[1])
    )
    digest = hashlib.md5("\n".join(line for _, line in lines).encode(), usedforsecurity=False).hexdigest()
    return Snapshot(rows=len(lines), keys=len({_value(k) for k, _ in lines}), digest=digest)


def pg_rows(url: str, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every row of a PostgreSQL table (0 rows when the table does not exist yet)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    with connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            return []
        return list(conn.execute(f"SELECT {cols} FROM {table}").fetchall())  # type: ignore[arg-type]


def reset(case: KillCase) -> None:
    """An empty warehouse for the case: no raw tables, cursors or schema contracts."""
    execute(
        case.warehouse,
        *(f"DROP TABLE IF EXISTS {table}" for table in case.raw_tables),
        "DELETE FROM governance.ingest_cursor",
        "DELETE FROM governance.ingest_schema_version",
    )


def start(case: KillCase, mode: str, run_id: str) -> subprocess.Popen[str]:
    """A worker process that has imported everything and waits for ``go``."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.ingest.kill_worker",
            case.source_type,
            mode,
            case.address,
            case.warehouse,
            run_id,
        ],
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


def timed_load(case: KillCase, mode: str) -> float:
    """Seconds one complete load takes in a worker (from ``go`` to ``done``, process exit excluded)."""
    proc = start(case, mode, "calibrate")
    assert proc.stdin is not None and proc.stdout is not None
    started = time.monotonic()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    seconds = time.monotonic() - started
    proc.communicate(timeout=120)
    assert proc.returncode == 0 and line.strip() == "done", f"calibration load failed (exit {proc.returncode})"
    return seconds


def run_trials(case: KillCase, mode: str, *, stop_at_first_failure: bool, trials: int = TRIALS) -> list[Trial]:
    """Kill + rerun ``trials`` times; the rerun is the real loader or the naive one, like the killed load."""
    rng = random.Random(SEED)
    rerun = kill_worker.real_load if mode == "real" else kill_worker.naive_load
    reset(case)
    initial = timed_load(case, mode)  # calibration: a first load, then an incremental one
    case.change(0, rng)
    incremental = timed_load(case, mode)
    done: list[Trial] = []
    log.info("%s %s: first load %.2f s, incremental %.2f s", case.source_type, mode, initial, incremental)
    for number in range(1, trials + 1):
        fresh = number % 4 == 1
        if fresh:
            reset(case)
        case.change(number, rng)
        proc = start(case, mode, f"trial-{number}")
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(rng.uniform(0, 1.2 * (initial if fresh else incremental)))
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        committed = scalar(
            case.warehouse, "SELECT count(*) FROM governance.ingest_cursor WHERE run_id = %s", (f"trial-{number}",)
        )
        rerun(case.source_type, case.address, case.warehouse, f"rerun-{number}")
        trial = Trial(number, killed, fresh, case.source_snapshots(), case.raw_snapshots(), committed)
        done.append(trial)
        log.info(
            "%s %s trial %d: %s, fresh=%s, committed %d, ok=%s",
            case.source_type,
            mode,
            number,
            "killed" if killed else "finished",
            fresh,
            committed,
            trial.ok,
        )
        if stop_at_first_failure and not trial.ok:
            break
    return done


def assert_nothing_lost(trials: list[Trial]) -> None:
    """Every trial ends equal to the source, and enough kills landed inside loads to mean something."""
    failed = [(t.number, t.source, t.raw) for t in trials if not t.ok]
    assert not failed, f"trials whose raw table differs from the source after kill + rerun: {failed}"
    killed = [t for t in trials if t.mid_load]
    assert len(killed) >= len(trials) // 2, f"only {len(killed)} of {len(trials)} trials were killed mid-load"
    assert any(t.fresh for t in killed), "no kill landed in a first load"


def assert_naive_loses_rows(trials: list[Trial]) -> None:
    """The naive loader must fail the same check (so the check can fail), by losing rows for good."""
    failed = [t for t in trials if not t.ok]
    assert failed, f"the naive loader survived {len(trials)} kill trials: the check cannot fail"
    assert failed[0].lost, f"expected rows lost for good, got {failed[0]}"
