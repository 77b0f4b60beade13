"""Cost rollup benchmark: 90 days x 200 DAGs x 20 tasks of task tries priced, attributed and written.

A migrated warehouse gets, by SQL, ``--days`` x ``--dags`` x ``--tasks`` task tries in
``governance.cost_task_runs`` (durations of 1 s to 1 h, three queues, DAG owners spread over the
teams of governance/teams.yaml) and a lineage store in which each task writes 0 to 3 datasets
(so costs are split over datasets, and some stay with none). Measured in one run:

- **rollup**: :func:`scrollintel.cost.rollup.rollup_range` over the whole period (a backfill: rates,
  owners and lineage outputs read once, then per day: read the day's tries, price by the queue
  rates, split over written datasets (Decimal, 6 places, exact sums), delete + COPY the day's facts
  in one transaction), and :func:`~scrollintel.cost.rollup.rollup_day` once per day, as the daily
  ``cost_rollup`` runs do (everything read again each day);
- **pandas groupby** (baseline): the same facts through pandas: one read of all tries and the
  outputs, price per queue, explode over written datasets, ``groupby`` day x DAG x task try x
  team x dataset, written with COPY into a scratch table of the same columns.

Both must give the same total. Goal: the rollup of the whole period < 60 s on 2 cores.
Run: ``SCROLLINTEL_TEST_DATABASE_URL=<superuser URL> python bench/bench_cost_rollup.py`` (or
``scripts/bench.sh``); ``--days 10`` for a quick look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import secrets
import time
from decimal import Decimal

import psycopg

from scrollintel import db, migrate
from scrollintel.config import load_governance
from scrollintel.cost import rollup
from scrollintel.warehouse import warehouse_namespace

GOAL_S = 60.0
END = dt.date(2026, 11, 30)

FILL_RUNS = """
INSERT INTO governance.cost_task_runs
  (dag_id, run_id, task_id, map_index, try_number, start_date, end_date, duration_s, state, pool, queue,
   executor, owner)
SELECT 'dag_' || d, 'scheduled__' || day::date, 'task_' || t, -1, 1,
       day + make_interval(mins => t), day + make_interval(mins => t) + make_interval(secs => dur),
       dur, 'success', 'default_pool', (ARRAY['default', 'default', 'default', 'ml', 'gpu'])[1 + (d + t) %% 5],
       'LocalExecutor', (%(teams)s::text[])[1 + d %% cardinality(%(teams)s::text[])]
FROM generate_series(%(first)s::timestamptz, %(last)s::timestamptz, interval '1 day') AS day,
     generate_series(1, %(dags)s) AS d, generate_series(1, %(tasks)s) AS t,
     LATERAL (SELECT 1 + floor(random() * 3600)::float8 + (d * 0) AS dur) AS r
