"""``scrollintel demo drift-data``: a wave of cancellations in the shop, so the churn model's newest snapshot drifts.

``marts.ml_churn_features`` keeps only snapshots whose 90-day label window has passed (the newest is
the first of the month at or before ``as_of - 90 days``), so orders placed "now" never reach a
snapshot. The change therefore touches the orders inside the newest snapshot's feature window,
``[snapshot - 90 days, snapshot)`` (what ``orders_90d``, ``revenue_90d``, ``order_trend`` and
``days_since_last_order`` of that snapshot are computed from): a ``cancel_share`` of its revenue
orders is cancelled. Older snapshots' windows end before it, so the champion's reference data (its
training snapshots) is unchanged.

Only the order's ``status`` changes, the column the shop itself updates: totals and order lines stay
as they are (lines are insert-only, so the loader would never see a repriced line, and dbt's
``assert_order_totals_match_items`` would stop the mart). Every changed order's ``updated_at``
moves to now, so the next ``ingest_shop`` run picks it up; dbt rebuilds the mart, monitoring
compares the newest snapshot with the reference and asks for retraining. The change is recorded in
the ``orders`` table's comment and is not applied twice to the same window. Which orders are
cancelled depends on the order id only (reproducible).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from scrollintel.transform.project import project_var

#: dbt's ``churn_horizon_days``: how far a snapshot's label looks ahead.
HORIZON = dt.timedelta(days=int(project_var("churn_horizon_days")))
#: How far back a snapshot's order features look (``orders_90d``, ``revenue_90d``).
FEATURE_WINDOW = dt.timedelta(days=90)
CANCEL_SHARE = 0.6
MARKER = "scrollintel demo drift-data"
_REVENUE = "status NOT IN ('cancelled', 'returned')"


@dataclass(frozen=True)
class DataDrift:
    """What the wave of cancellations did."""

    snapshot: dt.date
    window_start: dt.datetime
    window_end: dt.datetime
    revenue_orders: int
    cancelled: int


def newest_snapshot(as_of: dt.datetime) -> dt.date:
    """The newest snapshot date the mart holds at ``as_of``: the first of the month at or before ``as_of - 90 days``."""
    edge = (as_of.astimezone(dt.UTC) - HORIZON).date()
    return edge.replace(day=1)


def cancel_orders(
    shop_url: str,
    as_of: dt.datetime,
    *,
    cancel_share: float = CANCEL_SHARE,
) -> DataDrift:
    """Cancel a share of the revenue orders in the newest snapshot's feature window (one transaction).

    Raises:
        ValueError: a share out of range, or the change was already applied to this window.
    """
    import psycopg

    if not 0 < cancel_share < 1:
        raise ValueError(f"cancel_share must be in (0, 1), got {cancel_share}")
    snapshot = newest_snapshot(as_of)
    end = dt.datetime.combine(snapshot, dt.time(), dt.UTC)
    start = end - FEATURE_WINDOW
    marker = f"{MARKER}: {snapshot.isoformat()}"
    with psycopg.connect(shop_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE")
        row = conn.execute("SELECT obj_description('orders'::regclass, 'pg_class')").fetchone()
        if row and row[0] and marker in row[0]:
            raise ValueError(f"the cancellations were already applied to the orders before the {snapshot} snapshot")
        window = "ordered_at >= %(start)s AND ordered_at < %(end)s"
        params = {"start": start, "end": end, "share": round(cancel_share * 1000)}
        row = conn.execute(f"SELECT count(*) FROM orders WHERE {window} AND {_REVENUE}", params).fetchone()
        revenue_orders = int(row[0]) if row else 0
        cancelled = conn.execute(
            f"UPDATE orders SET status = 'cancelled', updated_at = now() "
            f"WHERE {window} AND {_REVENUE} AND mod(abs(hashtext(order_id::text)), 1000) < %(share)s",
            params,
        ).rowcount
        conn.execute(f"COMMENT ON TABLE orders IS '{marker}'")
    return DataDrift(snapshot, start, end, revenue_orders, cancelled)
