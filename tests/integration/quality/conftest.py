"""A dbt-built warehouse for the quality gates, copied per test so injected faults never leak.

The demo raw tables and ``dbt build`` are the session's (``built`` in tests/integration/conftest.py,
shared with the dbt tests). Each test gets ``CREATE DATABASE ... TEMPLATE`` of the copy taken
right after the build, before any dbt test changed the warehouse (a file copy: well under a
second at this scale, dropped after the test), and runs the gates as the runtime role, with the
platform's state and object store in its own temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel import db
from tests.integration.warehouse import Warehouse, database_copy, with_database
from tests.marts import MART_DATASETS

AS_OF = "2026-01-01T00:00:00Z"
MARTS = MART_DATASETS
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


@pytest.fixture
def gate_warehouse(
    pg_server: Any,
    built: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GateWarehouse]:
    """A fresh copy of the dbt-built warehouse, with state and object store in ``tmp_path``."""
    assert built.built_template
    for key in _ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp_path / "objects"))
    with database_copy(pg_server, built.built_template, "q") as name:
        runtime = with_database(built.url, name)
        admin = db.libpq_url(pg_server.url(name))
        yield GateWarehouse(url=runtime, conninfo=admin, state=tmp_path / "state")
