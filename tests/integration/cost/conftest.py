"""Fixtures for the cost capability against a real PostgreSQL: one migrated warehouse template, copies per module."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scrollintel import db, migrate
from scrollintel.audit import settings, storage

#: A fixed Ed25519 test signing key (base64 of 32 raw bytes); never used outside tests.
TEST_SIGNING_KEY = "ZmFrZS10ZXN0LWtleS1mb3Itc2Nyb2xsaW50ZWwtMDE="
_ENV = (
    "SCROLLINTEL_AUDIT_DATABASE_URL",
    "SCROLLINTEL_AUDIT_TRUSTED_KEYS",
    "SCROLLINTEL_AUDIT_ANCHOR_BUCKET",
    "SCROLLINTEL_AUDIT_SLACK_CHANNEL",
    "AIRFLOW_CTX_DAG_ID",
    "AIRFLOW_CONN_POSTGRES_WAREHOUSE",
    "AIRFLOW_CONN_AUDIT_SIGNING",
    "AIRFLOW_CONN_SLACK_API_DEFAULT",
    "AIRFLOW_CONN_AWS_DEFAULT",
    "SCROLLINTEL_OBJECT_STORE",
)

#: Databases made here (the runtime role's grants live in them), dropped before the role.
_DATABASES: list[str] = []


@pytest.fixture(scope="session")
def runtime_role(pg_server: Any) -> Iterator[tuple[str, str]]:
    """A login role the migrations grant the runtime privileges to (what the DAG's tasks connect as)."""
    import psycopg

    role, password = f"cost_rt_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    admin = pg_server.url("postgres").replace(db.DRIVER, "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
    yield role, password
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in _DATABASES:  # the role holds grants there: they go first
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="session")
def cost_template(pg_server: Any, runtime_role: tuple[str, str]) -> str:
    """Name of a migrated, empty warehouse database (runtime grants included) used as a template."""
    url = pg_server.create_database(f"cost_tpl_{secrets.token_hex(3)}")
    _DATABASES.append(str(url.rsplit("/", 1)[1]))
    migrate.upgrade(url, runtime_role=runtime_role[0])
    storage.dispose_engines()
    return str(url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def as_runtime(runtime_role: tuple[str, str]) -> Callable[[str], str]:
    """The runtime role's URL of a database given by its superuser URL."""
    from sqlalchemy.engine import make_url

    role, password = runtime_role

    def convert(url: str) -> str:
        return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)

    return convert


@pytest.fixture(scope="session")
def new_cost_db(pg_server: Any, cost_template: str) -> Callable[[], str]:
    """A factory of fresh migrated warehouse databases (superuser URLs)."""
    import psycopg

    def make() -> str:
        name = f"cost_{secrets.token_hex(4)}"
        admin = pg_server.url("postgres").replace(db.DRIVER, "postgresql")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{cost_template}"')
        pg_server.created.append(name)
        _DATABASES.append(name)
        return str(pg_server.url(name))

    return make


@pytest.fixture(scope="module")
def ledger_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An isolated state folder and the test signing key, for the module (ledger entries of alerts)."""
    home = tmp_path_factory.mktemp("cost-home")
    with pytest.MonkeyPatch.context() as patch:
        for name in _ENV:
            patch.delenv(name, raising=False)
        patch.setenv("SCROLLINTEL_HOME", str(home))
        patch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
        settings.configure(database_url=None)
        yield home
        settings.configure(database_url=None)
        storage.dispose_engines()
