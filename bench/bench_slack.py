"""Slack interactivity benchmark: acknowledgement latency of the signed endpoint, against a baseline.

**Method.** One uvicorn server (a separate process, one worker, as the api-server runs) serves the
governance app mounted at ``/scrollintel`` exactly as the plugin mounts it, and beside it a
baseline endpoint that only reads the request body and answers 200. The interactivity endpoint
gets the signing secret from the app's dependency override (the cached path of production) and
a handler that does nothing (the work after the acknowledgement is not what Slack waits for). The
client signs each request as Slack does (fresh timestamp, ``v0=`` HMAC-SHA256 of
``v0:<ts>:<body>``) with a ``block_actions`` payload of an Approve press carrying a realistic
message (about 3 KB form-encoded), and posts it over one keep-alive connection; baseline and
endpoint requests alternate so both see the same machine load. Latency is measured by the client,
from sending to the complete response. Goal: p99 < 300 ms on 2 cores (Slack waits 3 s).

Run: ``.venv/bin/python bench/bench_slack.py [--requests 1000]``. The machine is shared: the
ratio to the baseline within one run is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

SECRET_ENV = "SCROLLINTEL_BENCH_SLACK_SECRET"  # noqa: S105 - the variable's name
PATH = "/scrollintel/slack/interactivity"
BASELINE = "/baseline"


def server_app() -> Any:
    """The app the server process runs: the mounted governance app and the baseline (uvicorn --factory)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from scrollintel.web import URL_PREFIX, create_app
    from scrollintel.web.routes.slack import answer_handler, slack_signing_secret

    secret = os.environ[SECRET_ENV]
    governance = create_app()
    governance.dependency_overrides[slack_signing_secret] = lambda: secret
    governance.dependency_overrides[answer_handler] = lambda: lambda answer: None

    async def baseline(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    return Starlette(routes=[Route(BASELINE, baseline, methods=["POST"]), Mount(URL_PREFIX, app=governance)])


def press_body(index: int) -> bytes:
    """A Slack block_actions payload of an Approve press, with the message's blocks as Slack sends them."""
    from datetime import UTC, datetime

    from scrollintel.approvals.slack import APPROVE_ACTION, ApprovalMessage, RequestIdentity, request_blocks

    identity = RequestIdentity("ingest_shop", f"scheduled__2026-11-01T00:{index % 60:02d}:00+00:00", "approve", -1)
    message = ApprovalMessage(
        identity=identity,
        subject="schema_change",
        summary="shop.customers gained the column loyalty_tier",
        requested_by="dp-engineer",
        deadline=datetime(2026, 11, 3, tzinfo=UTC),
        task_url="https://airflow.example/dags/ingest_shop",
        approvals_url="https://airflow.example/scrollintel/approvals",
        column_changes=[{"kind": "added", "column": f"c{i}", "old_type": None, "new_type": "text"} for i in range(5)],
    )
    payload = {
        "type": "block_actions",
        "user": {"id": "U01DPLEAD", "username": "dp-lead", "team_id": "T0DEMO"},
        "container": {"type": "message", "message_ts": "1800000000.000100", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "data-platform"},
        "message": {"type": "message", "ts": "1800000000.000100", "blocks": request_blocks(message)},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"type": "button", "action_id": APPROVE_ACTION, "value": identity.to_value()}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(secret: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    home = Path(tempfile.mkdtemp(prefix="scrollintel-bench-slack-"))
    env = {
        **os.environ,
        SECRET_ENV: secret,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench_slack:server_app", "--app-dir",
               str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--lifespan", "off"]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{url}{BASELINE}", content=b"x", timeout=1)
            return server, url
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the bench server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="signed requests (and as many baseline ones)")
    args = parser.parse_args()
    from scrollintel.approvals.slack import sign

    secret = secrets.token_hex(16)
    server, url = start_server(secret)
    bodies = [press_body(i) for i in range(50)]
    times: dict[str, list[float]] = {"interactivity": [], "baseline": []}
    statuses: dict[str, set[int]] = {"interactivity": set(), "baseline": set()}
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            for _ in range(50):  # warm-up: imports, first requests
                client.post(PATH, content=bodies[0], headers=sign(secret, bodies[0]))
                client.post(BASELINE, content=bodies[0])
            for i in range(args.requests):
                body = bodies[i % len(bodies)]
                for name, path in (("interactivity", PATH), ("baseline", BASELINE)):
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                    if name == "interactivity":
                        headers |= sign(secret, body)
                    started = time.perf_counter()
                    response = client.post(path, content=body, headers=headers)
                    times[name].append((time.perf_counter() - started) * 1000)
                    statuses[name].add(response.status_code)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"Slack interactivity acknowledgement, {args.requests} signed requests, body {len(bodies[0]):,} bytes")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, one uvicorn worker")
    print()
    print(f"  {'endpoint':<16} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}  statuses")
    for name, values in times.items():
        print(
            f"  {name:<16} {percentile(values, 0.5):8.2f} {percentile(values, 0.9):8.2f} "
            f"{percentile(values, 0.99):8.2f} {max(values):8.2f} {statistics.fmean(values):8.2f}  "
            f"{sorted(statuses[name])}"
        )
    p99 = percentile(times["interactivity"], 0.99)
    overhead = percentile(times["interactivity"], 0.5) - percentile(times["baseline"], 0.5)
    print()
    print(f"  verification + parsing over the baseline, p50: {overhead:.2f} ms")
    met = p99 < 300 and statuses["interactivity"] == {200}
    print(f"verdict: interactivity ack p99 {p99:.1f} ms, goal < 300 ms: {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
