"""Migration 0006: the schemas dbt builds into and the masking salt table, and their downgrade."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from scrollintel import migrate
from scrollintel.demo.shop import libpq_url
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

SCHEMAS = ("marts", "masking", "staging")


def _downgrade(url: str, role: str, revision: str) -> None:
    from alembic import command

    command.downgrade(migrate.alembic_config(url, role), revision)  # type: ignore[arg-type]


def _schemas(url: str) -> list[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY 1", (list(SCHEMAS),)
            )
        ]


def test_upgrade_creates_the_schemas_and_downgrade_removes_them(pg_server: Any) -> None:
    with runtime_database(pg_server, "mig") as database:
        assert _schemas(database.admin_url) == list(SCHEMAS)
        with psycopg.connect(libpq_url(database.url), autocommit=True) as runtime:
            runtime.execute("INSERT INTO masking.salt (id, value) VALUES (1, 'a-salt-of-16-chars')")
            with pytest.raises(psycopg.errors.CheckViolation):
                runtime.execute("INSERT INTO masking.salt (id, value) VALUES (2, 'a second salt row')")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for schema masking"):
                runtime.execute("CREATE TABLE masking.copy (value text)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                runtime.execute("CREATE SCHEMA elsewhere")
        _downgrade(database.admin_url, database.role, "0005")
        assert _schemas(database.admin_url) == []
        migrate.upgrade(database.admin_url, runtime_role=database.role)
        assert _schemas(database.admin_url) == list(SCHEMAS)


def test_downgrade_refuses_while_dbt_models_exist(pg_server: Any) -> None:
    with runtime_database(pg_server, "mig") as database:
        with psycopg.connect(libpq_url(database.url), autocommit=True) as runtime:
            runtime.execute("CREATE VIEW marts.built_by_dbt AS SELECT 1 AS one")
        with pytest.raises(Exception, match="cannot drop schema marts because other objects depend on it"):
            _downgrade(database.admin_url, database.role, "0005")
        assert _schemas(database.admin_url) == list(SCHEMAS)
