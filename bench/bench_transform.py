"""Transformation benchmark: how the cosmos DAG is loaded (parse time) and how dbt runs in a task.

Parse time of ``transform_warehouse`` (DagBag's own per-file figure, as the DAG integrity test
reports it), each variant in fresh processes with Python's bytecode cache on (as an installed
platform has it; ``PYTHONPYCACHEPREFIX`` in a temporary folder, so the repository's environment is
not written to):

- ``LoadMode.DBT_MANIFEST`` (the DAG as shipped): cosmos reads ``manifest.json``;
- ``LoadMode.DBT_LS`` without cosmos' cache: cosmos runs ``dbt ls`` on every parse;
- ``LoadMode.DBT_LS`` with cosmos' cache: ``dbt ls`` output kept in an Airflow Variable, keyed by
  a hash of the project (a metadata database read on every parse), measured on a SQLite
  metadata database.

For each: the first parse in a new process (it imports cosmos) and the median of the next parses
in the same process. Also: ``dbt parse`` building the manifest, cold and with partial parse.

Execution (``ExecutionMode.LOCAL``): one model's ``dbt run`` and ``dbt test`` as a task runs them,
in a new process each time, with ``InvocationMode.DBT_RUNNER`` (dbt called in the task's
interpreter) against ``InvocationMode.SUBPROCESS`` (the ``dbt`` executable started by the task),
on a warehouse filled by the real ingestion of the demo shop's customers.

Run: ``make bench`` / ``scripts/bench.sh`` (throwaway PostgreSQL), or with
``SCROLLINTEL_TEST_DATABASE_URL`` set to a superuser URL. ``--parses 5 --runs 5`` by default.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

_VARIANT = textwrap.dedent(
    '''
    """Benchmark copy of dags/transform_warehouse.py with another cosmos load mode (airflow dag)."""
    from airflow.sdk import dag
    from cosmos import LoadMode

    from scrollintel.dag_defaults import START_DATE, default_args
    from scrollintel.transform.dagspec import dbt_task_group, transform_spec

    SPEC = transform_spec()


    @dag(
        schedule=SPEC.schedule(),
        start_date=START_DATE,
        catchup=False,
        default_args=default_args(SPEC.owner),
        tags=SPEC.tags,
        doc_md=SPEC.doc_md(),
    )
    def transform_warehouse_dbt_ls() -> None:
        dbt_task_group(SPEC, load_mode=LoadMode.DBT_LS)


    transform_warehouse_dbt_ls()
    '''
)

#: A task process running dbt in its own interpreter (cosmos InvocationMode.DBT_RUNNER).
_IN_PROCESS = (
    "import sys\nfrom dbt.cli.main import dbtRunner\nsys.exit(0 if dbtRunner().invoke({args!r}).success else 1)"
)

_PARSER = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag

    times = []
    for _ in range(int(sys.argv[2])):
        bag = DagBag(dag_folder=sys.argv[1])
        if bag.import_errors:
            raise SystemExit(f"import errors: {bag.import_errors}")
        (stat,) = bag.dagbag_stats
        times.append(stat.duration.total_seconds())
    print("PARSE " + json.dumps({"times": times, "tasks": stat.task_num}))
    """
)


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(tmp / "cosmos"),
        "SCROLLINTEL_DBT_STATE_DIR": str(tmp / "dbt"),
        "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        # LoadMode.DBT_LS looks the dbt executable up on the PATH even when it runs dbt in-process
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return elapsed, done.stdout


def _parse(dag_file: Path, env: dict[str, str], parses: int) -> dict[str, Any]:
    _, out = _run([sys.executable, "-c", _PARSER, str(dag_file), str(parses + 1)], env)
    (line,) = [line for line in out.splitlines() if line.startswith("PARSE ")]
    result = json.loads(line.removeprefix("PARSE "))
    times = result["times"]
    return {"first": times[0], "again": statistics.median(times[1:]) if parses else None, "tasks": result["tasks"]}


def bench_parse(tmp: Path, parses: int) -> dict[str, Any]:
    env = _env(tmp)
    cold, _ = _run([str(BIN / "scrollintel"), "transform", "manifest"], env)
    warm, _ = _run([str(BIN / "scrollintel"), "transform", "manifest"], env)
    figures: dict[str, Any] = {"manifest_build_cold_s": cold, "manifest_build_partial_s": warm}
    _run([str(BIN / "airflow"), "db", "migrate"], env)
    variant = tmp / "dags" / "transform_warehouse_dbt_ls.py"
    variant.parent.mkdir()
    variant.write_text(_VARIANT, encoding="utf-8")
    shipped = ROOT / "dags" / "transform_warehouse.py"
    _parse(shipped, env, 1)  # fills the bytecode cache for every variant
    figures["dbt_manifest"] = _parse(shipped, env, parses)
    figures["dbt_ls_no_cache"] = _parse(variant, _env(tmp, AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS="False"), parses)
    _parse(variant, env, 0)  # runs dbt ls once and stores its output in the Variable
    figures["dbt_ls_cached"] = _parse(variant, env, parses)
    return figures


