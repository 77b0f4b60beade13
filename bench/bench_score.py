"""Batch scoring benchmark: 1,000,000 current rows of the churn features scored and written to ``marts.churn_scores``.

A synthetic ``marts.ml_churn_features`` (the mart's columns and types, as ``bench_drift.py`` builds
it) holds one training snapshot and the newest snapshot (``--rows``, 1,000,000). A model of the
kind training builds (the training pipeline, gradient boosting, sigmoid-calibrated on 3 folds) is
fitted on ``--train-rows`` rows of the training snapshot: the fit is not measured. Measured in one
run, on the same server, as :func:`scrollintel.ml.scoring.score` does it:

- **read** the newest snapshot (:func:`scrollintel.ml.features.read_frame`, COPY -> Arrow -> pandas);
- **predict** (:func:`scrollintel.ml.scoring.score_frame`): rows/s of scoring alone;
- **write** (:func:`scrollintel.ml.scoring.scores_arrow` + :func:`scrollintel.ml.scoring.write_scores`:
  Arrow columns -> CSV streamed into ``COPY ... FREEZE`` of the run's new partition, the earlier try's
  partition dropped, the new one attached, one transaction), against **raw COPY**: the same CSV bytes,
  already encoded, copied into a table of the same columns; best of ``--repeat`` trials each, alternating.

Goal: write rate >= 0.5x the raw COPY's. Run: ``make bench`` / ``scripts/bench.sh``, or
``SCROLLINTEL_TEST_DATABASE_URL=<superuser URL> python bench/bench_score.py``; ``--rows 100000`` for a quick look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import secrets
import sys
import uuid

import psycopg
from bench_drift import FILL, TABLE, line, plain, timed

from scrollintel import db
from scrollintel.config import load_governance
from scrollintel.ml import features, scoring

GOAL = 0.5
TRAIN_DAY = dt.date(2025, 12, 1)
CURRENT_DAY = dt.date(2026, 1, 1)
RAW_TABLE = "bench_raw_scores"


def fill(url: str, current: int, train: int) -> None:
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
        conn.execute(TABLE)
        conn.execute("SELECT setseed(0.23)")
        conn.execute(FILL, {"day": TRAIN_DAY, "s": 0, "n": train})
        conn.execute(FILL, {"day": CURRENT_DAY, "s": 1, "n": current})
        conn.execute("ANALYZE marts.ml_churn_features")


def main() -> None:  # noqa: PLR0915 - one straight measurement script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the newest snapshot (scored)")
    parser.add_argument("--train-rows", type=int, default=50_000, help="rows the bench model is fitted on")
    parser.add_argument("--repeat", type=int, default=2, help="trials of the write and the raw COPY (best kept)")
    args = parser.parse_args()

    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (a superuser URL) or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    name = f"bench_score_{secrets.token_hex(3)}"
    with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db.with_database(admin, name)
    model = load_governance().model("churn")
    try:
        print(
            f"scoring benchmark: PostgreSQL {version[0] if version else '?'}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPU(s); {args.rows:,} rows x {len(model.features)} features\n",
            flush=True,
        )
        fill(url, args.rows, args.train_rows)

        from pyarrow import csv
        from sklearn.calibration import CalibratedClassifierCV

        from scrollintel.ml.training import build_pipeline, feature_frame

        train = features.read_frame(url, model, [TRAIN_DAY], [*model.features, model.label])
        estimator = CalibratedClassifierCV(build_pipeline(model.features, model.training.seed), cv=3)
        estimator.fit(feature_frame(train, model.features), train[model.label].astype(int))

        read, frame = timed(
            lambda: features.read_frame(
                url, model, [CURRENT_DAY], [*model.entity_key, model.snapshot_column, *model.features]
            )
        )
        predict, scores = timed(lambda: scoring.score_frame(estimator, frame, model))
        run_id = str(uuid.uuid4())
        scored_at = dt.datetime.now(dt.UTC)

        def write() -> int:
            table = scoring.scores_arrow(frame, model, scores, version="1", scored_at=scored_at, run_id=run_id)
            return scoring.write_scores(url, model, table, run_id)[0]

        table = scoring.scores_arrow(frame, model, scores, version="1", scored_at=scored_at, run_id=run_id)
        buffer = io.BytesIO()
        csv.write_csv(table, buffer, csv.WriteOptions(include_header=False))
        data = buffer.getvalue()
        with psycopg.connect(plain(url), autocommit=True) as conn:
            conn.execute(
                f"CREATE TABLE {RAW_TABLE} (customer_id bigint, snapshot_date date, score double precision, "
                "model_version integer, scored_at timestamptz, scoring_run_id uuid)"
            )

        def raw_copy() -> None:
            with psycopg.connect(plain(url)) as conn:
                conn.execute(f"TRUNCATE {RAW_TABLE}")
                with conn.cursor() as cur, cur.copy(f"COPY {RAW_TABLE} FROM STDIN (FORMAT csv)") as stream:
                    step = 8 << 20
                    for start in range(0, len(data), step):
                        stream.write(data[start : start + step])

        writes, raws = [], []
        for trial in range(args.repeat):
            print(f"write trial {trial + 1}/{args.repeat} ...", flush=True)
            writes.append(timed(write)[0])
            raws.append(timed(raw_copy)[0])
        written, raw = min(writes), min(raws)
        rows = len(frame)
        with psycopg.connect(plain(url)) as conn:
            stored = conn.execute("SELECT count(*) FROM marts.churn_scores").fetchone()
        assert stored is not None and stored[0] == rows, stored  # a rerun of the run replaced its rows

        total = read + predict + written
        print()
        line("metric", "value", "baseline (same run)", "ratio", "goal")
        line(f"read {rows:,} rows (COPY -> Arrow -> pandas)", f"{read:.2f} s", f"{rows / read:,.0f} rows/s", "")
        line("predict (calibrated gradient boosting)", f"{predict:.2f} s", f"{rows / predict:,.0f} rows/s", "")
        line(
            "write (Arrow -> CSV -> COPY into the run partition)",
            f"{written:.2f} s",
            f"raw COPY of the same bytes {raw:.2f} s",
            f"{raw / written:.2f}x",
            f">= {GOAL}x {'PASS' if raw / written >= GOAL else 'MISS'}",
        )
        line("  write rate", f"{rows / written:,.0f}/s", f"raw COPY {rows / raw:,.0f} rows/s", "")
        line("score end to end (read + predict + write)", f"{total:.2f} s", f"{rows / total:,.0f} rows/s", "")
    finally:
        with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    sys.stdout.flush()


if __name__ == "__main__":
    main()
