"""Connection health checks: can the platform reach every system its config names?

Used by the ``platform_health`` DAG. A check never raises for an unreachable system: it returns
a failed :class:`CheckResult` whose detail says what went wrong (no secrets, no data).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.warehouse import WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Connection

from scrollintel.exceptions import ConfigError

log = logging.getLogger(__name__)

TIMEOUT_S = 10


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    kind: str
    ok: bool
    latency_ms: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def connection_ids_to_check(extra: Iterable[str] = ()) -> list[str]:
    """The warehouse, the object store and every source's connection, each once, in a stable order."""
    from scrollintel.config import load_governance

    ids = [WAREHOUSE_CONN_ID, *extra]
    ids.extend(source.connection_id for source in load_governance().sources.values())
    return list(dict.fromkeys(ids))


def _check_postgres(conn: Connection) -> str:
    import psycopg

    with psycopg.connect(
        host=conn.host,
        port=conn.port or 5432,
        user=conn.login,
        password=conn.password,
        dbname=conn.schema or "postgres",
        connect_timeout=TIMEOUT_S,
    ) as pg:
        row = pg.execute("SELECT current_database(), current_user, current_setting('server_version')").fetchone()
    assert row is not None
    return f"database {row[0]} as {row[1]} (PostgreSQL {row[2]})"


def _check_mysql(conn: Connection) -> str:
    import pymysql

    with (
        pymysql.connect(
            host=conn.host,
            port=conn.port or 3306,
            user=conn.login,
            password=conn.password or "",
            database=conn.schema or None,
            connect_timeout=TIMEOUT_S,
        ) as my,
        my.cursor() as cursor,
    ):
        cursor.execute("SELECT VERSION()")
        row = cursor.fetchone()
    return f"MySQL/MariaDB {row[0] if row else '?'}"


def _check_http(conn: Connection) -> str:
    """GET the connection's ``health_path`` (extra, default ``/``) with its API key as a bearer token."""
    import httpx

    extra = conn.extra_dejson
    scheme = conn.schema or "http"
    base = f"{scheme}://{conn.host}" + (f":{conn.port}" if conn.port else "")
    path = extra.get("health_path", "/")
    headers = {"Authorization": f"Bearer {conn.password}"} if conn.password else {}
    response = httpx.get(base + path, headers=headers, timeout=TIMEOUT_S)
    if response.status_code in (401, 403):
        raise PermissionError(f"credentials rejected by {base}{path} (HTTP {response.status_code})")
    response.raise_for_status()
    return f"GET {path} -> HTTP {response.status_code}"


def _check_fs(conn: Connection) -> str:
    """The folder exists and the platform can write to it."""
    root = Path(conn.extra_dejson.get("path") or "")
    if not str(root) or not root.is_dir():
        raise FileNotFoundError(f"folder {root} does not exist")
    with tempfile.NamedTemporaryFile(dir=root, prefix=".health-", delete=True):
        pass
    files = sum(1 for _ in root.rglob("*") if _.is_file())
    return f"folder {root} writable, {files} files"


def _check_with_hook(conn: Connection) -> str:
    """Any other connection type: its hook's own ``test_connection``."""
    from airflow.sdk import BaseHook

    hook = BaseHook.get_hook(conn.conn_id)
    tester = getattr(hook, "test_connection", None)
    if tester is None:
        # Reported as a failed check: the platform cannot tell whether such a system is reachable.
        raise ConfigError(f"connection type {conn.conn_type!r} cannot be checked: its hook has no test_connection")
    ok, message = tester()
    if not ok:
        raise ConnectionError(message)
    return str(message)


CHECKERS: dict[str, Callable[[Connection], str]] = {
    "postgres": _check_postgres,
    "mysql": _check_mysql,
    "http": _check_http,
    "fs": _check_fs,
}


def check_connection(conn_id: str) -> CheckResult:
    """Check one Airflow connection; never raises for an unreachable or misconfigured system."""
    from airflow.sdk import BaseHook

    started = time.perf_counter()
    kind = "unknown"
    try:
        conn = BaseHook.get_connection(conn_id)
        kind = conn.conn_type or "unknown"
        detail = CHECKERS.get(kind, _check_with_hook)(conn)
        ok = True
    except Exception as err:
        ok, detail = False, f"{type(err).__name__}: {err}"
    latency = (time.perf_counter() - started) * 1000
    log.info("health check %s (%s): %s in %.0f ms", conn_id, kind, "ok" if ok else "FAILED", latency)
    return CheckResult(name=conn_id, kind=kind, ok=ok, latency_ms=round(latency, 1), detail=detail[:2000])


def record_results(url: str, run_id: str, results: Iterable[CheckResult]) -> int:
    """Store results in ``governance.health_check``; returns how many rows were written."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from scrollintel.db import make_engine
    from scrollintel.models import HealthCheck

    rows = [
        HealthCheck(
            run_id=run_id,
            check_name=r.name,
            kind=r.kind,
            ok=r.ok,
            latency_ms=r.latency_ms,
            detail=r.detail,
        )
        for r in results
    ]
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            # Re-running the task replaces its own rows instead of adding duplicates.
            session.execute(delete(HealthCheck).where(HealthCheck.run_id == run_id))
            session.add_all(rows)
    finally:
        engine.dispose()
    return len(rows)


def latest_results(url: str) -> list[dict[str, Any]]:
    """The most recent result of each check (for the UI and the CLI)."""
    from sqlalchemy import text

    from scrollintel.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT DISTINCT ON (check_name) check_name, kind, ok, latency_ms, detail, checked_at, run_id "
                    "FROM governance.health_check ORDER BY check_name, checked_at DESC"
                )
            ).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()
