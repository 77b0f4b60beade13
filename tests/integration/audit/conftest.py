"""Fixtures for the audit ledger against a real PostgreSQL: migrated databases, an isolated state folder."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel import db, migrate
from scrollintel.audit import settings, storage

#: A fixed test signing key (never used outside tests).
TEST_KEY = base64.b64encode(bytes(range(32))).decode()
_AUDIT_ENV = (
    "SCROLLINTEL_AUDIT_DATABASE_URL",
    "SCROLLINTEL_AUDIT_TRUSTED_KEYS",
    "SCROLLINTEL_AUDIT_ANCHOR_BUCKET",
    "SCROLLINTEL_AUDIT_SLACK_CHANNEL",
    "SCROLLINTEL_AUDIT_SLACK_TOKEN",
    "SCROLLINTEL_API_URL",
    "SCROLLINTEL_AIRFLOW_API_USER",
    "SCROLLINTEL_AIRFLOW_API_PASSWORD",
    "AIRFLOW_CTX_DAG_ID",
    "AIRFLOW_CONN_POSTGRES_WAREHOUSE",
    "AIRFLOW_CONN_AUDIT_SIGNING",
    "AIRFLOW_CONN_AIRFLOW_API",
    "SCROLLINTEL_OBJECT_STORE",
)


def plain(url: str) -> str:
    """A libpq URL for psycopg from a SQLAlchemy one."""
    return url.replace(db.DRIVER, "postgresql")


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(plain(url), **kwargs)


@pytest.fixture(scope="session")
def migrated_template(pg_server: Any) -> str:
    """A migrated, empty ledger database used as a template (CREATE DATABASE ... TEMPLATE is fast)."""
    url = pg_server.create_database(f"audit_tpl_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    storage.dispose_engines()
    return url.rsplit("/", 1)[1]


@pytest.fixture
def new_ledger(pg_server: Any, migrated_template: str) -> Iterator[Any]:
    """A factory of fresh migrated ledger databases (superuser URLs)."""

    def make() -> str:
        name = f"audit_{secrets.token_hex(4)}"
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
        pg_server.created.append(name)
        return pg_server.url(name)

    yield make
    storage.dispose_engines()


@pytest.fixture
def ledger_url(new_ledger: Any) -> str:
    """One fresh migrated ledger database."""
    return str(new_ledger())


@pytest.fixture
def audit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated state folder (outbox, anchors, keys) and the test signing key."""
    for name in _AUDIT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_KEY)
    settings.configure(database_url=None)
    yield tmp_path
    settings.configure(database_url=None)


def bypass_triggers(conn: psycopg.Connection) -> None:
    """What a superuser can do: switch off the append-only triggers for this session."""
    conn.execute("SET session_replication_role = replica")
