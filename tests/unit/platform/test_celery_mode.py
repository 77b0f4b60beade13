"""`SCROLLINTEL_EXECUTOR=celery make run`: what the launcher starts and configures (ADR 0017).

The end-to-end proof (workers running tasks, a worker killed) is tests/e2e_celery; these check the
wiring and every message a user can meet, plus one real Redis started the way the platform starts it.
"""

from __future__ import annotations

import json
import shutil
import stat
import time
from pathlib import Path

import pytest

from scrollintel import settings
from scrollintel.exceptions import ConfigError, PlatformError
from scrollintel.platform import celery_service, launcher
from scrollintel.platform.processes import ManagedProcess

pytestmark = pytest.mark.unit

WORKER_PROCESSES = [worker.process for worker in celery_service.WORKERS]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    for key in ("SCROLLINTEL_EXECUTOR", "SCROLLINTEL_CELERY_BROKER_URL", "SCROLLINTEL_EXTRA_DAGS_FOLDER"):
        monkeypatch.delenv(key, raising=False)
    # An external server: airflow_env builds database URLs without an embedded server's state.
    monkeypatch.setenv("SCROLLINTEL_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:5432/postgres")
    return tmp_path


def test_the_executor_is_local_unless_celery_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCROLLINTEL_EXECUTOR", raising=False)
    assert settings.executor() == "local"
    monkeypatch.setenv("SCROLLINTEL_EXECUTOR", " Celery ")
    assert settings.executor() == "celery"


def test_an_unknown_executor_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_EXECUTOR", "kubernetes")
    with pytest.raises(ConfigError) as err:
        settings.executor()
    assert str(err.value) == (
        "SCROLLINTEL_EXECUTOR='kubernetes' is not an executor the platform starts; use one of: local, celery"
    )


def test_local_mode_starts_no_celery_process_and_keeps_four_local_slots(home: Path) -> None:
    env = launcher.airflow_env(launcher.layout())
    names = [proc.name for proc in launcher.managed_processes(launcher.layout())]

    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert not any(key.startswith("AIRFLOW__CELERY__") for key in env)
    assert not set(names) & {"redis", "flower", *WORKER_PROCESSES}


