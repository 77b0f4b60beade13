"""The running platform, started once for all e2e modules exactly as `make run` starts it.

It gets its own state folder (embedded PostgreSQL, Airflow home, logs, ports) under a
temporary directory, small demo data, and is stopped after the last e2e test (package scope:
left running to the end of the session, its scheduler, dag-processor and scheduled DAG runs
would take CPU from every test after it, and its environment would leak into them).

Modules share it, so none may rely on a fresh platform: each runs its own DAG runs and reads
its own run ids, data and ledger entries.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass(frozen=True)
class RunningPlatform:
    url: str
    user: str
    password: str
    state: Path

    def token(self) -> str:
        response = httpx.post(
            f"{self.url}/auth/token", json={"username": self.user, "password": self.password}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token()}"}, timeout=30)


#: Settings of the test process that must not reach a test platform (it makes its own).
_NOT_INHERITED = ("SCROLLINTEL_DATABASE_URL", "AIRFLOW__CORE__UNIT_TEST_MODE", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")


@contextmanager
def running_platform(state: Path, env: dict[str, str], drop: tuple[str, ...] = ()) -> Iterator[RunningPlatform]:
    """`scrollintel platform up` in ``state`` with ``env`` set (and ``drop`` unset) in this process; `down`,
    the environment put back and ``state`` removed afterwards (kept with ``SCROLLINTEL_E2E_KEEP``).

    On a failed start the tail of every platform log is printed.
    """
    from scrollintel.platform import launcher

    saved = dict(os.environ)
    os.environ.update({"SCROLLINTEL_HOME": str(state), **env})
    for key in (*_NOT_INHERITED, *drop):
        os.environ.pop(key, None)
    lines: list[str] = []
    try:
        launcher.platform_ports(launcher.layout(), prefer_usual=False)  # another platform may start now
        info = launcher.up(lines.append)
        yield RunningPlatform(url=info["url"], user=info["user"], password=info["password"], state=state)
    except Exception:
        for log_file in sorted((state / "logs").glob("*.log")):
            print(f"==== {log_file.name}\n" + "\n".join(log_file.read_text(errors="replace").splitlines()[-40:]))
        print("\n".join(lines))
        raise
    finally:
        # The tests are over: tasks still running (a scheduled run) need no graceful shutdown.
        launcher.down(lines.append, timeout=5.0)
        os.environ.clear()
        os.environ.update(saved)
        if os.environ.get("SCROLLINTEL_E2E_KEEP"):  # logs and data kept for a look after a failure
            print(f"e2e platform state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="package")
def platform() -> Iterator[RunningPlatform]:
    """`scrollintel platform up` in a temporary state folder; `down` afterwards."""
    state = Path(tempfile.mkdtemp(prefix="scrollintel-e2e-"))
    scale = os.environ.get("SCROLLINTEL_E2E_DEMO_SCALE", "0.05")
    with running_platform(state, {"SCROLLINTEL_DEMO_SCALE": scale}) as running:
        yield running


def wait_for_json(client: httpx.Client, path: str, done: object, timeout: float = 240.0) -> dict[str, object]:
    """Poll ``path`` until ``done(json)`` is true; fail with the last answer after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        response = client.get(path)
        if response.status_code == 200:
            last = response.json()
            if done(last):  # type: ignore[operator]
                return last  # type: ignore[return-value]
        else:
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting on {path}; last answer: {json.dumps(last)[:2000]}")
