"""Fixtures for ingestion against a real PostgreSQL: a seeded demo shop and migrated warehouses."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scrollintel import migrate
from scrollintel.demo.shop import seed_shop
from tests.integration.ingest.helpers import STRATEGIES, connect

#: Small enough for seconds, big enough for chunks: 400 customers, 2,400 orders, ~6k items.
SHOP_SCALE = 0.02


@pytest.fixture(scope="session")
def shop_url(pg_server: Any) -> str:
    """The demo shop database (read-only for tests: they copy tables they want to change)."""
    url = pg_server.create_database(f"ingest_shop_{secrets.token_hex(3)}")
    seed_shop(url, scale=SHOP_SCALE)
    return str(url)


@pytest.fixture(scope="session")
def warehouse_template(pg_server: Any) -> str:
    """A migrated, empty warehouse used as a template (CREATE DATABASE ... TEMPLATE is fast)."""
    url = pg_server.create_database(f"ingest_wh_tpl_{secrets.token_hex(3)}")
    migrate.upgrade(url)
    return url.rsplit("/", 1)[1]


@pytest.fixture
def new_warehouse(pg_server: Any, warehouse_template: str) -> Any:
    """A factory of fresh migrated warehouse databases (superuser URLs)."""

    def make() -> str:
        name = f"ingest_wh_{secrets.token_hex(4)}"
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{warehouse_template}"')  # type: ignore[arg-type]
        pg_server.created.append(name)
        return str(pg_server.url(name))

    return make


@pytest.fixture
def warehouse(new_warehouse: Any) -> str:
    """One fresh migrated warehouse."""
    return str(new_warehouse())


@pytest.fixture
def source_db(pg_server: Any) -> str:
    """An empty source database for tables a test builds itself."""
    return str(pg_server.create_database(f"ingest_src_{secrets.token_hex(4)}"))


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Audit outbox, object store (quality results) and local state in a temporary folder."""
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp_path / "object-store"))
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    for name in ("SCROLLINTEL_AUDIT_DATABASE_URL", "AIRFLOW_CTX_DAG_ID", "AIRFLOW_CONN_POSTGRES_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path


@pytest.fixture(params=list(STRATEGIES))
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each way the loader applies a staged batch: same rows and counts expected."""
    from scrollintel.ingest import loader

    for name, value in STRATEGIES[request.param].items():
        monkeypatch.setattr(loader, name, value)
    return str(request.param)
