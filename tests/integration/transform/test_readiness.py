"""The raw tables check before dbt: a fresh warehouse skips the run, naming what has not landed yet."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from scrollintel.demo.shop import libpq_url
from scrollintel.transform.project import RawSource
from scrollintel.transform.readiness import missing_raw_tables, require_raw_tables, skip_when_superseded
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

SOURCES = [RawSource("shop", "orders"), RawSource("shop", "customers"), RawSource("stores", "stores")]


def test_a_run_is_skipped_until_every_raw_table_has_landed(pg_server: Any) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    with runtime_database(pg_server, "ready") as database:
        everything = ["raw.shop__customers", "raw.shop__orders", "raw.stores__stores"]
        assert missing_raw_tables(database.url, SOURCES) == everything
        with psycopg.connect(libpq_url(database.url), autocommit=True) as runtime:
            runtime.execute("CREATE TABLE raw.shop__orders (order_id bigint)")
            runtime.execute("CREATE TABLE raw.stores__stores (store_id bigint)")
        with pytest.raises(AirflowSkipException) as skipped:
            require_raw_tables(database.url, SOURCES)
        assert str(skipped.value) == (
            "1 of 3 raw table(s) the dbt project reads have not been loaded yet: raw.shop__customers; "
            "the next load of their source starts this DAG again"
        )
        with psycopg.connect(libpq_url(database.url), autocommit=True) as runtime:
            runtime.execute("CREATE TABLE raw.shop__customers (customer_id bigint)")
        assert require_raw_tables(database.url, SOURCES) == 3


def test_a_run_with_a_later_run_queued_behind_it_is_skipped() -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    skip_when_superseded("transform_warehouse", 0)
    with pytest.raises(AirflowSkipException) as skipped:
        skip_when_superseded("transform_warehouse", 2)
    assert str(skipped.value) == (
        "2 later run(s) of transform_warehouse are queued and rebuild from the same raw tables; "
        "this one is skipped so the marts are built once"
    )
