"""Platform settings: where things live on disk and which environment variables override them.

Each setting is one small function, read when called (not at import), so tests and the
launcher can point the platform elsewhere by setting an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variables the platform understands (documented in .env.example).
ENV_PROJECT_ROOT = "SCROLLINTEL_PROJECT_ROOT"
ENV_HOME = "SCROLLINTEL_HOME"
ENV_GOVERNANCE_DIR = "SCROLLINTEL_GOVERNANCE_DIR"
ENV_OBJECT_STORE = "SCROLLINTEL_OBJECT_STORE"
ENV_DATABASE_URL = "SCROLLINTEL_DATABASE_URL"
#: The instant dbt models and the quality gates observe the data at (ISO date or date-time; empty:
#: now). The platform sets the demo's fixed instant unless the user sets another.
ENV_AS_OF = "SCROLLINTEL_AS_OF"
ENV_EXECUTOR = "SCROLLINTEL_EXECUTOR"

#: The executors `make run` can start: Airflow's LocalExecutor (the default) or Celery workers.
EXECUTORS = ("local", "celery")

#: Where the governance web app is mounted in the Airflow api-server (pages, JSON API, lineage API).
WEB_URL_PREFIX = "/scrollintel"


def project_root() -> Path:
    """The repository root: the folder holding ``governance/`` and ``dags/``."""
    configured = os.environ.get(ENV_PROJECT_ROOT)
    if configured:
        return Path(configured).resolve()
    # include/scrollintel/settings.py -> repository root (editable install)
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "governance").is_dir():
        return candidate
    return Path.cwd().resolve()


def state_dir() -> Path:
    """Git-ignored local state: embedded PostgreSQL data, Airflow home, logs, PID files."""
    configured = os.environ.get(ENV_HOME)
    return Path(configured).resolve() if configured else project_root() / ".scrollintel"


def governance_dir() -> Path:
    """Folder of the governance policy files (``governance/*.yaml``)."""
    configured = os.environ.get(ENV_GOVERNANCE_DIR)
    return Path(configured).resolve() if configured else project_root() / "governance"


def object_store_dir() -> Path:
    """Local object storage root (the default; S3 in production)."""
    configured = os.environ.get(ENV_OBJECT_STORE)
    return Path(configured).resolve() if configured else state_dir() / "object-store"


def external_database_url() -> str | None:
    """A PostgreSQL server URL given by the user; when set, no embedded server is started."""
    return os.environ.get(ENV_DATABASE_URL) or None


def executor() -> str:
    """Which executor `make run` starts: ``local`` (default) or ``celery`` (ADR 0017).

    Raises:
        ConfigError: the variable names another executor.
    """
    from scrollintel.exceptions import ConfigError

    configured = (os.environ.get(ENV_EXECUTOR) or "local").strip().lower()
    if configured not in EXECUTORS:
        raise ConfigError(
            f"{ENV_EXECUTOR}={os.environ.get(ENV_EXECUTOR)!r} is not an executor the platform starts; "
            f"use one of: {', '.join(EXECUTORS)}"
        )
    return configured
