"""Start the platform from a clean state several times, with runs due, and count the runs that fail.

Each start is what ``make clean && make run`` does, in a new temporary state folder (its own
embedded PostgreSQL, free ports, Airflow home): ``scrollintel platform up``. The check then waits
until every DAG run the start created has finished (the scheduled runs that were due, and the
until the scheduled runs that were due when it was up have finished, counts every run and task
try so far (the asset-triggered transform runs those cause included, finished or not), prints one
line per start and stops the platform. The folder is deleted unless ``--keep``.

    .venv/bin/python scripts/startup_check.py --starts 3

Per start: ``due`` scheduled runs that were due when the platform was up, ``runs`` all runs,
``failed`` failed runs,
``lost`` task tries that failed before their task ran ("state mismatch" in Airflow's event log: the
task could not report its start to the execution API), ``retried`` tries that were retried for any
reason, ``up`` seconds until ``make run`` was done, ``settled`` seconds until the due runs finished.
Exit status 1 when any start had a failed run, a lost try or a due run that did not finish.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCROLLINTEL = ROOT / ".venv" / "bin" / "scrollintel"
#: Settings that would point a start at another platform's database.
FOREIGN_SETTINGS = ("SCROLLINTEL_DATABASE_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__UNIT_TEST_MODE")
UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class Tally:
    """What one start's DAG runs and task tries came to."""

    due: int
    runs: int
    failed: int
    unfinished: int
    lost: int
    retried: int
    failed_runs: tuple[str, ...]


def platform_env(state: Path) -> dict[str, str]:
    """The environment of a command for the platform in ``state`` (no setting of another platform)."""
    env = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
    env["SCROLLINTEL_HOME"] = str(state)
    return env


def metadata_url(state: Path) -> str:
    """The Airflow metadata database of the platform in ``state``, from its platform.env, for psycopg."""
    for line in (state / "platform.env").read_text(encoding="utf-8").splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and words[1].startswith("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="):
            url = words[1].split("=", 1)[1]
            return "postgresql://" + url.split("://", 1)[1]
    raise SystemExit(f"no AIRFLOW__DATABASE__SQL_ALCHEMY_CONN in {state / 'platform.env'}")


def tally(url: str, due_by: datetime) -> Tally:
    """Count the DAG runs and task tries in the metadata database at ``url``; due: scheduled by ``due_by``."""
    import psycopg

    with psycopg.connect(url) as conn:
        runs = conn.execute(
            "SELECT dag_id, run_id, run_type = 'scheduled' AND run_after <= %s, state FROM dag_run", (due_by,)
        ).fetchall()
        lost = conn.execute("SELECT count(*) FROM log WHERE event = 'state mismatch'").fetchone()
        retried = conn.execute("SELECT count(*) FROM task_instance_history").fetchone()
    failed = tuple(sorted(f"{dag_id}/{run_id}" for dag_id, run_id, _, state in runs if state == "failed"))
    return Tally(
        due=sum(1 for _, _, due, _ in runs if due),
        runs=len(runs),
        failed=len(failed),
        unfinished=sum(1 for _, _, due, state in runs if due and state in UNFINISHED),
        lost=lost[0] if lost else 0,
        retried=retried[0] if retried else 0,
        failed_runs=failed,
    )


def wait_due_runs(url: str, due_by: datetime, timeout: float) -> Tally:
    """Poll until the runs due by ``due_by`` exist and have all finished, or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        current = tally(url, due_by)
        if (current.due and not current.unfinished) or time.monotonic() >= deadline:
            return current
        time.sleep(10)


def one_start(number: int, timeout: float, keep: bool) -> Tally:
    """A clean start, its runs until they settle, then stop; prints the start's line."""
    state = Path(tempfile.mkdtemp(prefix=f"scrollintel-startup-{number}-"))
    env = platform_env(state)
    started = time.monotonic()
    try:
        up = subprocess.run([str(SCROLLINTEL), "platform", "up"], env=env, cwd=ROOT, check=False)
        if up.returncode != 0:
            raise SystemExit(f"start {number}: `scrollintel platform up` exited {up.returncode}; state in {state}")
        up_s = time.monotonic() - started
        result = wait_due_runs(metadata_url(state), datetime.now(tz=UTC), timeout)
        settled_s = time.monotonic() - started
    finally:
        subprocess.run([str(SCROLLINTEL), "platform", "down"], env=env, cwd=ROOT, check=False)
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
    print(
        f"start {number}: due {result.due}, runs {result.runs}, failed {result.failed}, "
        f"unfinished {result.unfinished}, lost {result.lost}, retried {result.retried}, "
        f"up {up_s:.0f}s, settled {settled_s:.0f}s" + (f"; state kept in {state}" if keep else ""),
        flush=True,
    )
    for run in result.failed_runs:
        print(f"  failed: {run}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the starts; 1 when any had a failed or unfinished run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--starts", type=int, default=3, help="how many clean starts (default 3)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for one start's due runs")
    parser.add_argument("--keep", action="store_true", help="keep each start's state folder (logs) for a look")
    args = parser.parse_args(argv)
    results = [one_start(number, args.timeout, args.keep) for number in range(1, args.starts + 1)]
    bad = sum(result.failed + result.unfinished + result.lost for result in results)
    print(
        f"{len(results)} clean starts: {sum(r.due for r in results)} runs due, "
        f"{sum(r.failed for r in results)} failed, {sum(r.lost for r in results)} tries lost, "
        f"{sum(r.unfinished for r in results)} due runs unfinished"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
