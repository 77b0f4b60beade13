"""Approval gate benchmark: time from a signed Approve in Slack to the waiting task resuming.

**Method.** Starts the platform exactly as ``make run`` does (its own state folder, small demo
data, the demo Slack workspace), runs ``ingest_shop`` once (contract version 1), then adds a column
to ``--tables`` shop tables (frozen contract) and triggers one run as a data engineer: each
table's ``<table>_schema_change`` gate opens a request. Once every gate waits
(``awaiting_input``), the requests are approved one at a time, each by a press in the demo Slack
workspace (the signed interactivity request Slack would send, as a mapped approver), and the
gate's task instance is polled every 0.1 s: **resumed** is the first state after
``awaiting_input`` (Airflow has the answer and re-queued the task), **running** the task process
started again, **done** its ``execute_complete`` finished. The Airflow settings are the
platform's defaults (``scheduler_idle_sleep_time`` 1 s, LocalExecutor with four slots).

Goal: resumed in under 10 s. The platform is stopped afterwards. Takes about four minutes on two
cores. Run: ``.venv/bin/python bench/bench_approval_resume.py [--tables 4]`` (``make bench`` runs
it too).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

DAG_ID = "ingest_shop"
TABLES = ("customers", "products", "orders", "payments", "subscriptions")
APPROVER_SLACK_ID = "U01DPLEAD"  # dp-lead in governance/teams.yaml
REQUESTER = "dp-engineer"
GOAL_S = 10.0


def _wait(what: str, check: Any, timeout: float = 600.0, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


def _client(url: str, user: str, password: str) -> httpx.Client:
    token = httpx.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30).json()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30)


def _states(client: httpx.Client, run_id: str) -> dict[str, str | None]:
    tasks = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 100}).json()
    return {task["task_id"]: task["state"] for task in tasks["task_instances"]}


def _run(client: httpx.Client) -> str:
    return str(client.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None}).json()["dag_run_id"])


def _request_message(slack: str, task_id: str) -> dict[str, Any] | None:
    for message in httpx.get(f"{slack}/demo/messages", timeout=10).json()["channels"]["data-platform"]:
        if not message["ephemeral"] and task_id in json.dumps(message["blocks"]):
            return message  # type: ignore[no-any-return]
    return None


def _approve(slack: str, message: dict[str, Any]) -> None:
    button = next(
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "scrollintel_approve"
    )
    form = {
        "channel": message["channel"],
        "ts": message["ts"],
        "user": APPROVER_SLACK_ID,
        "action_id": "scrollintel_approve",
        "value": button["value"],
    }
    httpx.post(f"{slack}/demo/press", data=form, timeout=30)


def measure(
    url: str, admin: tuple[str, str], team_password: str, slack: str, tables: list[str]
) -> list[dict[str, float]]:
    from scrollintel import db
    from scrollintel.demo import drift

    with _client(url, *admin) as client:
        first = _run(client)
        _wait(
            "the first load",
            lambda: (
                _states(client, first)
                and client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{first}").json()["state"] in ("success", "failed")
            ),
            every=2,
        )
        for table in tables:
            drift.add_column(db.database_url("shop"), table, f"bench_{table}")
        with _client(url, REQUESTER, team_password) as engineer:
            run_id = _run(engineer)
        gates = [f"{table}_schema_change" for table in tables]
        print(f"run {run_id}: waiting for {len(gates)} gates ...", flush=True)
        _wait(
            "every gate to wait",
            lambda: all(_states(client, run_id).get(g) == "awaiting_input" for g in gates),
            every=1,
        )
        samples = []
        for gate in gates:
            message = _wait(f"the {gate} message", lambda g=gate: _request_message(slack, g))
            pressed = time.monotonic()
            _approve(slack, message)
            seen: dict[str, float] = {}
            while "done" not in seen and time.monotonic() - pressed < 120:
                state = _states(client, run_id).get(gate)
                now = time.monotonic() - pressed
                if state != "awaiting_input":
                    seen.setdefault("resumed", now)
                if state in ("running", "success"):
                    seen.setdefault("running", now)
                if state == "success":
                    seen.setdefault("done", now)
                time.sleep(0.1)
            print(
                f"  {gate:<32} resumed {seen.get('resumed', float('nan')):5.1f} s, running "
                f"{seen.get('running', float('nan')):5.1f} s, done {seen.get('done', float('nan')):5.1f} s",
                flush=True,
            )
            samples.append(seen)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tables", type=int, default=4, help=f"gates approved in one run (at most {len(TABLES)})")
    args = parser.parse_args()
    tables = list(TABLES[: max(1, min(args.tables, len(TABLES)))])
    state = Path(tempfile.mkdtemp(prefix="scrollintel-bench-approval-"))
    saved = dict(os.environ)
    os.environ.update({"SCROLLINTEL_HOME": str(state), "SCROLLINTEL_DEMO_SCALE": "0.05"})
    for key in ("SCROLLINTEL_DATABASE_URL", "SCROLLINTEL_TEST_DATABASE_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        os.environ.pop(key, None)
    from scrollintel.platform import launcher

    lines: list[str] = []
    print("starting the platform as `make run` does ...", flush=True)
    try:
        info = launcher.up(lines.append)
        lay = launcher.layout()
        slack = f"http://{launcher.HOST}:{launcher.platform_ports(lay)['slack']}"
        team_password = launcher.platform_secrets(lay)["team_password"]
        samples = measure(info["url"], (info["user"], info["password"]), team_password, slack, tables)
    finally:
        launcher.down(lines.append, timeout=5.0)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(state, ignore_errors=True)
    print()
    print(f"{'signed Approve in Slack ->':<34} {'p50 s':>7} {'max s':>7}")
    print("-" * 50)
    for phase in ("resumed", "running", "done"):
        values = [sample[phase] for sample in samples if phase in sample]
        print(f"{'  task ' + phase:<34} {statistics.median(values):7.1f} {max(values):7.1f}")
    worst = max(sample.get("resumed", float("inf")) for sample in samples)
    met = worst < GOAL_S
    print(
        f"\n  approve -> waiting task resumed (worst of {len(samples)}): {worst:.1f} s   goal < {GOAL_S:.0f} s   "
        f"{'MET' if met else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
