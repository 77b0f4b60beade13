"""The MLflow tracking server as `make run` starts it: on the embedded server's ``mlflow`` database,
as the ``mlflow`` role, on loopback only, its password never on a command line, stopped by ``down``."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from scrollintel import db, settings
from scrollintel.platform import launcher
from scrollintel.platform.postgres import EmbeddedPostgres
from scrollintel.platform.provision import provision_embedded

pytestmark = pytest.mark.integration


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A provisioned embedded server in a new state folder (not under pytest's tmp: test_postgres_and_provision)."""
    home = Path(tempfile.mkdtemp(prefix="scrollintel-mlflowtest-"))
    monkeypatch.setenv("SCROLLINTEL_HOME", str(home))
    monkeypatch.delenv("SCROLLINTEL_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCROLLINTEL_MLFLOW_ARTIFACTS", raising=False)
    monkeypatch.delenv("SCROLLINTEL_OBJECT_STORE", raising=False)
    server = EmbeddedPostgres(home / "postgres")
    server.start()
    provision_embedded(server)
    yield home
    for proc in launcher.managed_processes(launcher.layout()):
        proc.stop(timeout=5)
    server.destroy()
    shutil.rmtree(home, ignore_errors=True)


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    return None


def test_the_launcher_starts_mlflow_on_loopback_with_its_own_database(state: Path) -> None:
    lay = launcher.layout()
    (server,) = [proc for proc in launcher.managed_processes(lay) if proc.name == "mlflow"]
    port = launcher.platform_ports(lay)["mlflow"]
    env = launcher.child_env(lay)

    server.start(launcher.process_env("mlflow", env), settings.project_root())
    waited = launcher.wait_mlflow(lay)

    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
    assert health.status_code == 200 and health.text.strip() == "OK", health.text
    # the connection tasks use points at it
    conn = env["AIRFLOW_CONN_MLFLOW_DEFAULT"]
    assert f'"port": {port}' in conn and '"host": "127.0.0.1"' in conn
    # bound to loopback only
    elsewhere = _non_loopback_address()
    if elsewhere is not None:
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((elsewhere, port)) != 0, f"MLflow answers on {elsewhere}:{port}"
    # its backend is the mlflow database, written as the mlflow role
    with psycopg.connect(db.libpq_url(db.admin_url("mlflow"))) as admin:
        owners = {row[0] for row in admin.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    assert owners == {"mlflow"}
    # the database password is in the server's environment, never on a command line
    password = db.database_url("mlflow").split(":")[2].split("@")[0]
    pid = server.pid()
    assert pid is not None
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        assert password not in " ".join(process.cmdline()), process.cmdline()
    assert "MLFLOW_BACKEND_STORE_URI" not in env  # Airflow's processes do not get it
    # artifacts go to the object store
    assert str(settings.object_store_dir() / "mlflow") in server.command
    assert waited < 180

    assert launcher.status()["mlflow"] == "running"
    lines: list[str] = []
    launcher.down(lines.append, timeout=10)
    assert "  stopped mlflow" in lines
    assert launcher.status()["mlflow"] == "stopped"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
