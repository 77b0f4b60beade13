"""The MLflow tracking server `make run` starts: command, environment, connection, health.

- **Backend store**: the platform's ``mlflow`` PostgreSQL database (role ``mlflow``), through
  SQLAlchemy's psycopg 3 driver. The URL holds a password, so it is passed in the server's
  environment (``MLFLOW_BACKEND_STORE_URI``, which only that process gets), never on its command
  line, which every local user can read.
- **Artifacts**: proxied by the server (``--serve-artifacts``): clients upload and download
  through its REST API, so tasks need no storage credentials. They land under
  ``<object store>/mlflow`` (:func:`scrollintel.settings.object_store_dir`), or at the URL in
  :data:`ENV_ARTIFACTS` (``s3://bucket/prefix``; the server then needs AWS credentials in its
  environment, as boto3 finds them).
- **Bound to loopback** (``127.0.0.1``): MLflow's own server has no login, and the Airflow UI's
  login does not protect a separate server on another port. On a laptop only local processes
  and the user's browser reach it; in production it sits behind the cluster's authenticating
  proxy (governance/adr/0011-mlflow-tracking-server.md).
- **Lean**: one uvicorn worker, MLflow's job runner off (GenAI scorers and trace jobs, four
  extra processes the platform does not use), no usage telemetry.

Tasks reach the server through the Airflow connection ``mlflow_default``
(:data:`scrollintel.ml.tracking.MLFLOW_CONN_ID`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from scrollintel import settings
from scrollintel.exceptions import PlatformError

#: An artifact destination URL (``s3://bucket/prefix``) instead of the local object store.
ENV_ARTIFACTS = "SCROLLINTEL_MLFLOW_ARTIFACTS"
#: The MLflow UI's address as a browser reaches it (the nav link in the Airflow UI).
ENV_UI_URL = "SCROLLINTEL_MLFLOW_URL"
#: Seconds to wait for ``/health`` (a first start creates MLflow's tables: ~50 s on 2 busy cores).
HEALTH_TIMEOUT_S = 180.0

#: Settings for every process that uses MLflow (server, tasks, CLI): no usage reports, no
#: progress bars in task logs.
CLIENT_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def artifacts_destination() -> str:
    """Where the server keeps artifacts: :data:`ENV_ARTIFACTS` or ``<object store>/mlflow``."""
    configured = os.environ.get(ENV_ARTIFACTS)
    if configured:
        return configured
    return str(settings.object_store_dir() / "mlflow")


def server_command(host: str, port: int, artifacts: str) -> list[str]:
    """``mlflow server`` serving artifacts from ``artifacts``, on ``host:port``, one worker."""
    return [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def server_env(backend_url: str) -> dict[str, str]:
    """The server's own settings: the backend store (with its password), no job runner, no telemetry."""
    from scrollintel.db import normalise_url

    return {
        "MLFLOW_BACKEND_STORE_URI": normalise_url(backend_url),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        **CLIENT_ENV,
    }


def connection(host: str, port: int) -> str:
    """The Airflow connection ``mlflow_default`` (JSON for an ``AIRFLOW_CONN_*`` variable).

    An ``http`` connection: ``schema`` is the URL scheme (:func:`scrollintel.ml.tracking.tracking_uri`);
    ``health_path`` is what the platform_health DAG checks.
    """
    return json.dumps(
        {"conn_type": "http", "host": host, "port": port, "schema": "http", "extra": {"health_path": "/health"}}
    )


def health_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/health"


def wait_ready(
    url: str, alive: Callable[[], bool], timeout: float = HEALTH_TIMEOUT_S, log_file: Path | None = None
) -> float:
    """Poll ``url`` (``/health``) until it answers 200; returns the seconds waited.

    Raises:
        PlatformError: the server exited (``alive()`` false) or did not answer within ``timeout``.
    """
    import httpx

    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout:
        if not alive():
            raise PlatformError(f"the MLflow server exited{_tail(log_file)}")
        try:
            response = httpx.get(url, timeout=5)
        except httpx.HTTPError as err:
            last = f"{type(err).__name__}"
        else:
            if response.status_code == 200:
                return time.monotonic() - started
            last = f"HTTP {response.status_code}"
        time.sleep(1)
    raise PlatformError(f"the MLflow server ({url}) did not answer within {timeout:.0f}s ({last}){_tail(log_file)}")


def _tail(log_file: Path | None, lines: int = 30) -> str:
    if log_file is None:
        return ""
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return ""
    return f"; last lines of {log_file}:\n" + "\n".join(text)
