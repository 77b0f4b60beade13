"""Shared test fixtures: a real PostgreSQL for every test session.

When ``SCROLLINTEL_TEST_DATABASE_URL`` is set (a superuser URL), tests create their databases
there; otherwise a throwaway embedded server is started under a temporary folder and removed
at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one group (`pytest -m unit|integration|e2e`)."""
    ungrouped = [item.nodeid for item in items if not any(item.get_closest_marker(g) for g in GROUPS)]
    if ungrouped:
        raise pytest.UsageError(
            "tests without a group marker (add `pytestmark = pytest.mark.unit|integration|e2e`): "
            + ", ".join(ungrouped[:10])
        )
