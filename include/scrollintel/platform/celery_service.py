"""The Celery scale-out `SCROLLINTEL_EXECUTOR=celery make run` starts: broker, two workers, Flower.

- **Broker**: a Redis server the platform starts itself, as it starts PostgreSQL: Debian's
  ``redis-server`` binary (or any on the PATH), bound to ``127.0.0.1`` on a port chosen free,
  with a generated password, its data (append-only file) under ``<state>/redis``. Its settings
  are in ``<state>/redis/redis.conf`` (mode 0600), so the password is never on a command line.
  ``SCROLLINTEL_CELERY_BROKER_URL`` points the platform at a broker of your own instead (Redis or
  RabbitMQ; nothing is started then).
- **Workers**: two ``airflow celery worker`` processes, two task slots each, with distinct Celery
  node names and task instance hostnames (``worker-default``, ``worker-heavy``): the first serves
  the ``default`` queue; the second the ``heavy`` queue of dbt and ML tasks
  (:data:`scrollintel.dag_defaults.HEAVY_QUEUE`) and, when it has a free slot, ``default`` too,
  so that default work keeps a worker when one dies.
- **Flower**: Celery's monitoring UI on loopback, behind the admin's login (HTTP basic auth).
- **Results**: Airflow's default result backend, the metadata database.

A worker's task instances carry its name as their ``hostname`` through Airflow's
``[core] hostname_callable`` (:func:`worker_hostname`): both workers run on this machine, where
the machine's name would not tell them apart. Their logs are files in the shared log folder, which
the api-server reads directly, so the workers run no log server (``--skip-serve-logs``).

Nothing heavy is imported at module level: Airflow imports :func:`worker_hostname` in every task
supervisor.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scrollintel.dag_defaults import HEAVY_QUEUE
from scrollintel.exceptions import PlatformError

#: A broker URL of your own (``redis://...``, ``amqp://...``): no Redis server is started.
ENV_BROKER_URL = "SCROLLINTEL_CELERY_BROKER_URL"
#: The task instance hostname of the worker whose environment holds it (see :func:`worker_hostname`).
ENV_WORKER_HOSTNAME = "SCROLLINTEL_WORKER_HOSTNAME"
#: Airflow's ``[operators] default_queue``.
DEFAULT_QUEUE = "default"
#: Task slots per worker: two workers x two slots = the four of LocalExecutor on a 2-core laptop.
WORKER_CONCURRENCY = 2
#: The managed process name of the broker (``make status`` lists it).
BROKER_PROCESS = "redis"
FLOWER_PROCESS = "flower"
#: Seconds to wait for the broker to answer, and for both workers to answer a ping.
BROKER_TIMEOUT_S = 30.0
WORKERS_TIMEOUT_S = 180.0

REDIS_PACKAGE_HINT = (
    "install Redis: `apt-get install redis-server` (Debian/Ubuntu), `dnf install redis` (Fedora) or "
    "`brew install redis` (macOS); or point the platform at a broker you run with "
    f"{ENV_BROKER_URL}=redis://:password@host:6379/0"
)


@dataclass(frozen=True)
class Worker:
    """One Celery worker the platform starts."""

    process: str
    """Managed process name (PID file, log file, `make status`)."""
    hostname: str
    """Task instance hostname; the Celery node name is ``<hostname>@<machine>``."""
    queues: tuple[str, ...]


WORKERS = (
    Worker("celery-worker-default", "worker-default", (DEFAULT_QUEUE,)),
    Worker("celery-worker-heavy", "worker-heavy", (HEAVY_QUEUE, DEFAULT_QUEUE)),
)


def worker_hostname() -> str:
    """Airflow ``[core] hostname_callable`` of the platform's workers: their name, else the machine's."""
    configured = os.environ.get(ENV_WORKER_HOSTNAME)
    if configured:
        return configured
    import socket

    return socket.getfqdn()


def external_broker_url() -> str | None:
    """The broker the user runs (:data:`ENV_BROKER_URL`), or None: the platform starts Redis."""
    return os.environ.get(ENV_BROKER_URL) or None


def redis_server_binary() -> str:
    """The ``redis-server`` executable; PlatformError saying what to install when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        raise PlatformError(
            f"SCROLLINTEL_EXECUTOR=celery needs a broker and redis-server is not on the PATH: {REDIS_PACKAGE_HINT}"
        )
    return found


def redis_dir(state: Path) -> Path:
    return state / "redis"


def redis_config_file(state: Path) -> Path:
    return redis_dir(state) / "redis.conf"


