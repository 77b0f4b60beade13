"""A synthetic churn feature table shaped like ``marts.ml_churn_features``, for tests and benchmarks.

The real table is built by dbt from the demo shop (ingestion -> staging -> marts): minutes of
work and a whole platform. Training, monitoring and scoring only need a table of the same shape
with a signal a model can learn, so this module draws one directly: one row per subscription per
monthly snapshot, the mart's columns and types (plus the derived protected attributes
``age_band`` and ``region``), and a 90-day churn label drawn from a logistic model of the
features (more support tickets, failed payments and downgrades, and falling orders, mean more
churn), so a good model reaches a ROC AUC of about 0.85 at a churn rate of about 5%.

Sizes: :data:`DEMO_SNAPSHOT_ROWS` are the rows per snapshot of the real mart built from the demo
shop at scale 1 (33 monthly snapshots, 76,851 rows, counted from the shop generator's
subscriptions); :func:`snapshot_rows` scales that profile.

Everything is a pure function of its arguments and ``seed`` (numpy's PCG64): the same call gives
the same rows. ``shift`` moves the feature distributions (more tickets and failed payments, fewer
orders) for drift tests. Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg import sql

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

#: Rows per monthly snapshot of ``marts.ml_churn_features`` on the demo shop at scale 1, oldest
#: first (2023-02-01 .. 2025-10-01): the subscriptions active at each snapshot.
DEMO_SNAPSHOT_ROWS: tuple[int, ...] = (
    8, 15, 35, 64, 105, 161, 220, 291, 381, 481, 605, 734, 887, 1021, 1198, 1373, 1564, 1766,
    2026, 2268, 2550, 2853, 3141, 3433, 3775, 4111, 4536, 4959, 5428, 5868, 6434, 6990, 7570,
)  # fmt: skip
#: First snapshot of the demo mart.
DEMO_FIRST_SNAPSHOT = dt.date(2023, 2, 1)

AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
REGIONS: tuple[str, ...] = ("north", "south", "east", "west")

#: Column -> PostgreSQL type, in the mart's column order (dbt: counts are bigint, money numeric).
COLUMNS: dict[str, str] = {
    "customer_id": "bigint",
    "snapshot_date": "date",
    "subscription_id": "bigint",
    "tenure_days": "integer",
    "support_tickets_90d": "bigint",
    "support_tickets_total": "bigint",
    "failed_payments_90d": "bigint",
    "failed_payments_total": "bigint",
    "downgrades_total": "bigint",
    "upgrades_total": "bigint",
    "orders_90d": "bigint",
    "orders_prior_90d": "bigint",
    "order_trend": "numeric",
    "revenue_90d": "numeric",
    "revenue_total": "numeric",
    "days_since_last_order": "integer",
    "age_band": "text",
    "region": "text",
    "churn_label": "integer",
}


def snapshot_rows(total: int | None = None) -> list[int]:
    """Rows per snapshot: the demo profile (:data:`DEMO_SNAPSHOT_ROWS`), scaled to ``total`` rows."""
    if total is None:
        return list(DEMO_SNAPSHOT_ROWS)
    factor = total / sum(DEMO_SNAPSHOT_ROWS)
    return [max(1, round(rows * factor)) for rows in DEMO_SNAPSHOT_ROWS]


def monthly_snapshots(count: int, first: dt.date = DEMO_FIRST_SNAPSHOT) -> list[dt.date]:
    """``count`` first-of-month dates from ``first`` on."""
    months = [first.year * 12 + first.month - 1 + offset for offset in range(count)]
    return [dt.date(month // 12, month % 12 + 1, 1) for month in months]


def generate_churn_features(
    rows_per_snapshot: Sequence[int],
    *,
    first_snapshot: dt.date = DEMO_FIRST_SNAPSHOT,
    seed: int = 7,
    shift: float = 0.0,
) -> pa.Table:
    """The feature table: ``rows_per_snapshot[i]`` rows at the i-th monthly snapshot.

    ``shift`` (0 = none) moves the features of every row: tickets and failed payments up by that
    share, orders down by it (a pricing change that annoys subscribers).
    """
    import numpy as np
    import pyarrow as pa

    rng = np.random.Generator(np.random.PCG64(seed))
    dates = monthly_snapshots(len(rows_per_snapshot), first_snapshot)
    counts = np.asarray(rows_per_snapshot, dtype=np.int64)
    n = int(counts.sum())
    snapshot = np.repeat(np.array(dates, dtype="datetime64[D]"), counts)
    subscription = np.concatenate([np.arange(1, c + 1, dtype=np.int64) for c in counts]) if n else np.zeros(0, int)

    friction = rng.gamma(2.0, 0.5, n) * (1.0 + shift)
    trouble = rng.gamma(1.5, 1 / 1.5, n) * (1.0 + shift)
    engagement = rng.gamma(2.0, 1.0, n) * max(0.05, 1.0 - shift)
    tenure = rng.integers(1, 1000, n)
    tickets_90d = rng.poisson(0.5 * friction)
    tickets_total = tickets_90d + rng.poisson(0.8 * friction * tenure / 365)
    failed_90d = rng.poisson(0.25 * trouble)
    failed_total = failed_90d + rng.poisson(0.3 * trouble * tenure / 365)
    downgrades = rng.poisson(0.15 * friction)
    upgrades = rng.poisson(0.2, n)
    trend = rng.lognormal(0.0, 0.5, n)
    orders_prior = rng.poisson(engagement)
    orders_90d = rng.poisson(engagement * trend)
    order_trend = np.round((orders_90d + 1.0) / (orders_prior + 1.0), 4)
    basket = rng.gamma(3.0, 20.0, n)
    revenue_90d = np.round(orders_90d * basket, 2)
    older_orders = rng.poisson(engagement * tenure / 90)
    revenue_total = np.round(revenue_90d + orders_prior * basket + older_orders * basket, 2)
    ever_ordered = (orders_90d + orders_prior + older_orders) > 0
    since_last = np.where(orders_90d > 0, rng.integers(0, 90, n), rng.integers(90, 400, n))
    age_band = rng.integers(0, len(AGE_BANDS), n)
    region = rng.integers(0, len(REGIONS), n)

    z = (
        -4.2
        + 0.7 * np.minimum(tickets_90d, 5)
        + 1.1 * np.minimum(failed_90d, 4)
        + 1.0 * np.minimum(downgrades, 2)
        - 0.4 * np.minimum(upgrades, 2)
        - 1.6 * np.log(order_trend)
        - 0.5 * (tenure > 365)
    )
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int32)

    return pa.table(
        {
            "customer_id": pa.array(subscription * 7 + 1000),
            "snapshot_date": pa.array(snapshot, pa.date32()),
            "subscription_id": pa.array(subscription),
            "tenure_days": pa.array(tenure.astype(np.int32)),
            "support_tickets_90d": pa.array(tickets_90d.astype(np.int64)),
            "support_tickets_total": pa.array(tickets_total.astype(np.int64)),
            "failed_payments_90d": pa.array(failed_90d.astype(np.int64)),
            "failed_payments_total": pa.array(failed_total.astype(np.int64)),
            "downgrades_total": pa.array(downgrades.astype(np.int64)),
            "upgrades_total": pa.array(upgrades.astype(np.int64)),
            "orders_90d": pa.array(orders_90d.astype(np.int64)),
            "orders_prior_90d": pa.array(orders_prior.astype(np.int64)),
            "order_trend": pa.array(order_trend),
            "revenue_90d": pa.array(revenue_90d),
            "revenue_total": pa.array(revenue_total),
            "days_since_last_order": pa.array(since_last.astype(np.int32), mask=~ever_ordered),
            "age_band": pa.array(np.array(AGE_BANDS)[age_band]),
            "region": pa.array(np.array(REGIONS)[region]),
            "churn_label": pa.array(label),
        }
    )


def current_rows(table: pa.Table, label: str = "churn_label") -> pa.Table:
    """The scoring table's shape (``marts.ml_churn_current_features``): the newest snapshot's rows, no label."""
    import pyarrow.compute as pc

    newest = pc.max(table["snapshot_date"])
    return table.filter(pc.equal(table["snapshot_date"], newest)).drop_columns([label])


def create_feature_table(conn: psycopg.Connection[Any], table: pa.Table, name: str = "marts.ml_churn_features") -> int:
    """(Re)create ``name`` (``schema.table``) with the mart's column types and COPY ``table`` into it.

    Runs in the caller's transaction; returns the rows written.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    schema, relation = name.split(".", 1)
    target = sql.Identifier(schema, relation)
    columns = [column for column in COLUMNS if column in table.column_names]
    # CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even when the schema exists,
    # which a warehouse's runtime role (dbt's) does not have: create it only when it is missing.
    if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    conn.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            target,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(COLUMNS[column])) for column in columns
            ),
        )
    )
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table.select(columns), sink, pacsv.WriteOptions(include_header=False))
    copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    )
    with conn.cursor() as cur, cur.copy(copy) as stream:
        stream.write(memoryview(sink.getvalue()))
    return table.num_rows
