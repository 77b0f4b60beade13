"""Fixtures for the lineage store against a real PostgreSQL: migrated databases with the runtime role's grants.

Each test gets a fresh copy of a migrated template database and connects as a login role that has
exactly the rights the migrations grant the platform's runtime role (so a missing grant fails a
test). The web fixtures (Airflow's SimpleAuthManager tokens, the app as the plugin mounts it) come
from tests/conftest.py.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from scrollintel import db, migrate
from scrollintel.lineage import openlineage_events as lineage_events
from scrollintel.lineage import store as lineage_store
from scrollintel.web import URL_PREFIX
from tests.integration.lineage.pipeline import CLASSIFICATION


@dataclass(frozen=True)
class LineageDb:
    """A migrated warehouse database: the superuser's URL (set-up, assertions) and the runtime role's."""

    admin_url: str
    url: str

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A superuser connection (libpq URL)."""
        return psycopg.connect(db.libpq_url(self.admin_url), **kwargs)

    def store(self) -> lineage_store.LineageStore:
        """The store, as the runtime role."""
        return lineage_store.LineageStore(self.url)

    def ingest(self, raw_events: list[dict[str, Any]], writer: str = "test") -> list[lineage_store.Stored]:
        """Validate and store events as the API does."""
        return self.store().ingest([lineage_events.validate_event(item) for item in raw_events], writer)

    def classify(self, rows: tuple[tuple[Any, ...], ...] = CLASSIFICATION) -> None:
        """Rows of ``governance.column_classification``, as ingestion stores them."""
        with self.connect() as conn:
            conn.cursor().executemany(
                "INSERT INTO governance.column_classification (source, resource, column_name, class_id, sensitivity, "
                "masking, method, sampled, run_id) VALUES (%s, %s, %s, %s, %s, %s, 'name', 0, 'test')",
                rows,
            )


@pytest.fixture(scope="session")
def runtime_role(pg_server: Any) -> Iterator[tuple[str, str]]:
    """A login role standing in for the platform's runtime role (name, password)."""
    role, password = f"lineage_rt_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    admin = db.libpq_url(pg_server.url("postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
    yield role, password
    lineage_store.dispose_engines()
    pg_server.drop_created()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="session")
def lineage_template(pg_server: Any, runtime_role: tuple[str, str]) -> str:
    """A migrated database (grants for the runtime role) used as a template: copies are fast."""
    url = pg_server.create_database(f"lineage_tpl_{secrets.token_hex(3)}")
    migrate.upgrade(url, runtime_role=runtime_role[0])
    return str(url.rsplit("/", 1)[1])


def copy_template(pg_server: Any, template: str, role: tuple[str, str]) -> LineageDb:
    """A fresh database copied from the migrated template, with the runtime role's URL."""
    from sqlalchemy.engine import make_url

    name = f"lineage_{secrets.token_hex(4)}"
    with psycopg.connect(db.libpq_url(pg_server.url("postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    pg_server.created.append(name)
    admin_url = pg_server.url(name)
    url = make_url(admin_url).set(username=role[0], password=role[1]).render_as_string(hide_password=False)
    return LineageDb(admin_url=admin_url, url=url)


@pytest.fixture
def new_lineage_db(
    pg_server: Any, lineage_template: str, runtime_role: tuple[str, str]
) -> Iterator[Callable[[], LineageDb]]:
    """A factory of fresh migrated databases."""
    yield lambda: copy_template(pg_server, lineage_template, runtime_role)
    lineage_store.dispose_engines()


@pytest.fixture
def lineage_db(new_lineage_db: Callable[[], LineageDb]) -> LineageDb:
    """One fresh migrated database."""
    return new_lineage_db()


@pytest.fixture
def api(web_app: Any, lineage_db: LineageDb) -> Iterator[LineageDb]:
    """The governance app's lineage API pointed at ``lineage_db``."""
    from scrollintel.web.deps import lineage_store_url

    web_app.dependency_overrides[lineage_store_url] = lambda: lineage_db.url
    yield lineage_db
    web_app.dependency_overrides.pop(lineage_store_url, None)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The lineage API key, as the Airflow connection ``scrollintel_lineage`` (environment backend)."""
    import json

    from scrollintel.lineage import apikey

    key = secrets.token_urlsafe(32)
    monkeypatch.setenv("AIRFLOW_CONN_SCROLLINTEL_LINEAGE", json.dumps({"conn_type": "generic", "password": key}))
    apikey.clear_cache()
    yield key
    apikey.clear_cache()


@pytest.fixture
def writer(client_factory: Callable[..., Any], make_token: Callable[..., str], api: LineageDb) -> Any:
    """A client of an Airflow user who may trigger DAG runs (role ``user``): may post lineage."""
    return client_factory(bearer=make_token(username="dp-engineer", role="user"))


@pytest.fixture
def reader(client_factory: Callable[..., Any], make_token: Callable[..., str], api: LineageDb) -> Any:
    """A client of a viewer: may read lineage, not post it."""
    return client_factory(cookie=make_token(username="co-auditor", role="viewer"))


@pytest.fixture
def served(mounted_app: Any, api: LineageDb) -> Iterator[str]:
    """The mounted governance app in a real uvicorn server on a free loopback port (in a thread).

    Yields the app's base URL (``http://127.0.0.1:<port>/scrollintel``), for clients that need a
    real socket: connection reuse, raw bodies, the Marquez client.
    """
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(mounted_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}{URL_PREFIX}"
    instance.should_exit = True
    thread.join(timeout=30)