def redis_config(state: Path, host: str, port: int, password: str) -> str:
    """The server's settings: loopback only, password, append-only data in the state folder."""
    return "\n".join(
        [
            f"bind {host}",
            f"port {port}",
            "protected-mode yes",
            f"requirepass {password}",
            f"dir {redis_dir(state)}",
            # Queued tasks survive a restart of the broker; no RDB snapshots besides.
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "daemonize no",
            'logfile ""',
            "",
        ]
    )


def write_redis_config(state: Path, host: str, port: int, password: str) -> Path:
    """Write ``redis.conf`` (mode 0600: it holds the password) and return its path."""
    path = redis_config_file(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(redis_config(state, host, port, password), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def redis_url(host: str, port: int, password: str) -> str:
    return f"redis://:{password}@{host}:{port}/0"


def broker_command(state: Path) -> list[str]:
    return [redis_server_binary(), str(redis_config_file(state))]


def worker_command(airflow: str, worker: Worker, run_dir: Path) -> list[str]:
    """``airflow celery worker`` for one worker: its queues, slots, node name, own PID file, no log server."""
    return [
        airflow,
        "celery",
        "worker",
        "--queues",
        ",".join(worker.queues),
        "--concurrency",
        str(WORKER_CONCURRENCY),
        "--celery-hostname",
        f"{worker.hostname}@%h",
        "--skip-serve-logs",
        "--pid",
        str(run_dir / f"{worker.process}.airflow.pid"),
    ]


def worker_env(worker: Worker) -> dict[str, str]:
    """What a worker's environment adds: the hostname its task instances carry."""
    return {
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        ENV_WORKER_HOSTNAME: worker.hostname,
    }


def flower_command(airflow: str, host: str, port: int, run_dir: Path) -> list[str]:
    return [
        airflow,
        "celery",
        "flower",
        "--hostname",
        host,
        "--port",
        str(port),
        "--pid",
        str(run_dir / f"{FLOWER_PROCESS}.airflow.pid"),
    ]


def flower_env(user: str, password: str) -> dict[str, str]:
    """Flower's login (HTTP basic auth), in its environment only: Flower can revoke tasks and stop workers."""
    return {"AIRFLOW__CELERY__FLOWER_BASIC_AUTH": f"{user}:{password}"}


def airflow_settings(broker_url: str, flower_host: str, flower_port: int) -> dict[str, str]:
    """The Airflow configuration of the Celery mode, shared by every Airflow process."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__CELERY__FLOWER_HOST": flower_host,
        "AIRFLOW__CELERY__FLOWER_PORT": str(flower_port),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": DEFAULT_QUEUE,
    }


def _wait(
    what: str, probe: Callable[[], str | None], alive: Callable[[], bool], timeout: float, log_file: Path | None
) -> float:
    """Call ``probe`` (None when ready, else why not) until ready; returns the seconds waited."""
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout:
        if not alive():
            raise PlatformError(f"{what} exited{_tail(log_file)}")
        problem = probe()
        if problem is None:
            return time.monotonic() - started
        last = problem
        time.sleep(0.5)
    raise PlatformError(f"{what} did not answer within {timeout:.0f}s ({last}){_tail(log_file)}")


def wait_broker(
    url: str, alive: Callable[[], bool], timeout: float = BROKER_TIMEOUT_S, log_file: Path | None = None
) -> float:
    """Wait until the Redis broker at ``url`` answers PING (with its password); returns the seconds waited."""
    import redis

    def probe() -> str | None:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.RedisError as err:
            return f"{type(err).__name__}: {err}"
        finally:
            client.close()
        return None

    return _wait("the Redis broker", probe, alive, timeout, log_file)


def wait_workers(
    broker_url: str, names: list[str], alive: Callable[[], bool], timeout: float = WORKERS_TIMEOUT_S
) -> float:
    """Wait until every worker in ``names`` (hostnames) answers a Celery ping; returns the seconds waited."""
    from celery import Celery

    app = Celery(broker=broker_url)

    def probe() -> str | None:
        replies = app.control.ping(timeout=1.0) or []
        answered = {node.split("@", 1)[0] for reply in replies for node in reply}
        missing = [name for name in names if name not in answered]
        return f"not answering: {', '.join(missing)}" if missing else None

    try:
        return _wait("a Celery worker", probe, alive, timeout, None)
    finally:
        app.close()


def _tail(log_file: Path | None, lines: int = 30) -> str:
    if log_file is None:
        return ""
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return ""
    return f"; last lines of {log_file}:\n" + "\n".join(text)
