"""`scrollintel demo drift-data` on a seeded shop: the newest churn snapshot's order window thinned by cancellations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from scrollintel.demo import AS_OF
from scrollintel.demo.churn_drift import newest_snapshot
from scrollintel.demo.cli import demo_group
from scrollintel.demo.shop import libpq_url, seed_shop

pytestmark = pytest.mark.integration

WINDOW = "ordered_at >= %s AND ordered_at < %s"


def test_the_newest_snapshot_is_the_first_of_the_month_90_days_before_the_as_of() -> None:
    assert newest_snapshot(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == dt.date(2025, 10, 1)
    assert newest_snapshot(dt.datetime(2026, 3, 31, 23, tzinfo=dt.UTC)) == dt.date(2025, 12, 1)


def test_drift_data_cancels_orders_in_the_newest_snapshots_window_once_and_keeps_totals_whole(
    pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --as-of the command takes the instant the platform runs dbt at (the demo's), as a person types it.

    Totals and lines stay as they were: lines are insert-only in the shop's contract, so a repriced
    order would no longer match its lines and dbt's ``assert_order_totals_match_items`` would stop
    the mart (the end-to-end story found that).
    """
    monkeypatch.delenv("SCROLLINTEL_AS_OF", raising=False)
    url = pg_server.create_database()
    seed_shop(url, scale=0.05, seed=7)
    as_of = AS_OF if isinstance(AS_OF, dt.datetime) else dt.datetime.fromisoformat(str(AS_OF))
    snapshot = newest_snapshot(as_of)
    end = dt.datetime.combine(snapshot, dt.time(), dt.UTC)
    start = end - dt.timedelta(days=90)

    def state() -> dict[int, tuple[str, float, dt.datetime, bool]]:
        with psycopg.connect(libpq_url(url)) as conn:
            rows = conn.execute(
                f"SELECT order_id, status, total_amount, updated_at, {WINDOW} FROM orders", (start, end)
            ).fetchall()
        return {row[0]: (row[1], float(row[2]), row[3], row[4]) for row in rows}

    before = state()
    result = CliRunner().invoke(demo_group, ["drift-data", "--shop-url", url])
    again = CliRunner().invoke(demo_group, ["drift-data", "--shop-url", url, "--as-of", as_of.isoformat()])
    after = state()

    assert result.exit_code == 0, result.output
    assert f"(the features of the {snapshot} snapshot)" in result.output
    inside = [key for key, row in before.items() if row[3] and row[0] not in ("cancelled", "returned")]
    outside = [key for key, row in before.items() if not row[3]]
    assert len(inside) > 50
    assert all(after[key] == before[key] for key in outside)  # older snapshots' features are untouched
    assert all(after[key][1] == before[key][1] for key in before)  # no total drifts from its lines
    changed = [key for key in inside if after[key][0] == "cancelled"]
    assert all(after[key][2] > before[key][2] for key in changed)  # ingestion's cursor moves
    assert all(after[key] == before[key] for key in inside if key not in changed)
    assert 0.5 < len(changed) / len(inside) < 0.7
    assert f"{len(changed):,} of {len(inside):,} revenue orders cancelled" in result.output
    assert again.exit_code == 1 and "already applied to the orders before the" in again.output
