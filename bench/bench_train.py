"""Training benchmark: the churn model end to end on demo-sized data, on the platform's two cores.

The data: a synthetic ``marts.ml_churn_features`` (:mod:`scrollintel.demo.churn_features`) with
exactly the snapshot sizes of the real mart built from the demo shop at scale 1 (33 monthly
snapshots, 76,851 rows; ``--rows`` scales it), the mart's columns and types, and a learnable
churn signal (about 5% churn). Building the real mart needs the whole ingestion and dbt chain;
training only sees the table, so a table of the same shape and size measures the same work.

End to end, as the ``ml_churn_train`` DAG's task does it (:func:`scrollintel.ml.training.train_and_register`):
read the table (COPY into Arrow), split by time, search ``training.search_budget`` candidates
on 3 time-ordered folds, calibrate on the same folds, evaluate on the holdout, log the run with
its input dataset, model, signature and input example to a real MLflow server (PostgreSQL
backend store, artifacts proxied to a temporary folder), register the version and set its
alias. Each phase is timed; the goal is < 5 minutes in all.

Baselines in the same run: one fit of the default pipeline on the same training rows (what the
search and calibration multiply), and with ``--serial`` the search in one process instead of two.

Run: ``make bench`` / ``scripts/bench.sh`` (throwaway PostgreSQL), or with
``SCROLLINTEL_TEST_DATABASE_URL`` set to a superuser URL.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from scrollintel import db
from scrollintel.config import load_governance
from scrollintel.demo.churn_features import create_feature_table, generate_churn_features, snapshot_rows
from scrollintel.platform import mlflow_service
from scrollintel.platform.postgres import HOST, free_port

GOAL_S = 300.0


def _create_database(admin: str, prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(db.libpq_url(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return db.with_database(admin, name)


def _drop_database(admin: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(db.libpq_url(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start_mlflow(backend: str, folder: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    started = time.perf_counter()
    with open(folder / "mlflow.log", "ab") as out:
        process = subprocess.Popen(
            mlflow_service.server_command(HOST, port, str(folder / "artifacts")),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **mlflow_service.server_env(backend)},
            start_new_session=True,
        )
    mlflow_service.wait_ready(
        mlflow_service.health_url(HOST, port), alive=lambda: process.poll() is None, log_file=folder / "mlflow.log"
    )
    return process, f"http://{HOST}:{port}", time.perf_counter() - started


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _end_to_end(model: Any, warehouse: str, uri: str) -> dict[str, Any]:
    """What the DAG's task does, phase by phase (train_and_register's own steps)."""
    from scrollintel.ml import registry
    from scrollintel.ml.training import fit, read_training_frame

    seconds: dict[str, float] = {}
    total_started = time.perf_counter()
    started = time.perf_counter()
    frame = read_training_frame(warehouse, model)
    seconds["read (COPY -> Arrow -> pandas)"] = time.perf_counter() - started
    fitted = fit(frame, model)
    seconds["search (2 processes)"] = fitted.seconds["search"]
    seconds["calibration"] = fitted.seconds["calibration"]
    seconds["holdout evaluation"] = fitted.seconds["evaluation"]
    client = registry.client(uri)
    started = time.perf_counter()
    logged = registry.log_training_run(client, model, fitted, training_frame=frame)
    seconds["log run + model to MLflow"] = time.perf_counter() - started
    started = time.perf_counter()
    registration = registry.register_version(client, model, logged)
    seconds["register version, set alias"] = time.perf_counter() - started
    seconds["total (end to end)"] = time.perf_counter() - total_started
    return {"frame": frame, "fitted": fitted, "registration": registration, "seconds": seconds}


def _one_default_fit(model: Any, frame: Any) -> float:
    """Baseline: one fit of the default pipeline on the training rows (one thread, as the search's fits)."""
    from threadpoolctl import threadpool_limits

    from scrollintel.ml.training import build_pipeline, feature_frame, time_split

    split = time_split(list(frame[model.snapshot_column].unique()))
    train = frame[frame[model.snapshot_column].isin(split.train)]
    pipeline = build_pipeline(model.features, model.training.seed)
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        pipeline.fit(feature_frame(train, model.features), train[model.label])
    return time.perf_counter() - started


def _report(model: Any, run: dict[str, Any], single_s: float) -> None:
    fitted, registration, seconds = run["fitted"], run["registration"], run["seconds"]
    print(f"\n{'phase':34} {'seconds':>9}")
    for phase, value in seconds.items():
        print(f"{phase:34} {value:9.1f}")
    total = seconds["total (end to end)"]
    print(f"goal: end to end < {GOAL_S:.0f}s: {'met' if total < GOAL_S else 'MISSED'} ({total / GOAL_S:.2f}x the goal)")
    tuning = fitted.seconds["search"] + fitted.seconds["calibration"]
    fits = model.training.search_budget * 3 + 3
    print(f"\nbaseline: one default fit on {fitted.train_rows:,} rows: {single_s:.1f}s")
    print(f"  search + calibration ({fits} fits on 2 processes): {tuning:.1f}s = {tuning / single_s:.1f}x one fit")
    metrics = fitted.metrics
    print(
        f"holdout {fitted.split.holdout}: ROC AUC {metrics['roc_auc']:.4f}, PR AUC {metrics['pr_auc']:.4f}, "
        f"Brier {metrics['brier']:.4f}; registered {registration.name} v{registration.version} ({registration.alias})"
    )


def _serial(model: Any, run: dict[str, Any]) -> None:
    """The search in one process, against two; the metrics must not change."""
    from scrollintel.ml.training import fit

    fitted = run["fitted"]
    serial = fit(run["frame"], model, n_jobs=1)
    ratio = serial.seconds["search"] / fitted.seconds["search"]
    print(f"search in one process: {serial.seconds['search']:.1f}s ({ratio:.2f}x two processes)")
    assert serial.metrics == fitted.metrics, "one process and two gave different metrics"
    print("  same metrics with one process and with two")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="rows of the table (default: the demo mart's 76,851)")
    parser.add_argument("--serial", action="store_true", help="also time the search in one process")
    args, _ = parser.parse_known_args()
    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (a superuser URL), or run scripts/bench.sh")
    os.environ.update(mlflow_service.CLIENT_ENV)

    base = load_governance().models.model("churn")
    model = base.model_copy(update={"name": f"bench_churn_{secrets.token_hex(3)}"})
    warehouse = _create_database(admin, "bench_train_wh")
    backend = _create_database(admin, "bench_train_mlflow")
    folder = Path(tempfile.mkdtemp(prefix="bench-train-"))
    process = None
    try:
        table = generate_churn_features(snapshot_rows(args.rows), seed=7)
        with psycopg.connect(db.libpq_url(warehouse)) as conn:
            create_feature_table(conn, table)
        process, uri, server_s = _start_mlflow(backend, folder)
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
        print(f"table: {table.num_rows:,} rows, 33 snapshots; MLflow server ready in {server_s:.1f}s")
        print(f"search budget: {model.training.search_budget} candidates x 3 folds, seed {model.training.seed}")
        run = _end_to_end(model, warehouse, uri)
        _report(model, run, _one_default_fit(model, run["frame"]))
        if args.serial:
            _serial(model, run)
    finally:
        if process is not None:
            _stop(process)
        _drop_database(admin, warehouse)
        _drop_database(admin, backend)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