"""

FILL_LINEAGE = [
    "INSERT INTO governance.lineage_namespace (name, created_at, updated_at) "
    "VALUES (%(ns)s, now(), now()), ('airflow', now(), now())",
    "INSERT INTO governance.lineage_job (id, namespace, name, created_at, updated_at) "
    "SELECT md5('job' || d || '.' || t)::uuid, 'airflow', 'dag_' || d || '.task_' || t, now(), now() "
    "FROM generate_series(1, %(dags)s) AS d, generate_series(1, %(tasks)s) AS t",
    "INSERT INTO governance.lineage_dataset (id, namespace, name, created_at, updated_at) "
    "SELECT md5('ds' || d || '.' || t || '.' || k)::uuid, %(ns)s, "
    "'warehouse.marts.t_' || d || '_' || t || '_' || k, now(), now() "
    "FROM generate_series(1, %(dags)s) AS d, generate_series(1, %(tasks)s) AS t, "
    "generate_series(1, (d + t) %% 4) AS k",
    "INSERT INTO governance.lineage_job_output (dataset_id, job_id, first_seen_at, last_seen_at) "
    "SELECT md5('ds' || d || '.' || t || '.' || k)::uuid, md5('job' || d || '.' || t)::uuid, now(), now() "
    "FROM generate_series(1, %(dags)s) AS d, generate_series(1, %(tasks)s) AS t, "
    "generate_series(1, (d + t) %% 4) AS k",
]


def plain(url: str) -> str:
    return url.replace(db.DRIVER, "postgresql")


def line(metric: str, value: str, baseline: str = "", ratio: str = "", goal: str = "") -> None:
    print(f"{metric:<44} {value:>12}   {baseline:<30} {ratio:>8}   {goal}")


def pandas_rollup(url: str, first: dt.date, last: dt.date) -> tuple[float, Decimal, int]:
    """The same facts through pandas: read, price, explode over outputs, groupby, COPY."""
    import pandas as pd

    governance = load_governance()
    rates = governance.budgets.rates
    assert rates is not None
    started = time.perf_counter()
    with psycopg.connect(plain(url)) as conn:
        cur = conn.execute(
            "SELECT dag_id, run_id, task_id, map_index, try_number, end_date, duration_s, queue, owner "
            "FROM governance.cost_task_runs WHERE end_date >= %s AND end_date < %s",
            (first, last + dt.timedelta(days=1)),
        )
        tries = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description or []])
        cur = conn.execute(
            "SELECT split_part(j.name, '.', 1) AS dag_id, split_part(j.name, '.', 2) AS task_id, "
            "split_part(d.name, '.', 2) || '.' || split_part(d.name, '.', 3) AS dataset "
            "FROM governance.lineage_job_output o JOIN governance.lineage_job j ON j.id = o.job_id "
            "JOIN governance.lineage_dataset d ON d.id = o.dataset_id"
        )
        outputs = pd.DataFrame(cur.fetchall(), columns=["dag_id", "task_id", "dataset"])
    hourly = {queue: float(rates.hourly(queue)) for queue in tries["queue"].unique()}
    tries["day"] = pd.to_datetime(tries["end_date"], utc=True).dt.date
    tries["amount"] = (tries["duration_s"] / 3600.0 * tries["queue"].map(hourly)).round(6)
    tries["team"] = tries["owner"].where(tries["owner"].isin(governance.team_ids), governance.teams.owners.platform)
    facts = tries.merge(outputs, on=["dag_id", "task_id"], how="left")
    parts = facts.groupby(["dag_id", "run_id", "task_id", "map_index", "try_number"])["day"].transform("size")
    facts["share"] = 1.0 / parts
    facts["amount"] = (facts["amount"] / parts).round(6)
    keys = ["day", "dag_id", "run_id", "task_id", "map_index", "try_number", "team", "dataset"]
    grouped = facts.groupby(keys, dropna=False, sort=False).agg(amount=("amount", "sum"), share=("share", "first"))
    grouped = grouped.reset_index()
    buffer = io.StringIO()
    grouped.to_csv(buffer, index=False, header=False)
    with psycopg.connect(plain(url)) as conn:
        conn.execute(
            "CREATE TEMP TABLE bench_pandas_facts (day date, dag_id text, run_id text, task_id text, "
            "map_index int, try_number int, team text, dataset text, amount numeric(18, 6), share float8)"
        )
        with conn.cursor() as cur, cur.copy("COPY bench_pandas_facts FROM STDIN (FORMAT csv)") as stream:
            stream.write(buffer.getvalue())
    seconds = time.perf_counter() - started
    return seconds, Decimal(str(round(float(grouped["amount"].sum()), 2))), len(grouped)


def main() -> None:  # noqa: PLR0915 - one straight measurement script
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--dags", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (a superuser URL) or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    name = f"bench_cost_{secrets.token_hex(3)}"
    with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db.with_database(admin, name)
    first = END - dt.timedelta(days=args.days - 1)
    tries = args.days * args.dags * args.tasks
    try:
        print(
            f"cost rollup benchmark: PostgreSQL {version[0] if version else '?'}, Python "
            f"{platform.python_version()}, {os.cpu_count()} CPU(s); {args.days} days x {args.dags} DAGs x "
            f"{args.tasks} tasks = {tries:,} task tries\n",
            flush=True,
        )
        migrate.upgrade(url)
        teams = sorted(load_governance().team_ids)
        with psycopg.connect(plain(url), autocommit=True) as conn:
            conn.execute("SELECT setseed(0.18)")
            conn.execute(
                FILL_RUNS,
                {
                    "first": f"{first} 01:00+00",
                    "last": f"{END} 01:00+00",
                    "dags": args.dags,
                    "tasks": args.tasks,
                    "teams": teams,
                },
            )
            for statement in FILL_LINEAGE:
                conn.execute(statement, {"ns": warehouse_namespace(), "dags": args.dags, "tasks": args.tasks})
            conn.execute("ANALYZE")
        governance = load_governance()
        started = time.perf_counter()
        done = rollup.rollup_range(url, first, END, governance)
        seconds = time.perf_counter() - started
        total = sum((item.total for item in done), Decimal(0))
        facts = sum(sum(item.facts.values()) for item in done)
        started = time.perf_counter()
        daily_total = Decimal(0)
        slowest = 0.0
        for offset in range(args.days):
            day_started = time.perf_counter()
            daily_total += rollup.rollup_day(url, first + dt.timedelta(days=offset), governance).total
            slowest = max(slowest, time.perf_counter() - day_started)
        daily_seconds = time.perf_counter() - started
        base_seconds, base_total, base_rows = pandas_rollup(url, first, END)
        print(f"{'metric':<44} {'value':>12}   {'baseline (pandas groupby)':<30} {'ratio':>8}   goal")
        line(
            f"rollup of {args.days} days, one backfill (s)",
            f"{seconds:.1f}",
            f"{base_seconds:.1f}",
            f"{seconds / base_seconds:.2f}x",
            f"< {GOAL_S:.0f} s: {'met' if seconds < GOAL_S else 'NOT met'}",
        )
        line(
            f"rollup of {args.days} days, one run a day (s)",
            f"{daily_seconds:.1f}",
            f"{base_seconds:.1f}",
            f"{daily_seconds / base_seconds:.2f}x",
            f"same total: {'yes' if daily_total == total else 'NO'}",
        )
        line("facts written", f"{facts:,}", f"{base_rows:,}")
        line("task tries per second", f"{tries / seconds:,.0f}", f"{tries / base_seconds:,.0f}")
        line("slowest day (s)", f"{slowest:.2f}")
        difference = abs(round(total, 2) - base_total)
        verdict = (
            "equal" if difference == 0 else f"{'within' if difference <= Decimal('0.05') else 'OFF BY'} {difference}"
        )
        line("total (EUR, 2 places)", f"{total:,.2f}", f"{base_total:,.2f} (float sums)", "", verdict)
        # a rerun of one day replaces it: the same total
        again = rollup.rollup_day(url, END, governance)
        with psycopg.connect(plain(url)) as conn:
            stored = conn.execute("SELECT sum(amount) FROM governance.cost_facts").fetchone()
        line(
            "stored total after rerunning a day",
            f"{Decimal(stored[0] if stored else 0):,.2f}",
            "",
            "",
            f"rerun {again.total:,.2f}",
        )
    finally:
        with psycopg.connect(plain(db.with_database(admin, "postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
