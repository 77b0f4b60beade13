"""``dbt build`` of the whole project against a real PostgreSQL warehouse with the seeded demo data."""

from __future__ import annotations

import pytest

from tests.integration.warehouse import Warehouse
from tests.marts import MARTS

pytestmark = pytest.mark.integration

STAGING = (
    "stg_shop__customers",
    "stg_shop__products",
    "stg_shop__orders",
    "stg_shop__order_items",
    "stg_shop__payments",
    "stg_shop__subscriptions",
    "stg_shop__subscription_events",
    "stg_marketing__events",
    "stg_marketing__campaigns",
    "stg_stores__stores",
    "stg_stores__inventory",
)


def test_dbt_build_passes_every_model_and_test(built: Warehouse) -> None:
    # the `built` fixture asserts success and lists every failing node otherwise
    assert built.build_seconds is not None
    print(f"\ndbt build: {built.build_seconds:.1f} s")


def test_staging_are_views_and_marts_are_tables(built: Warehouse) -> None:
    with built.connect() as conn:
        kinds = dict(
            conn.execute(
                "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables "
                "WHERE table_schema IN ('staging', 'marts')"
            ).fetchall()
        )
    assert {f"staging.{name}": "VIEW" for name in STAGING}.items() <= kinds.items()
    assert {f"marts.{name}": "BASE TABLE" for name in MARTS}.items() <= kinds.items()


def test_marts_hold_the_demo_business(built: Warehouse) -> None:
    with built.connect() as conn:
        customers, orders = conn.execute(
            "SELECT (SELECT count(*) FROM raw.shop__customers), (SELECT count(*) FROM raw.shop__orders)"
        ).fetchone()
        assert conn.execute("SELECT count(*) FROM marts.customers").fetchone()[0] == customers
        assert conn.execute("SELECT count(*) FROM marts.orders").fetchone()[0] == orders
        revenue_by_orders, revenue_by_day = conn.execute(
            "SELECT (SELECT sum(total_amount) FROM marts.orders WHERE is_revenue), "
            "(SELECT sum(revenue) FROM marts.daily_revenue)"
        ).fetchone()
        assert revenue_by_orders == revenue_by_day
        ltv = conn.execute("SELECT sum(lifetime_value) FROM marts.customers").fetchone()[0]
        assert ltv == revenue_by_orders
        snapshots, churned, subscribers = conn.execute(
            "SELECT count(DISTINCT snapshot_date), sum(churn_label), count(DISTINCT customer_id) "
            "FROM marts.ml_churn_features"
        ).fetchone()
        assert snapshots >= 12
        assert churned > 0
        assert subscribers <= conn.execute("SELECT count(*) FROM raw.shop__subscriptions").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM marts.marketing_attribution").fetchone()[0] > 0


AGE_BANDS = {"under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"}


def test_churn_features_carry_coarse_protected_attributes_and_no_personal_data(built: Warehouse) -> None:
    with built.connect() as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'marts' AND table_name = 'ml_churn_features'"
            )
        }
        bands = dict(conn.execute("SELECT age_band, count(*) FROM marts.ml_churn_features GROUP BY 1").fetchall())
        regions = {row[0] for row in conn.execute("SELECT DISTINCT region FROM marts.ml_churn_features")}
        staging_regions = {row[0] for row in conn.execute("SELECT DISTINCT region FROM staging.stg_shop__customers")}

    assert {"age_band", "region"} <= columns
    assert not columns & {"birth_year", "birth_date", "email", "first_name", "last_name", "phone", "street_address"}
    assert set(bands) <= AGE_BANDS
    assert len(set(bands) - {"unknown"}) >= 4, f"the demo's ages spread over several bands: {bands}"
    assert regions <= (staging_regions - {None}) | {"unknown"}
    assert len(regions) >= 2
