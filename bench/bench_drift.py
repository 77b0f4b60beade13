"""Drift check benchmark: 1,000,000 current rows x the churn feature set, read from PostgreSQL, tested by Evidently.

A synthetic ``marts.ml_churn_features`` with the mart's columns and types (key, snapshot, the 13
features of ``governance/models.yaml`` as integer, bigint and numeric columns with some NULLs,
the label) holds the newest snapshot (``--rows``, 1,000,000) and the reference data (the
champion's training snapshots: ``--reference-rows``, 1,000,000, over four monthly snapshots),
three features of the newest snapshot shifted. Measured in one run, on the same server:

- **reading** both sets as :func:`scrollintel.ml.monitoring.monitor` does, through
  :func:`scrollintel.ml.features.read_frame` (``COPY ... TO STDOUT`` as CSV -> Arrow's CSV reader ->
  pandas), against ``pandas.read_sql`` of the same queries (SQLAlchemy, psycopg 3); best of
  ``--repeat`` trials each, alternating;
- **Evidently's own compute**: :func:`scrollintel.ml.monitoring.detect_drift` (``Report`` with
  ``DataDriftPreset``, normed Wasserstein per feature, with tests), once;
- **the HTML report** rendered and written (:func:`scrollintel.ml.monitoring.write_report`), once.

Goal: reading <= 0.5x Evidently's compute. Run: ``make bench`` / ``scripts/bench.sh``
(throwaway PostgreSQL), or ``SCROLLINTEL_TEST_DATABASE_URL=<superuser URL> python bench/bench_drift.py``;
``--rows 100000 --reference-rows 100000`` for a quick look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from scrollintel import db
from scrollintel.config import load_governance
from scrollintel.ml import features, monitoring

GOAL = 0.5
CURRENT_DAY = dt.date(2026, 1, 1)
REFERENCE_DAYS = [dt.date(2025, 9, 1), dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)]

TABLE = """
CREATE TABLE marts.ml_churn_features (
    customer_id bigint NOT NULL, snapshot_date date NOT NULL, subscription_id bigint,
    tenure_days integer, support_tickets_90d bigint, support_tickets_total bigint, failed_payments_90d bigint,
    failed_payments_total bigint, downgrades_total bigint, upgrades_total bigint, orders_90d bigint,
    orders_prior_90d bigint, order_trend numeric, revenue_90d numeric, revenue_total numeric,
    days_since_last_order integer, churn_label integer NOT NULL
)
"""
#: One snapshot of ``n`` subscribers; ``s`` (0 or 1) shifts tenure, 90-day revenue and orders (drift).
FILL = """
INSERT INTO marts.ml_churn_features
SELECT g, %(day)s, g,
       (30 + random() * 1470 + %(s)s * 400)::int,
       floor(-ln(1 - random()) * 0.8)::bigint, floor(-ln(1 - random()) * 2.8)::bigint,
       floor(-ln(1 - random()) * 0.3)::bigint, floor(-ln(1 - random()) * 1.3)::bigint,
       floor(-ln(1 - random()) * 0.3)::bigint, floor(-ln(1 - random()) * 0.5)::bigint,
       floor(-ln(1 - random()) * (3 + %(s)s * 2))::bigint, floor(-ln(1 - random()) * 3)::bigint,
       round((0.2 + random() * 2.5)::numeric, 4),
       round((-ln(1 - random()) * (140 + %(s)s * 90))::numeric, 2),
       round((-ln(1 - random()) * 900)::numeric, 2),
       CASE WHEN random() < 0.1 THEN NULL ELSE floor(-ln(1 - random()) * 30)::int END,
       (random() < 0.2)::int
