"""The first minutes after `make run`: the runs that were due when the platform started are green.

A run due at start-up used to fail before its task ran: the scheduler launched tasks before the
api-server's execution API listened, and the task could not report its start ("state mismatch" in
Airflow's event log). The three-clean-starts proof is `scripts/startup_check.py`; this is the cheap
check on the e2e session's own start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import RunningPlatform, wait_for_json

pytestmark = pytest.mark.e2e

UNFINISHED = ("queued", "running")


def _scheduler_started(platform: RunningPlatform) -> str:
    """When the platform's scheduler started, as the API's ISO timestamp."""
    from scrollintel.platform import launcher

    scheduler = next(
        proc for proc in launcher.managed_processes(launcher.Layout(platform.state)) if proc.name == "scheduler"
    )
    started = scheduler.started_at()
    assert started is not None, "the scheduler is running"
    return datetime.fromtimestamp(started, tz=UTC).isoformat()


def test_no_task_try_was_lost_before_its_task_ran(platform: RunningPlatform) -> None:
    with platform.client() as client:
        mismatches = client.get("/api/v2/eventLogs", params={"event": "state mismatch", "limit": 20})
        assert mismatches.status_code == 200, mismatches.text
        lost = [(e["dag_id"], e["task_id"], e["run_id"], e["try_number"]) for e in mismatches.json()["event_logs"]]
    assert lost == [], "task tries failed before their task ran (could not report their start)"


def test_the_runs_due_at_start_up_finish_without_a_failure(platform: RunningPlatform) -> None:
    due = {"run_type": "scheduled", "run_after_lte": _scheduler_started(platform), "limit": 100}
    with platform.client() as client:
        runs = wait_for_json(
            client,
            "/api/v2/dags/~/dagRuns?" + urlencode(due),
            lambda answer: bool(answer["dag_runs"]) and all(r["state"] not in UNFINISHED for r in answer["dag_runs"]),
            timeout=600,
        )
    states = {f"{run['dag_id']}/{run['dag_run_id']}": run["state"] for run in runs["dag_runs"]}  # type: ignore[attr-defined]
    assert states, "runs were due when the platform started"
    assert {run: state for run, state in states.items() if state != "success"} == {}
