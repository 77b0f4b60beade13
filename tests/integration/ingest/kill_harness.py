"""The kill test's trial loop, shared by every source type.

A trial changes the source, starts a loader process (:mod:`kill_worker`), SIGKILLs it at a
point of its load, reruns the load to completion in this process and compares what landed with
the source: per resource, the same number of rows, as many distinct keys as rows (0 lost, 0
duplicated) and the same checksum over every column.

Where the kill lands is what a trial proves, so the trials follow :data:`SCHEDULE`, one per
phase of a load, in a first load (empty warehouse: the raw table, its contract and cursor are
created in the load's transaction) and in an incremental one (staged merge into the existing
table). Most kills come at a point the worker stops at (:mod:`kill_worker`: after the first
chunk, after the last, after a resource committed), so the phase is certain on any machine; two
come after half the load's calibrated duration, wherever it is then (inside a statement, say);
one load is left to finish, so its rerun must change nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import select
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

SEED = 20261122


@dataclass(frozen=True)
class Kill:
    """Where one trial's kill comes."""

    fresh: bool
    """The load starts from an empty warehouse (a first load) instead of an incremental one."""
    phase: str
    stop: str | None = None
    """Kill when the worker reports this point of its load (:data:`kill_worker.STOPS`)."""
    at: float | None = None
    """Else kill after ``at`` times the calibrated duration of this kind of load; neither: no kill."""


#: One trial per phase of a load a kill can interrupt, first loads and incremental ones. The
#: naive loader's check stops at its first failure: the first trial is one it must fail.
SCHEDULE: tuple[Kill, ...] = (
    Kill(True, "first load, after its first chunk: table, contract and some rows uncommitted", stop="chunk"),
    Kill(False, "incremental load, after its first chunk: some rows staged, nothing merged", stop="chunk"),
    Kill(True, "first load, every row copied: before the partition swap, cursor and commit", stop="staged"),
    Kill(False, "incremental load, every row staged: before the merge, cursor and commit", stop="staged"),
    Kill(True, "first load, first resource committed: before the next resource or the end", stop="committed"),
    Kill(False, "incremental load, first resource committed: before the next resource or the end", stop="committed"),
    Kill(True, "first load, halfway through its calibrated duration, wherever it is", at=0.5),
    Kill(False, "incremental load, halfway through its calibrated duration, wherever it is", at=0.5),
    Kill(False, "not killed: the load finishes, its rerun must change nothing"),
)
TRIALS = len(SCHEDULE)


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
    phase: str
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


def start(case: KillCase, mode: str, run_id: str, stop: str | None = None) -> subprocess.Popen[str]:
    """A worker process that has imported everything and waits for ``go`` (and stops at ``stop``)."""
    return wait_ready(spawn(case, mode, run_id, stop))


def spawn(case: KillCase, mode: str, run_id: str, stop: str | None = None) -> subprocess.Popen[str]:
    """A worker process, starting (its imports take seconds: see :func:`wait_ready`)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.ingest.kill_worker",
            case.source_type,
            mode,
            case.address,
            case.warehouse,
            run_id,
            *([stop] if stop else []),
        ],
        cwd=project_root(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def wait_ready(proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """``proc`` once it has imported everything and waits for ``go``."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"worker did not start: {line!r}"
    return proc


def wait_for_stop(proc: subprocess.Popen[str], stop: str, timeout: float = 120) -> None:
    """Read the worker's output until it reports ``at <stop>`` (or ``done``: a load too small to stop in)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"the worker did not reach {stop!r} within {timeout:.0f} s"
        line = proc.stdout.readline().strip()
        if line in (f"at {stop}", "done", ""):
            return


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


def run_trials(
    case: KillCase, mode: str, *, stop_at_first_failure: bool, schedule: Sequence[Kill] = SCHEDULE
) -> list[Trial]:
    """Kill + rerun once per ``schedule`` entry; the rerun is the real loader or the naive one, like the killed load."""
    rng = random.Random(SEED)
    rerun = kill_worker.real_load if mode == "real" else kill_worker.naive_load
    reset(case)
    initial = timed_load(case, mode)  # calibration: a first load, then an incremental one
    case.change(0, rng)
    incremental = timed_load(case, mode)
    done: list[Trial] = []
    log.info("%s %s: first load %.2f s, incremental %.2f s", case.source_type, mode, initial, incremental)
    # Each trial's worker starts while the trial before it reruns and compares (a worker reads
    # nothing before ``go``), so its seconds of imports are not added to every trial.
    upcoming = spawn(case, mode, "trial-1", schedule[0].stop) if schedule else None
    try:
        for number, kill in enumerate(schedule, start=1):
            if kill.fresh:
                reset(case)
            case.change(number, rng)
            assert upcoming is not None
            proc, upcoming = wait_ready(upcoming), None
            killed = _go_and_kill(proc, kill, initial if kill.fresh else incremental)
            if number < len(schedule):
                upcoming = spawn(case, mode, f"trial-{number + 1}", schedule[number].stop)
            committed = scalar(
                case.warehouse, "SELECT count(*) FROM governance.ingest_cursor WHERE run_id = %s", (f"trial-{number}",)
            )
            rerun(case.source_type, case.address, case.warehouse, f"rerun-{number}")
            trial = Trial(
                number, killed, kill.fresh, kill.phase, case.source_snapshots(), case.raw_snapshots(), committed
            )
            done.append(trial)
            log.info(
                "%s %s trial %d (%s): %s, committed %d, ok=%s",
                case.source_type,
                mode,
                number,
                kill.phase,
                "killed" if killed else "finished",
                committed,
                trial.ok,
            )
            if stop_at_first_failure and not trial.ok:
                break
    finally:
        if upcoming is not None:
            upcoming.kill()
            upcoming.communicate(timeout=60)
    return done


def _go_and_kill(proc: subprocess.Popen[str], kill: Kill, calibrated: float) -> bool:
    """Start the worker's load and SIGKILL it where ``kill`` says; whether it was still running."""
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    if kill.stop is not None:
        wait_for_stop(proc, kill.stop)
    elif kill.at is not None:
        time.sleep(kill.at * calibrated)
    else:
        proc.communicate(timeout=120)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return killed


def assert_nothing_lost(trials: list[Trial]) -> None:
    """Every trial ends equal to the source, and enough kills landed inside loads to mean something."""
    failed = [(t.number, t.phase, t.source, t.raw) for t in trials if not t.ok]
    assert not failed, f"trials whose raw table differs from the source after kill + rerun: {failed}"
    killed = [t for t in trials if t.mid_load]
    assert len(killed) >= len(trials) // 2, f"only {len(killed)} of {len(trials)} trials were killed mid-load"
    assert any(t.fresh for t in killed), "no kill landed in a first load"


def assert_naive_loses_rows(trials: list[Trial]) -> None:
    """The naive loader must fail the same check (so the check can fail), by losing rows for good."""
    failed = [t for t in trials if not t.ok]
    assert failed, f"the naive loader survived {len(trials)} kill trials: the check cannot fail"
    assert failed[0].lost, f"expected rows lost for good, got {failed[0]}"