def _warehouse(admin_url: str, tmp: Path) -> tuple[str, str]:
    """A migrated warehouse with the demo shop's customers ingested and classified (superuser URL), and the shop."""
    import psycopg

    from scrollintel import db, migrate
    from scrollintel.demo.shop import seed_shop
    from scrollintel.ingest.pipeline import ingest_resource

    names = {kind: f"bench_tf_{kind}_{secrets.token_hex(3)}" for kind in ("shop", "wh")}
    with psycopg.connect(db.libpq_url(db.with_database(admin_url, "postgres")), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    shop, warehouse = (db.with_database(admin_url, names[kind]) for kind in ("shop", "wh"))
    seed_shop(shop, scale=0.05)
    migrate.upgrade(warehouse)
    os.environ.update(
        {
            "SCROLLINTEL_HOME": str(tmp / "state"),
            "SCROLLINTEL_OBJECT_STORE": str(tmp / "object-store"),
            "SCROLLINTEL_AUDIT_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        }
    )
    ingest_resource("shop", "customers", run_id="bench", warehouse_url=warehouse, source_conn=shop, quality=False)
    return warehouse, shop


def _drop(admin_url: str, *urls: str) -> None:
    import psycopg

    from scrollintel import db

    with psycopg.connect(db.libpq_url(db.with_database(admin_url, "postgres")), autocommit=True) as conn:
        for url in urls:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def bench_execution(admin_url: str, tmp: Path, runs: int) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    warehouse, shop = _warehouse(admin_url, tmp)
    url = make_url(warehouse)
    env = _env(
        tmp,
        SCROLLINTEL_DBT_HOST=url.host or "127.0.0.1",
        SCROLLINTEL_DBT_PORT=str(url.port or 5432),
        SCROLLINTEL_DBT_USER=url.username or "",
        DBT_ENV_SECRET_SCROLLINTEL_DBT_PASSWORD=url.password or "",
        SCROLLINTEL_DBT_DBNAME=url.database or "",
        PGOPTIONS=f"-c scrollintel.masking_salt={secrets.token_hex(16)}",
    )
    flags = ["--project-dir", str(ROOT / "dbt"), "--profiles-dir", str(ROOT / "dbt")]
    flags += ["--target-path", str(tmp / "exec-target"), "--log-path", str(tmp / "exec-logs")]
    figures: dict[str, Any] = {}
    try:
        for command in ("run", "test"):
            # cautious: the model's own tests only, as cosmos runs them (two-model tests are separate tasks)
            args = [command, "--select", "stg_shop__customers", "--indirect-selection", "cautious", *flags]
            in_process = _IN_PROCESS.format(args=args)
            spawning = f"import subprocess, sys; sys.exit(subprocess.run({[str(BIN / 'dbt'), *args]!r}).returncode)"
            _run([sys.executable, "-c", in_process], env)  # partial parse state and bytecode in place
            _run([sys.executable, "-c", spawning], env)
            runner, spawned = [], []
            for _ in range(runs):  # alternating, so a busy moment of the machine hits both
                runner.append(_run([sys.executable, "-c", in_process], env)[0])
                spawned.append(_run([sys.executable, "-c", spawning], env)[0])
            figures[f"{command}_dbt_runner_s"] = runner
            figures[f"{command}_subprocess_s"] = spawned
    finally:
        _drop(admin_url, warehouse, shop)
    return figures


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parses", type=int, default=5, help="parses per variant after the first")
    parser.add_argument("--runs", type=int, default=5, help="task runs per invocation mode")
    options, _ = parser.parse_known_args()  # scripts/bench.sh passes its arguments to every benchmark
    with tempfile.TemporaryDirectory(prefix="scrollintel-bench-transform-") as folder:
        tmp = Path(folder)
        parse = bench_parse(tmp, options.parses)
        print("parse time of transform_warehouse (DagBag per-file duration):")
        base = parse["dbt_manifest"]
        for key, label in (
            ("dbt_manifest", "LoadMode.DBT_MANIFEST (shipped)"),
            ("dbt_ls_cached", "LoadMode.DBT_LS, cosmos cache (Variable)"),
            ("dbt_ls_no_cache", "LoadMode.DBT_LS, no cache"),
        ):
            row = parse[key]
            print(
                f"  {label:42} first {row['first'] * 1000:7.0f} ms   again {row['again'] * 1000:7.0f} ms"
                f"   x{row['again'] / base['again']:5.1f}   {row['tasks']} tasks"
            )
        print(
            f"manifest build (dbt parse): cold {parse['manifest_build_cold_s']:.1f} s, "
            f"with partial parse {parse['manifest_build_partial_s']:.1f} s"
        )
        admin_url = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
        if not admin_url:
            print("execution: skipped (SCROLLINTEL_TEST_DATABASE_URL is not set; make bench sets it)")
            return
        run = bench_execution(admin_url, tmp, options.runs)
        print("one dbt command in a new task process (stg_shop__customers, median):")
        for command in ("run", "test"):
            runner, spawn = run[f"{command}_dbt_runner_s"], run[f"{command}_subprocess_s"]
            print(
                f"  dbt {command:4}  InvocationMode.DBT_RUNNER {statistics.median(runner):5.2f} s   "
                f"InvocationMode.SUBPROCESS {statistics.median(spawn):5.2f} s   "
                f"x{statistics.median(spawn) / statistics.median(runner):4.2f}   "
                f"(runs: {_seconds(runner)} / {_seconds(spawn)})"
            )


if __name__ == "__main__":
    main()
