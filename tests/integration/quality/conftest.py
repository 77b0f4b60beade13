"""A dbt-built warehouse for the quality gates, copied per test so injected faults never leak.

The demo raw tables and ``dbt build`` come from the dbt tests' own fixtures (imported here, so
this directory builds its own copy once per session and never touches theirs). Each test gets
``CREATE DATABASE ... TEMPLATE`` of it (a file copy: well under a second at this scale, dropped after the test) and
runs the gates as the runtime role, with the platform's state and object store in its own
temporary folder.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel import db
from tests.integration.dbt.conftest import (  # noqa: F401 - fixtures, found by pytest through this module
    Warehouse,
    built,
    warehouse,
)

AS_OF = "2026-01-01T00:00:00Z"
MARTS = (
    "marts.customers",
    "marts.orders",
    "marts.order_items",
    "marts.daily_revenue",
    "marts.marketing_attribution",
    "marts.ml_churn_features",
)
RAW = ("raw.shop__customers", "raw.shop__orders", "raw.shop__order_items", "raw.marketing__events")
#: Settings that would otherwise leak in from the machine running the tests.
_ENV = ("SCROLLINTEL_AS_OF", "SCROLLINTEL_AUDIT_DATABASE_URL", "AIRFLOW_CTX_DAG_ID", "AIRFLOW_CONN_POSTGRES_WAREHOUSE")


@dataclass(frozen=True, repr=False)
class GateWarehouse:
    """A private copy of the built warehouse: the runtime role's URL and a superuser connection."""

    url: str
    conninfo: str
    state: Path

    def __repr__(self) -> str:
        return f"GateWarehouse(state={self.state})"

    def execute(self, statement: str) -> int:
        """Run ``statement`` as the superuser (injecting a fault); returns the rows it touched."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(statement).rowcount

    def scalar(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of ``query``."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None


@contextmanager
def _database_copy(pg_server: Any, source: str) -> Iterator[str]:
    """``CREATE DATABASE <new> TEMPLATE <source>``, dropped on exit (before the runtime role it grants to)."""
    name = f"q_{secrets.token_hex(4)}"
    admin = db.libpq_url(pg_server.url("postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        # a template must have no other sessions (dbt's pool may linger briefly)
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,))
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def gate_warehouse(
    pg_server: Any,
    built: Warehouse,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GateWarehouse]:
    """A fresh copy of the dbt-built warehouse, with state and object store in ``tmp_path``."""
    from sqlalchemy.engine import make_url

    source = make_url(built.url).database
    assert source
    for key in _ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp_path / "objects"))
    with _database_copy(pg_server, source) as name:
        runtime = make_url(built.url).set(database=name).render_as_string(hide_password=False)
        admin = db.libpq_url(pg_server.url(name))
        yield GateWarehouse(url=runtime, conninfo=admin, state=tmp_path / "state")
