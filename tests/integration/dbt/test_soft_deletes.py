"""Rows soft delete detection marked gone (``_deleted_at``) reach neither staging nor the marts.

The demo raw tables (before dbt ran) get ``_deleted_at`` the way ingestion adds it
(:func:`scrollintel.ingest.deletes.ensure_deleted_at`), one order and one customer are marked,
and dbt builds the marts from them: the marked rows are in no staging view and no mart, and
the revenue marts agree without them. Raw tables without the column (no detection yet) lose
nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from scrollintel.ingest.deletes import ensure_deleted_at
from tests.integration.warehouse import Warehouse, database_copy, failures, with_database

pytestmark = pytest.mark.integration


def test_a_soft_deleted_order_and_customer_reach_no_mart(
    pg_server: Any, dbt_warehouse: Warehouse, tmp_path: Path
) -> None:
    assert dbt_warehouse.raw_template
    with database_copy(pg_server, dbt_warehouse.raw_template, "softdel") as name:
        house = dataclasses.replace(
            dbt_warehouse,
            url=with_database(dbt_warehouse.url, name),
            conninfo=with_database(dbt_warehouse.conninfo, name),
            tmp=tmp_path,
        )
        with house.connect() as conn:
            for table in ("shop__orders", "shop__customers"):
                ensure_deleted_at(conn, ("raw", table))
            # an order that counts as revenue, and a customer with no order left in the shop
            (order_id,) = conn.execute(
                "SELECT order_id FROM raw.shop__orders WHERE status NOT IN ('cancelled', 'returned') "
                "ORDER BY order_id LIMIT 1"
            ).fetchone()
            (customer_id,) = conn.execute(
                "SELECT customer_id FROM raw.shop__customers c WHERE NOT EXISTS "
                "(SELECT 1 FROM raw.shop__orders o WHERE o.customer_id = c.customer_id) ORDER BY customer_id LIMIT 1"
            ).fetchone()
            conn.execute("UPDATE raw.shop__orders SET _deleted_at = now() WHERE order_id = %s", (order_id,))
            conn.execute("UPDATE raw.shop__customers SET _deleted_at = now() WHERE customer_id = %s", (customer_id,))
            raw_orders, raw_customers, raw_products = conn.execute(
                "SELECT (SELECT count(*) FROM raw.shop__orders), (SELECT count(*) FROM raw.shop__customers), "
                "(SELECT count(*) FROM raw.shop__products)"
            ).fetchone()

        result = house.dbt("run", "--select", "+customers", "+orders", "+daily_revenue")
        assert result.success, failures(result)

        with house.connect() as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM staging.stg_shop__orders), (SELECT count(*) FROM marts.orders), "
                "(SELECT count(*) FROM staging.stg_shop__customers), (SELECT count(*) FROM marts.customers), "
                "(SELECT count(*) FROM staging.stg_shop__products)"
            ).fetchone()
            assert counts == (raw_orders - 1, raw_orders - 1, raw_customers - 1, raw_customers - 1, raw_products)
            assert not conn.execute("SELECT 1 FROM marts.orders WHERE order_id = %s", (order_id,)).fetchone()
            assert not conn.execute("SELECT 1 FROM marts.customers WHERE customer_id = %s", (customer_id,)).fetchone()
            revenue_by_orders, revenue_by_day, lifetime_value = conn.execute(
                "SELECT (SELECT sum(total_amount) FROM marts.orders WHERE is_revenue), "
                "(SELECT sum(revenue) FROM marts.daily_revenue), (SELECT sum(lifetime_value) FROM marts.customers)"
            ).fetchone()
            assert revenue_by_orders == revenue_by_day == lifetime_value
