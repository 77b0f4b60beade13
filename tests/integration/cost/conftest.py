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


@pytest.fixture(scope="session")
def cost_template(pg_server: Any) -> str:
    """Name of a migrated, empty warehouse database used as a template."""
    url = pg_server.create_database(f"cost_tpl_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    storage.dispose_engines()
    return str(url.rsplit("/", 1)[1])


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
