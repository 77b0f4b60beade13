"""Least privilege around dbt: what the runtime role may do, and what a reader of the marts may not.

The `built` warehouse ran ``dbt build`` as a runtime role holding only what the migrations grant
(see migration 0006); these tests check the edges of those grants.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.integration.warehouse import Warehouse, failures

pytestmark = pytest.mark.integration


def test_runtime_role_builds_models_without_creating_schemas(built: Warehouse) -> None:
    with built.connect() as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        rights = conn.execute(
            "SELECT has_database_privilege(%(role)s, %(db)s, 'CREATE'), "
            "has_schema_privilege(%(role)s, 'staging', 'CREATE'), has_schema_privilege(%(role)s, 'marts', 'CREATE'), "
            "has_schema_privilege(%(role)s, 'masking', 'USAGE'), has_schema_privilege(%(role)s, 'masking', 'CREATE'), "
            "has_table_privilege(%(role)s, 'masking.salt', 'SELECT'), "
            "has_table_privilege(%(role)s, 'masking.salt', 'DELETE'), "
            "has_schema_privilege('public', 'masking', 'USAGE')",
            {"role": built.role, "db": database},
        ).fetchone()
        owners = dict(
            conn.execute(
                "SELECT schemaname, min(tableowner) FROM pg_tables WHERE schemaname = 'marts' GROUP BY 1 "
                "UNION ALL SELECT schemaname, min(viewowner) FROM pg_views WHERE schemaname = 'staging' GROUP BY 1"
            ).fetchall()
        )
    assert rights == (False, True, True, True, False, True, False, False)
    assert owners == {"marts": built.role, "staging": built.role}


@pytest.fixture
def mart_reader(built: Warehouse) -> Iterator[str]:
    """A reader role given the marts the way migration 0006 documents; removed after the test."""
    role = f"reader_{secrets.token_hex(4)}"
    with built.connect() as conn:
        conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA marts TO "{role}"')
        conn.execute(f'SET ROLE "{built.role}"')
        conn.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO "{role}"')
        conn.execute("RESET ROLE")
    yield role
    with built.connect() as conn:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'SET ROLE "{built.role}"')
        conn.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA marts REVOKE SELECT ON TABLES FROM "{role}"')
        conn.execute("RESET ROLE")
        conn.execute(f'DROP ROLE "{role}"')


def test_a_mart_reader_reads_the_marts_and_not_masking_staging_or_raw(built: Warehouse, mart_reader: str) -> None:
    result = built.dbt("run", "--select", "marts")  # dbt recreates the tables: the default privileges apply
    assert result.success, failures(result)
    with built.connect() as conn:
        conn.execute(f'SET ROLE "{mart_reader}"')
        assert conn.execute("SELECT count(*) FROM marts.customers").fetchone()[0] > 0
        denied = []
        for relation in ("masking.salt", "staging.stg_shop__customers", "raw.shop__customers"):
            try:
                conn.execute(f"SELECT count(*) FROM {relation}")
            except psycopg.errors.InsufficientPrivilege as err:
                denied.append((relation, str(err).split("\n")[0]))
    assert denied == [
        ("masking.salt", "permission denied for schema masking"),
        ("staging.stg_shop__customers", "permission denied for schema staging"),
        ("raw.shop__customers", "permission denied for schema raw"),
    ]