def test_celery_mode_starts_redis_first_then_two_workers_and_flower(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_EXECUTOR", "celery")
    lay = launcher.layout()
    procs = {proc.name: proc for proc in launcher.managed_processes(lay)}
    names = list(procs)
    env = launcher.airflow_env(lay)
    ports, keys = launcher.platform_ports(lay), launcher.platform_secrets(lay)

    assert names[0] == "redis" and "redis" in launcher.STARTED_FIRST
    assert names[-3:] == ["celery-worker-default", "celery-worker-heavy", "flower"]
    assert not {"flower", *WORKER_PROCESSES} & set(launcher.STARTED_FIRST)  # with the scheduler
    assert procs["redis"].command[1] == str(home / "redis" / "redis.conf")  # no password on a command line
    default, heavy = (procs[name].command for name in WORKER_PROCESSES)
    assert default[default.index("--queues") + 1] == "default"
    assert heavy[heavy.index("--queues") + 1] == "heavy,default"
    assert default[default.index("--celery-hostname") + 1] == "worker-default@%h"
    assert heavy[heavy.index("--concurrency") + 1] == "2"
    assert "--skip-serve-logs" in heavy
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{keys['redis_password']}@127.0.0.1:{ports['redis']}/0"
    assert ports["redis"] != 6379
    assert env["AIRFLOW__CELERY__FLOWER_PORT"] == str(ports["flower"])


def test_each_worker_names_its_task_instances_and_only_flower_gets_the_login(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_EXECUTOR", "celery")
    env = {"A": "1"}
    worker_env = launcher.process_env("celery-worker-heavy", env)
    flower_env = launcher.process_env("flower", env)

    assert worker_env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == "scrollintel.platform.celery_service.worker_hostname"
    assert worker_env[celery_service.ENV_WORKER_HOSTNAME] == "worker-heavy"
    password = launcher.platform_secrets(launcher.layout())["admin_password"]
    assert flower_env["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"] == f"admin:{password}"
    assert launcher.process_env("scheduler", env) == env


def test_the_hostname_callable_answers_the_workers_name_else_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv(celery_service.ENV_WORKER_HOSTNAME, "worker-default")
    assert celery_service.worker_hostname() == "worker-default"
    monkeypatch.delenv(celery_service.ENV_WORKER_HOSTNAME)
    assert celery_service.worker_hostname() == socket.getfqdn()


def test_an_external_broker_replaces_the_platforms_redis(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_EXECUTOR", "celery")
    monkeypatch.setenv("SCROLLINTEL_CELERY_BROKER_URL", "amqp://user:pw@rabbit:5672//")
    lay = launcher.layout()

    assert "redis" not in [proc.name for proc in launcher.managed_processes(lay)]
    assert launcher.airflow_env(lay)["AIRFLOW__CELERY__BROKER_URL"] == "amqp://user:pw@rabbit:5672//"


def test_a_missing_redis_server_says_what_to_install(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(home))  # no redis-server there
    with pytest.raises(PlatformError) as err:
        celery_service.redis_server_binary()
    message = str(err.value)
    assert "redis-server is not on the PATH" in message
    assert "apt-get install redis-server" in message
    assert "SCROLLINTEL_CELERY_BROKER_URL" in message


def test_celery_mode_without_redis_stops_before_anything_starts(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_EXECUTOR", "celery")
    monkeypatch.setenv("PATH", str(home))
    with pytest.raises(PlatformError, match="apt-get install redis-server"):
        launcher.up(lambda line: None)
    assert not (home / "lineage").exists()  # up stopped before its first step
    monkeypatch.setenv("SCROLLINTEL_CELERY_BROKER_URL", "redis://:pw@broker:6379/0")
    assert launcher.check_executor() is True


def test_local_mode_needs_no_redis(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(home))
    assert launcher.check_executor() is False
    assert "redis" not in launcher.status()


def test_status_and_down_still_see_a_running_celery_process_without_the_setting(home: Path) -> None:
    lay = launcher.layout()
    flower = ManagedProcess("flower", ["sleep", "30"], lay.run, lay.logs)
    flower.start({"PATH": "/usr/bin:/bin"}, home)
    try:
        assert launcher.status()["flower"] == "running"
        lines: list[str] = []
        launcher.down(lines.append, timeout=5)
        assert "  stopped flower" in lines
        assert flower.pid() is None
    finally:
        flower.stop(1)


def test_an_extra_dags_folder_is_a_second_bundle(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST" not in launcher.airflow_env(launcher.layout())
    monkeypatch.setenv("SCROLLINTEL_EXTRA_DAGS_FOLDER", str(home / "mine"))
    bundles = json.loads(launcher.airflow_env(launcher.layout())["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert [(b["name"], b["kwargs"].get("path")) for b in bundles] == [
        ("dags-folder", None),
        ("extra-dags", str(home / "mine")),
    ]


def test_dags_are_unpaused_at_creation_unless_the_shell_says_otherwise(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", raising=False)
    assert launcher.airflow_env(launcher.layout())["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    assert launcher.airflow_env(launcher.layout())["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server (apt-get install redis-server)")
def test_the_platforms_redis_answers_only_with_its_password(home: Path) -> None:
    import redis

    lay = launcher.layout()
    port = launcher.free_port()
    config = celery_service.write_redis_config(lay.state, "127.0.0.1", port, "s3cret")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    server = ManagedProcess("redis", celery_service.broker_command(lay.state), lay.run, lay.logs)
    server.start({"PATH": "/usr/bin:/bin"}, home)
    try:
        url = celery_service.redis_url("127.0.0.1", port, "s3cret")
        assert celery_service.wait_broker(url, alive=lambda: server.pid() is not None, timeout=20) < 20
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, password="wrong").ping()
        assert (home / "redis" / "appendonlydir").is_dir()
    finally:
        server.stop(5)


def test_a_broker_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    log_file = tmp_path / "redis.log"
    log_file.write_text("FATAL CONFIG FILE ERROR\n", encoding="utf-8")
    with pytest.raises(PlatformError) as err:
        celery_service.wait_broker("redis://:x@127.0.0.1:1/0", alive=lambda: False, log_file=log_file)
    assert str(err.value).startswith("the Redis broker exited; last lines of")
    assert "FATAL CONFIG FILE ERROR" in str(err.value)


def test_a_process_that_exited_is_not_running_even_before_it_is_reaped(tmp_path: Path) -> None:
    proc = ManagedProcess("quick", ["true"], tmp_path / "run", tmp_path / "logs")
    proc.start({"PATH": "/usr/bin:/bin"}, tmp_path)
    deadline = time.monotonic() + 10
    while proc.pid() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.pid() is None
