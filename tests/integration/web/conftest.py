"""Fixtures for the governance web app against a real PostgreSQL: Airflow's auth plus migrated ledgers.

The auth fixtures (SimpleAuthManager tokens, the app as the plugin mounts it) come from
tests/conftest.py, so the web tests with and without a database authenticate the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scrollintel import migrate
from scrollintel.audit import settings, storage

#: A fixed Ed25519 test signing key (base64 of 32 raw bytes); never used outside tests.
TEST_SIGNING_KEY = "ZmFrZS10ZXN0LWtleS1mb3Itc2Nyb2xsaW50ZWwtMDE="
#: Settings of the ledger that would otherwise leak in from the machine running the tests.
_LEDGER_ENV = (
    "SCROLLINTEL_AUDIT_DATABASE_URL",
    "SCROLLINTEL_AUDIT_TRUSTED_KEYS",
    "SCROLLINTEL_AUDIT_ANCHOR_BUCKET",
    "SCROLLINTEL_AUDIT_SLACK_CHANNEL",
    "AIRFLOW_CTX_DAG_ID",
    "AIRFLOW_CONN_POSTGRES_WAREHOUSE",
    "AIRFLOW_CONN_AUDIT_SIGNING",
    "SCROLLINTEL_OBJECT_STORE",
)


@pytest.fixture(scope="module")
def migrated_ledger_template(pg_server: Any) -> str:
    """Name of a migrated, empty warehouse database used as a template (copies are fast)."""
    url = pg_server.create_database(f"web_audit_tpl_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    storage.dispose_engines()
    return str(url.rsplit("/", 1)[1])


@pytest.fixture
def new_ledger_url(pg_server: Any, migrated_ledger_template: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh migrated warehouse databases (superuser URLs)."""
    import psycopg

    from scrollintel import db

    def make() -> str:
        name = f"web_audit_{secrets.token_hex(4)}"
        admin = pg_server.url("postgres").replace(db.DRIVER, "postgresql")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_ledger_template}"')
        pg_server.created.append(name)
        return str(pg_server.url(name))

    yield make
    storage.dispose_engines()


@pytest.fixture
def ledger_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated state folder (outbox, anchors) and the test signing key."""
    for name in _LEDGER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
    settings.configure(database_url=None)
    yield tmp_path
    settings.configure(database_url=None)
