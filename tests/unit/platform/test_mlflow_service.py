"""`make run`'s MLflow server: its command, environment, connection and nav link (no services)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from scrollintel.platform import launcher, mlflow_service

pytestmark = pytest.mark.unit


@pytest.fixture
def lay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> launcher.Layout:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.delenv(mlflow_service.ENV_ARTIFACTS, raising=False)
    monkeypatch.delenv(mlflow_service.ENV_UI_URL, raising=False)
    monkeypatch.delenv("SCROLLINTEL_OBJECT_STORE", raising=False)
    return launcher.layout()


def test_the_server_binds_loopback_serves_artifacts_into_the_object_store(lay: launcher.Layout) -> None:
    (server,) = [proc for proc in launcher.managed_processes(lay) if proc.name == "mlflow"]
    port = launcher.platform_ports(lay)["mlflow"]

    command = server.command
    assert command[:2] == [str(Path(sys.executable).parent / "mlflow"), "server"]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == str(port)
    assert command[command.index("--workers") + 1] == "1"
    assert "--serve-artifacts" in command
    assert command[command.index("--artifacts-destination") + 1] == str(lay.state / "object-store" / "mlflow")
    assert "mlflow" in launcher.STARTED_FIRST


def test_an_s3_destination_replaces_the_local_folder(lay: launcher.Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mlflow_service.ENV_ARTIFACTS, "s3://models-bucket/mlflow")

    (server,) = [proc for proc in launcher.managed_processes(lay) if proc.name == "mlflow"]

    assert server.command[server.command.index("--artifacts-destination") + 1] == "s3://models-bucket/mlflow"


def test_only_the_server_gets_the_backend_store_and_its_password(
    lay: launcher.Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        launcher.db, "database_url", lambda database, role=None: f"postgresql://mlflow:s3cret@127.0.0.1:5999/{database}"
    )
    base = {"PATH": "/bin"}

    server = launcher.process_env("mlflow", base)
    others = [launcher.process_env(name, base) for name in ("api-server", "scheduler", "audit-anchorer")]

    assert server["MLFLOW_BACKEND_STORE_URI"] == "postgresql+psycopg://mlflow:s3cret@127.0.0.1:5999/mlflow"
    assert server["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert server["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert all(env == base for env in others)


def test_airflow_reaches_the_server_through_the_mlflow_default_connection(
    lay: launcher.Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = launcher.platform_ports(lay)["mlflow"]

    env = launcher.mlflow_env(port)

    assert json.loads(env["AIRFLOW_CONN_MLFLOW_DEFAULT"]) == {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": port,
        "schema": "http",
        "extra": {"health_path": "/health"},
    }
    assert env[mlflow_service.ENV_UI_URL] == f"http://127.0.0.1:{port}"
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert "MLFLOW_TRACKING_URI" not in env  # tasks use the connection, which a deployment may change


def test_tracking_uri_comes_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from scrollintel.ml.tracking import tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", mlflow_service.connection("127.0.0.1", 5123))

    assert tracking_uri() == "http://127.0.0.1:5123"


def test_a_deployment_may_name_the_ui_behind_its_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mlflow_service.ENV_UI_URL, "https://mlflow.example.com/")

    assert launcher.mlflow_env(5000)[mlflow_service.ENV_UI_URL] == "https://mlflow.example.com/"


def test_the_plugin_reads_the_same_variable() -> None:
    plugin_source = (Path(__file__).resolve().parents[3] / "plugins" / "scrollintel_plugin.py").read_text()

    assert f'ENV_MLFLOW_URL = "{mlflow_service.ENV_UI_URL}"' in plugin_source