FROM generate_series(1, %(n)s) AS g
"""


def plain(url: str) -> str:
    return url.replace(db.DRIVER, "postgresql")


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def line(metric: str, value: str, baseline: str, ratio: str, goal: str = "") -> None:
    print(f"{metric:<52} {value:>10}   {baseline:<40} {ratio:>8}   {goal}")


def fill(url: str, current: int, reference: int) -> None:
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
        conn.execute(TABLE)
        conn.execute("SELECT setseed(0.17)")
        for day in REFERENCE_DAYS:
            conn.execute(FILL, {"day": day, "s": 0, "n": reference // len(REFERENCE_DAYS)})
        conn.execute(FILL, {"day": CURRENT_DAY, "s": 1, "n": current})
        conn.execute("ANALYZE marts.ml_churn_features")
        size = conn.execute("SELECT pg_size_pretty(pg_table_size('marts.ml_churn_features'))").fetchone()
    print(f"table: {current + reference:,} rows, {size[0] if size else '?'}", flush=True)


def main() -> None:  # noqa: PLR0915 - one straight measurement script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the newest (current) snapshot")
    parser.add_argument("--reference-rows", type=int, default=1_000_000, help="rows of the reference snapshots")
    parser.add_argument("--repeat", type=int, default=2, help="trials of each reading method (best is kept)")
    args = parser.parse_args()

    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (a superuser URL) or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    name = f"bench_drift_{secrets.token_hex(3)}"
    with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db.with_database(admin, name)
    model = load_governance().model("churn")
    columns = [*model.entity_key, model.snapshot_column, *model.features, model.label]
    folder = Path(tempfile.mkdtemp(prefix="scrollintel-bench-drift-"))
    try:
        print(
            f"drift check benchmark: PostgreSQL {version[0] if version else '?'}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPU(s); {args.rows:,} current + {args.reference_rows:,} reference rows x "
            f"{len(model.features)} features\n",
            flush=True,
        )
        fill(url, args.rows, args.reference_rows)

        import pandas as pd
        from sqlalchemy import create_engine

        engine = create_engine(url)
        with psycopg.connect(plain(url)) as conn:
            queries = [
                features._select(model, columns, days).as_string(conn) for days in (REFERENCE_DAYS, [CURRENT_DAY])
            ]

        def copy_arrow_pandas() -> list[pd.DataFrame]:
            return [features.read_frame(url, model, days, columns) for days in (REFERENCE_DAYS, [CURRENT_DAY])]

        def copy_arrow_only() -> list[Any]:
            return [features.read_arrow(url, model, days, columns) for days in (REFERENCE_DAYS, [CURRENT_DAY])]

        def read_sql() -> list[pd.DataFrame]:
            with engine.connect() as conn:
                return [pd.read_sql(query, conn) for query in queries]

        trials: dict[str, list[float]] = {"copy": [], "arrow": [], "read_sql": []}
        frames: list[pd.DataFrame] = []
        sql_frames: list[pd.DataFrame] = []
        for trial in range(args.repeat):
            print(f"reading trial {trial + 1}/{args.repeat} ...", flush=True)
            seconds, frames = timed(copy_arrow_pandas)
            trials["copy"].append(seconds)
            trials["arrow"].append(timed(copy_arrow_only)[0])
            seconds, sql_frames = timed(read_sql)
            trials["read_sql"].append(seconds)
        engine.dispose()
        reference, current = frames
        assert [len(frame) for frame in frames] == [len(frame) for frame in sql_frames]
        object_columns = [column for column in sql_frames[0].columns if str(sql_frames[0][column].dtype) == "object"]
        del sql_frames

        print("Evidently drift report ...", flush=True)
        compute, (drift, snapshot) = timed(lambda: monitoring.detect_drift(reference, current, model))
        render, _ = timed(lambda: monitoring.write_report(folder / "report.html", snapshot, None))
        report_mb = (folder / "report.html").stat().st_size / 1e6
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        read, arrow, sql = (min(trials[key]) for key in ("copy", "arrow", "read_sql"))
        rows = len(reference) + len(current)
        total = read + compute + render
        print()
        line("metric", "value", "baseline (same run)", "ratio", "goal")
        line(
            f"read {rows:,} rows: COPY -> Arrow -> pandas",
            f"{read:.2f} s",
            f"pandas.read_sql {sql:.2f} s",
            f"{sql / read:.1f}x",
            "faster",
        )
        line("  of which COPY -> Arrow (no pandas)", f"{arrow:.2f} s", f"{rows / arrow:,.0f} rows/s", "")
        objects = f"object columns: {', '.join(object_columns) or 'none'}"
        line(f"  pandas.read_sql ({rows / sql:,.0f} rows/s)", f"{sql:.2f} s", objects, "")
        line(
            f"Evidently drift compute ({len(drift.features)} features)",
            f"{compute:.2f} s",
            f"{drift.share:.0%} drifted: {', '.join(item.feature for item in drift.drifted)}",
            "",
        )
        line("HTML report render + write", f"{render:.2f} s", f"{report_mb:.1f} MB", "")
        line("total (read + compute + report)", f"{total:.2f} s", f"read share {read / total:.0%}", "")
        ok = read / compute <= GOAL
        line(
            "reading / Evidently compute",
            f"{read / compute:.2f}",
            f"with pandas.read_sql {sql / compute:.2f}",
            "",
            f"<= {GOAL} {'PASS' if ok else 'MISS'}",
        )
        line("peak RSS of this process", f"{peak_mb:,.0f} MB", "", "")
    finally:
        with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
