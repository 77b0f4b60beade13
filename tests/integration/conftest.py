"""Fixtures shared by the integration test directories, each made once per session.

- ``dbt_warehouse`` / ``built``: the demo warehouse (raw tables loaded and classified) and the
  same database after ``dbt build``, for tests/integration/dbt, quality and transform. Each
  also keeps an untouched copy (``raw_template``, ``built_template``) that tests copy with
  ``CREATE DATABASE ... TEMPLATE`` when they change data or run dbt themselves, so the dbt
  tests' changes to ``built`` (restored by their fixtures) never reach another directory.
- ``airflow_metadata_template``: an Airflow metadata database (SQLite) after ``airflow db
  migrate``; tests that run a DAG in a child process copy the file instead of migrating again.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.warehouse import (
    Warehouse,
    create_copy,
    database_name,
    drop_database,
    failures,
    load_demo_raw_tables,
    runtime_database,
)


@pytest.fixture(scope="session")
def dbt_warehouse(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A warehouse database with demo raw tables, classified, and the governance schema migrated."""
    from scrollintel.demo.shop import libpq_url

    with runtime_database(pg_server, "dbt") as database:
        tmp = tmp_path_factory.mktemp("dbt")
        house = Warehouse(
            url=database.url,
            conninfo=libpq_url(database.admin_url),
            role=database.role,
            tmp=tmp,
            salt=secrets.token_hex(16),
        )
        load_demo_raw_tables(house)
        house.raw_template = create_copy(pg_server, database_name(house.url), "dbt_raw")
        try:
            yield house
        finally:
            drop_database(pg_server, house.raw_template)  # before runtime_database drops the role it grants to


@pytest.fixture(scope="session")
def built(pg_server: Any, dbt_warehouse: Warehouse) -> Iterator[Warehouse]:
    """The warehouse after a successful ``dbt build`` (models, unit tests, data tests), timed."""
    started = time.perf_counter()
    result = dbt_warehouse.dbt("build")
    dbt_warehouse.build_seconds = time.perf_counter() - started
    assert result.success, "dbt build failed:\n" + "\n".join(failures(result))
    dbt_warehouse.built_template = create_copy(pg_server, database_name(dbt_warehouse.url), "dbt_built")
    try:
        yield dbt_warehouse
    finally:
        drop_database(pg_server, dbt_warehouse.built_template)


@pytest.fixture(scope="session")
def airflow_metadata_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite Airflow metadata database after ``airflow db migrate``: tests copy the file, never open it."""
    tmp = tmp_path_factory.mktemp("airflow-metadata")
    database = tmp / "airflow.db"
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "SCROLLINTEL_"))},
        "AIRFLOW_HOME": str(tmp / "home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{database}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"airflow db migrate failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
    return database
