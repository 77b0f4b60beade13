"""Shared test fixtures: a real PostgreSQL for every test session.

When ``SCROLLINTEL_TEST_DATABASE_URL`` is set (a superuser URL), tests create their databases
there; otherwise a throwaway embedded server is started under a temporary folder and removed
at the end of the session.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from fastapi import FastAPI
    from starlette.applications import Starlette

# Airflow reads its configuration when first imported: give the test session its own home so
# nothing is written to ~/airflow, and no example DAGs or stray plugins are loaded.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="scrollintel-test-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# cosmos reads its settings when imported; tests never report usage anywhere.
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")

from scrollintel import db  # noqa: E402

ENV_TEST_URL = "SCROLLINTEL_TEST_DATABASE_URL"


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    admin_url: str
    created: list[str] = field(default_factory=list)

    def url(self, dbname: str) -> str:
        return db.with_database(self.admin_url, dbname)

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = name or f"t_{secrets.token_hex(4)}"
        with psycopg.connect(self.url("postgres").replace(db.DRIVER, "postgresql"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url(name)

    def drop_created(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres").replace(db.DRIVER, "postgresql"), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server: the one in SCROLLINTEL_TEST_DATABASE_URL or a throwaway embedded one."""
    given = os.environ.get(ENV_TEST_URL)
    if given:
        server = PgServer(admin_url=db.normalise_url(given))
        yield server
        server.drop_created()
        return
    from scrollintel.platform.postgres import ADMIN_ROLE, EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix="scrollintel-testpg-"))
    embedded = EmbeddedPostgres(root / "postgres")
    port = embedded.start()
    password = embedded.read_state()["passwords"][ADMIN_ROLE]  # type: ignore[index]
    try:
        yield PgServer(admin_url=f"{db.DRIVER}://{ADMIN_ROLE}:{password}@127.0.0.1:{port}/postgres")
    finally:
        embedded.destroy()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dbt manifest, built once as `make run` builds it (``scrollintel transform manifest``, its own process).

    Returns ``<state dir>/manifest.json``; tests that need a state dir of their own copy the folder.
    """
    import subprocess
    import sys

    state = tmp_path_factory.mktemp("dbt-state")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "scrollintel"), "transform", "manifest", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"building the dbt manifest failed:\n{result.stdout}\n{result.stderr}"
    return state / "manifest.json"


GROUPS = ("unit", "integration", "e2e")


#: Test packages that start a whole platform, each one xdist work unit, queued first (the Celery
#: platform's package then runs beside the main one, on the other worker).
PLATFORM_PACKAGES = ("tests/e2e/", "tests/e2e_celery/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one group (`pytest -m unit|integration|e2e`); the platform tests come first."""
    ungrouped = [item.nodeid for item in items if not any(item.get_closest_marker(g) for g in GROUPS)]
    if ungrouped:
        raise pytest.UsageError(
            "tests without a group marker (add `pytestmark = pytest.mark.unit|integration|e2e`): "
            + ", ".join(ungrouped[:10])
        )
    items.sort(key=lambda item: not item.nodeid.startswith(PLATFORM_PACKAGES))  # stable: the rest keep their order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs two pytest-xdist workers (scripts/test.sh); a work unit is a test module, so its
    module-scoped set-ups are made once, and each platform package is one unit (its platform is
    started once), queued first: a worker spends that time with a platform (mostly waiting on its
    scheduler and tasks) while the other takes the next unit. (xdist's own ``loadgroup`` cannot say
    this on pytest 9: it renames node ids through an attribute pytest no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class PlatformFirstScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            package = next((name for name in PLATFORM_PACKAGES if nodeid.startswith(name)), None)
            return package or nodeid.split("::", 1)[0]

    return PlatformFirstScheduling(config, log)


#: Per work unit (module or platform package): worker, first start and last end (monotonic seconds
#: on the controller), summed test time. Filled from the reports the workers send back.
_UNITS: dict[str, list[Any]] = {}


def _unit(nodeid: str) -> str:
    return next((name for name in PLATFORM_PACKAGES if nodeid.startswith(name)), nodeid.split("::", 1)[0])


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record when each work unit ran, on which worker (the test-time summary at the end)."""
    import time

    node = getattr(report, "node", None)  # set by xdist on the controller; absent in one process
    worker = node.gateway.id if node is not None else "main"
    now = time.monotonic()
    unit = _UNITS.setdefault(_unit(report.nodeid), [worker, now - report.duration, now, 0.0])
    unit[1], unit[2], unit[3] = min(unit[1], now - report.duration), max(unit[2], now), unit[3] + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Where the wall time went: busy time per worker and the longest work units with their worker."""
    if not _UNITS:
        return
    start = min(unit[1] for unit in _UNITS.values())
    busy: dict[str, float] = {}
    for worker, _first, _last, spent in _UNITS.values():
        busy[worker] = busy.get(worker, 0.0) + spent
    terminalreporter.section("test time by work unit")
    terminalreporter.write_line(
        "busy per worker: " + ", ".join(f"{worker} {seconds:.0f} s" for worker, seconds in sorted(busy.items()))
    )
    if path := os.environ.get("SCROLLINTEL_TEST_TIMES"):  # every unit, for a closer look (e.g. against CPU use)
        rows = [
            {"unit": name, "worker": worker, "start": first - start, "end": last - start, "seconds": spent}
            for name, (worker, first, last, spent) in _UNITS.items()
        ]
        Path(path).write_text(json.dumps(sorted(rows, key=lambda row: row["start"]), indent=1), encoding="utf-8")
    longest = sorted(_UNITS.items(), key=lambda item: item[1][3], reverse=True)[:15]
    for name, (worker, first, last, spent) in longest:
        terminalreporter.write_line(
            f"{spent:7.0f} s  {worker:>4}  {first - start:6.0f} .. {last - start:6.0f} s  {name}"
        )


# -- Airflow's own auth for the plugin and the governance web app (tests/plugins, tests/unit/web,
# tests/integration/web, tests/integration/lineage), no running services.
#
# Tokens are made and checked by Airflow itself: the SimpleAuthManager (the FAB auth manager the
# platform runs needs FAB's user tables; both sign and verify with the same ``JWTGenerator`` /
# ``JWTValidator`` and ``[api_auth] jwt_secret``). Verifying a token also asks the metadata
# database whether it was revoked, so each test module using them points Airflow's ORM at a
# throwaway SQLite file holding just the ``revoked_token`` table, and puts the previous
# configuration back afterwards (module scope, so tests elsewhere in the session never see it).

REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGINS_DIR = REPO_ROOT / "plugins"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
TEST_USER = "gov-viewer"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Configure Airflow for the test module: SimpleAuthManager, a known JWT secret, a tiny SQLite metadata DB."""
    from airflow import settings

    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        "AIRFLOW_HOME": str(home),  # for Airflow subprocesses; this process has read it already
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{TEST_USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    saved = {
        name: getattr(settings, name)
        for name in ("SQL_ALCHEMY_CONN", "SQL_ALCHEMY_CONN_ASYNC", "DAGS_FOLDER", "PLUGINS_FOLDER")
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("AIRFLOW__API__BASE_URL", raising=False)
        settings.configure_vars()
        settings.reconfigure_orm()
        from airflow.models import import_all_models
        from airflow.models.base import Base

        import_all_models()
        Base.metadata.create_all(settings.engine)  # the tables the api-server reads (tokens, HITL requests)
        try:
            yield env
        finally:
            settings.dispose_orm()
    for name, value in saved.items():
        setattr(settings, name, value)
    settings.configure_orm()


def _reset_auth_manager() -> None:
    from airflow.api_fastapi.app import purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    purge_cached_app()
    # The token signer and validator (secret, audience) are cached per auth manager class.
    SimpleAuthManager._get_token_signer.cache_clear()  # type: ignore[attr-defined]
    SimpleAuthManager._get_token_validator.cache_clear()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def auth_manager(airflow_env: dict[str, str]) -> Iterator[BaseAuthManager]:
    """The auth manager Airflow's ``get_user`` consults, created the way the api-server creates it."""
    from airflow.api_fastapi.app import create_auth_manager

    _reset_auth_manager()
    yield create_auth_manager()
    _reset_auth_manager()


@pytest.fixture(scope="module")
def make_token(auth_manager: BaseAuthManager) -> Callable[..., str]:
    """Return a factory of JWTs signed by the auth manager, as Airflow's login does."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def _make(username: str = TEST_USER, role: str | None = "viewer", expires_in: int = 300) -> str:
        user = SimpleAuthManagerUser(username=username, role=role)
        return auth_manager.generate_jwt(user, expiration_time_in_seconds=expires_in)  # type: ignore[arg-type]

    return _make


@pytest.fixture(scope="module")
def web_app(auth_manager: BaseAuthManager) -> FastAPI:
    """The governance app as the plugin registers it."""
    from scrollintel.web import create_app

    return create_app()


@pytest.fixture(scope="module")
def mounted_app(web_app: FastAPI) -> Starlette:
    """The governance app mounted at its url prefix, as the api-server mounts plugin apps."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from scrollintel.web import URL_PREFIX

    return Starlette(routes=[Mount(URL_PREFIX, app=web_app)])


@pytest.fixture
def client_factory(mounted_app: Starlette) -> Iterator[Callable[..., Any]]:
    """Return a factory of test clients, optionally carrying a bearer header or the ``_token`` cookie."""
    from fastapi.testclient import TestClient

    clients: list[TestClient] = []

    def _make(*, bearer: str | None = None, cookie: str | None = None) -> TestClient:
        client = TestClient(mounted_app)
        if bearer is not None:
            client.headers["Authorization"] = f"Bearer {bearer}"
        if cookie is not None:
            client.cookies.set("_token", cookie)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.close()
