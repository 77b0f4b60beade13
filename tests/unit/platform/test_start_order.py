"""Start order: the scheduler and the rest start only once the api-server's execution API (and MLflow) answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scrollintel.exceptions import PlatformError
from scrollintel.platform import launcher

pytestmark = pytest.mark.unit


@dataclass
class FakeProcess:
    """Stands in for a ManagedProcess: records starts, reports a PID while ``alive``."""

    name: str
    log_file: Path
    alive: bool = True
    started: list[str] = field(default_factory=list)

    def pid(self) -> int | None:
        return 4242 if self.alive else None

    def start(self, env: dict[str, str], cwd: Path) -> int:
        self.started.append(self.name)
        return 4242


@pytest.fixture
def processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[FakeProcess]:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    log_file = tmp_path / "api-server.log"
    log_file.write_text("line one\nTraceback: the app did not load\n")
    procs = [FakeProcess(name, log_file) for name in ("marketing-api", "mlflow", *launcher.AIRFLOW_COMPONENTS)]
    monkeypatch.setattr(launcher, "managed_processes", lambda lay: procs)
    return procs


@contextmanager
def _serve(statuses: list[int]) -> Iterator[tuple[int, list[str]]]:
    """A loopback server answering the given statuses in turn (then the last one); yields port and paths."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            status = statuses[min(len(paths), len(statuses)) - 1]
            body = json.dumps({"status": "healthy"}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def execution_api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with _serve(request.param) as (port, paths):
        monkeypatch.setattr(launcher, "platform_ports", lambda lay: {"api_server": port})
        yield paths


def test_the_api_server_mlflow_and_marketing_api_start_first_and_the_rest_after(
    processes: list[FakeProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launcher.db, "database_url", lambda database, role=None: f"postgresql://{database}")
    lay = launcher.layout()
    launcher.start_processes(lay, {}, first=True)
    assert [p.name for p in processes if p.started] == ["marketing-api", "mlflow", "api-server"]
    launcher.start_processes(lay, {}, first=False)
    assert [p.name for p in processes if p.started] == [
        "marketing-api", "mlflow", "api-server", "scheduler", "dag-processor", "triggerer"
    ]  # fmt: skip
    assert all(len(p.started) == 1 for p in processes), "each process started once"


@pytest.mark.parametrize("execution_api", [[503, 503, 200]], indirect=True)
def test_waits_until_the_execution_api_answers(processes: list[FakeProcess], execution_api: list[str]) -> None:
    waited = launcher.wait_execution_api(launcher.layout(), timeout=30)
    assert execution_api == ["/execution/health"] * 3
    assert waited >= 2, "one second between polls"


@pytest.mark.parametrize("execution_api", [[503]], indirect=True)
def test_an_execution_api_that_never_answers_fails_the_start_with_the_last_answer(
    processes: list[FakeProcess], execution_api: list[str]
) -> None:
    with pytest.raises(PlatformError, match=r"the execution API \(http://127\.0\.0\.1:\d+/execution/health\) did not"):
        launcher.wait_execution_api(launcher.layout(), timeout=1.5)


@pytest.mark.parametrize("execution_api", [[503]], indirect=True)
def test_an_api_server_that_exits_fails_the_start_with_its_log(
    processes: list[FakeProcess], execution_api: list[str]
) -> None:
    next(p for p in processes if p.name == "api-server").alive = False
    with pytest.raises(PlatformError, match=r"api-server exited; last lines of .*\nline one\nTraceback: the app"):
        launcher.wait_execution_api(launcher.layout(), timeout=30)


def test_tasks_wait_longer_for_the_execution_api_than_airflow_s_defaults() -> None:
    from airflow.configuration import conf

    settings = launcher.execution_api_client_env()
    for key in settings:
        section, option = key.removeprefix("AIRFLOW__").lower().split("__")
        assert conf.get_default_value(section, option) is not None, f"{key} is an Airflow setting"
    for option in ("execution_api_timeout", "execution_api_retries"):
        default = float(conf.get_default_value("workers", option))
        assert float(settings[f"AIRFLOW__WORKERS__{option.upper()}"]) > default, f"{option} above {default}"


@pytest.fixture
def mlflow_health(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with _serve(request.param) as (port, paths):
        monkeypatch.setattr(launcher, "platform_ports", lambda lay: {"mlflow": port})
        yield paths


@pytest.mark.parametrize("mlflow_health", [[503, 200]], indirect=True)
def test_waits_until_mlflow_answers(processes: list[FakeProcess], mlflow_health: list[str]) -> None:
    waited = launcher.wait_mlflow(launcher.layout(), timeout=30)
    assert mlflow_health == ["/health"] * 2
    assert waited >= 1


@pytest.mark.parametrize("mlflow_health", [[503]], indirect=True)
def test_an_mlflow_server_that_exits_fails_the_start_with_its_log(
    processes: list[FakeProcess], mlflow_health: list[str]
) -> None:
    next(p for p in processes if p.name == "mlflow").alive = False
    exited = r"the MLflow server exited; last lines of .*\nline one\nTraceback: the app"
    with pytest.raises(PlatformError, match=exited):
        launcher.wait_mlflow(launcher.layout(), timeout=30)


@pytest.mark.parametrize("mlflow_health", [[503]], indirect=True)
def test_an_mlflow_server_that_never_answers_fails_the_start(
    processes: list[FakeProcess], mlflow_health: list[str]
) -> None:
    silent = r"the MLflow server \(http://127\.0\.0\.1:\d+/health\) did not answer within 2s \(HTTP 503\)"
    with pytest.raises(PlatformError, match=silent):
        launcher.wait_mlflow(launcher.layout(), timeout=1.5)
