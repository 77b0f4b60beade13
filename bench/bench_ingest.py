"""Ingestion benchmark: our loader against a raw COPY pipe, pandas.to_sql and dlt, in one run.

Source: a PostgreSQL table of N rows x 10 columns (default 2,000,000; bigint, numeric, integer,
text, timestamptz, boolean, double precision) with a primary key and an index on the cursor
column ``updated_at``, in its own database on the same server as the warehouse.

Figures (each loader run happens in a child process, which reports its own wall time for the
load and its peak RSS from ``resource.getrusage``):

- baseline: raw binary ``COPY ... TO STDOUT`` piped into ``COPY ... FROM STDIN`` between the two
  databases, into a table with the same types and primary key (the reference), and into one
  without any index (a lower bound);
- loader, full load: the first load of the table (``raw.bench__bench``);
- loader, merge of all rows changed: every source row updated (value and cursor), then the
  incremental load (staged COPY, then the large-batch join: the note says how it was applied);
- loader, rerun without changes: incremental (reads the rows at the last cursor only) and as a
  full refresh (reads and compares all rows, writes none);
- pandas.to_sql (10,000-row chunks) and dlt (``sql_table``, pyarrow backend, postgres
  destination): measured at ``--baseline-rows`` rows (default 250,000) and their rate applied
  to N, which the output says; ``--full-baselines`` runs them at N;
- peak RSS of a full load at N and at ``--big-rows`` rows (default 10,000,000);
- files: the same N rows as one Parquet and one CSV file through the files connector (full
  load, all rows changed in a new version of the file, rerun without new files), against a
  raw ``COPY`` of the CSV file into a typed table with a primary key;
- wide: a type-rich table of ``--wide-rows`` rows (default 300,000) x 46 columns (~2.5 KB of
  text per row, json and jsonb, arrays, an enum, ranges, geometric, network and bit types,
  money), its first load against a raw binary ``COPY`` pipe of the same table into a
  same-typed table with a primary key (``--wide-only`` runs this case alone).

Timed cases run ``--repeat`` times (default 3) and the best time counts, for the baselines and
for our loader alike: each loader trial starts from an empty warehouse (full load), then changes
every row and merges, so the merge/full-load ratio compares two best-of-N figures of one run.

Run: ``make bench`` / ``scripts/bench.sh`` (throwaway PostgreSQL), or with
``SCROLLINTEL_TEST_DATABASE_URL`` set to a superuser URL. ``--rows 200000 --big-rows 0`` is a
quick look. The machine is shared: ratios within one run are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg

from scrollintel import db, migrate

COLUMNS = (
    ("id", "bigint"),
    ("customer_id", "bigint"),
    ("amount", "numeric(12,2)"),
    ("qty", "integer"),
    ("status", "text"),
    ("note", "text"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("active", "boolean"),
    ("score", "double precision"),
)
COLUMN_DDL = ", ".join(f"{name} {pg_type}" for name, pg_type in COLUMNS)
GENERATE = """
INSERT INTO {table}
SELECT g, (g * 7919) % 100000, (g % 100000) / 100.0, (g % 17)::integer,
       (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4], md5(g::text),
       timestamptz '2025-01-01' + g * interval '1 second', timestamptz '2025-06-01' + g * interval '1 second',
       g % 3 = 0, g / 3.0
FROM generate_series({start}::bigint, {stop}::bigint) g
"""
CHUNK_ROWS = 50_000

#: The wide, type-rich table: (name, type, value for row g).
WIDE_COLUMNS = (
    ("id", "bigint", "g"),
    ("updated_at", "timestamptz", "timestamptz '2025-06-01' + g * interval '1 second'"),
    ("created_at", "timestamptz", "timestamptz '2025-01-01 00:00+05:45' + g * interval '1 minute'"),
    ("customer_id", "bigint", "(g * 7919) % 100000"),
    ("qty", "integer", "(g % 17)::integer"),
    ("small", "smallint", "(g % 300)::smallint"),
    ("amount", "numeric(12,2)", "(g % 100000) / 100.0"),
    ("big", "numeric", "CASE WHEN g % 1000 = 0 THEN 'NaN'::numeric ELSE g * 1234567.000001 END"),
    ("pct", "numeric(5,2)", "(g % 10000) / 100.0"),
    ("ratio", "double precision", "g / 3.0"),
    ("score", "real", "(g % 1000) / 7.0"),
    ("active", "boolean", "g % 3 = 0"),
    ("day", "date", "date '2020-01-01' + (g % 3000)::integer"),
    ("at_local", "timestamp", "timestamp '2025-01-01' + g * interval '1 second'"),
    ("clock", "time", "time '00:00' + g * interval '1 second'"),
    ("clock_tz", "time with time zone", "(time '00:00' + g * interval '1 second')::timetz"),
    ("span", "interval", "g * interval '1 minute'"),
    ("uid", "uuid", "md5(g::text)::uuid"),
    ("code", "char(3)", "lpad((g % 1000)::text, 3, '0')"),
    ("label", "varchar(40)", "'label ' || g"),
    ("status", "bench_status", "(ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4]::bench_status"),
    ("title", "text", "'Title, \"quoted\" ' || g"),
    ("body", "text", "repeat(md5(g::text) || md5((g + 1)::text), 32)"),
    ("notes", "text", "repeat(md5((g * 3)::text), 12)"),
    ("payload", "json", "json_build_object('id', g, 'tags', json_build_array('a', g % 7), 'note', md5(g::text))"),
    ("attrs", "jsonb", "jsonb_build_object('k', g % 10, 'v', md5(g::text), 'n', jsonb_build_array(g, null))"),
    ("tags", "text[]", "ARRAY['t' || g % 5, 't' || g % 7, md5(g::text)]"),
    ("counts", "integer[]", "ARRAY[g % 10, g % 100, NULL, g % 1000]::integer[]"),
    ("grid", "integer[]", "ARRAY[[g % 2, g % 3], [g % 5, g % 7]]::integer[]"),
    ("ip", "inet", "('10.' || g % 256 || '.' || (g / 256) % 256 || '.1')::inet"),
    ("net", "cidr", "'192.168.0.0/16'::cidr"),
    ("mac", "macaddr", "('08:00:2b:' || lpad(to_hex(g % 256), 2, '0') || ':00:01')::macaddr"),
    ("blob", "bytea", "decode(md5(g::text) || md5((g + 7)::text), 'hex')"),
    ("flags", "bit(8)", "(g % 256)::bit(8)"),
    ("vflags", "bit varying(16)", "(g % 4096)::bit(12)::varbit"),
    ("lsn", "pg_lsn", "('0/' || to_hex(g))::pg_lsn"),
    ("doc", "tsvector", "to_tsvector('simple', 'order ' || g || ' item ' || g % 13)"),
    ("valid_during", "tstzrange", "tstzrange(timestamptz '2025-01-01' + g * interval '1 hour', NULL)"),
    ("ids", "int4range", "int4range((g % 1000)::integer, (g % 1000)::integer + 10)"),
    ("pos", "point", "point(g / 10.0, -g / 7.0)"),
    ("area", "box", "box(point(0, 0), point(g % 100, g % 50))"),
    ("price", "money", "((g % 100000) / 100.0)::numeric::money"),
    ("hits", "bigint", "g * 31"),
    ("extra_a", "text", "md5((g * 5)::text)"),
    ("extra_b", "text", "CASE WHEN g % 4 = 0 THEN NULL ELSE 'b' || g END"),
    ("extra_c", "text", "E'line one\\nline two, ' || g"),
)
WIDE_DDL = ", ".join(f"{name} {pg_type}" for name, pg_type, _ in WIDE_COLUMNS)
WIDE_TYPES = "CREATE TYPE bench_status AS ENUM ('new', 'paid', 'shipped', 'cancelled')"


def plain(url: str) -> str:
    return url.replace(db.DRIVER, "postgresql")


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(plain(url), **kwargs)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- child process


def _source_config(kind: str, folder: str | None) -> Any:
    from scrollintel.config.sources import FilesSource, PostgresSource

    common = {
        "owner": "data-platform",
        "schedule": None,
        "retention_class": "operational",
        "schema_policy": "evolve",
    }
    if kind.startswith("pg"):
        cursor = None if kind == "pg-full" else "updated_at"
        return PostgresSource.model_validate(
            {
                "name": "bench",
                "type": "postgres",
                "connection_id": "postgres_bench",
                "schema": "public",
                "tables": [{"name": "bench", "primary_key": ["id"], "cursor": cursor}],
                **common,
            }
        )
    fmt = kind.split("-", 1)[1]
    return FilesSource.model_validate(
        {
            "name": f"bench{fmt}",
            "type": "files",
            "connection_id": "fs_bench",
            "files": [
                {"name": "bench", "path": f"{fmt}/*.{fmt}", "format": fmt, "storage": "local", "primary_key": ["id"]}
            ],
            **common,
        }
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    ``VmHWM`` on Linux: ``getrusage``'s ``ru_maxrss`` survives ``execve`` and would count the
    parent's memory at fork time (the benchmark's own process, with pandas and dlt loaded).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for text in status.read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One load, measured from inside: prints JSON {seconds, rss_mb, counts}."""
    from scrollintel.ingest.connectors import connector_for
    from scrollintel.ingest.loader import load_resource
    from scrollintel.ingest.spec import ResourceSpec

    source = _source_config(args.child, args.files_dir)
    if args.child.startswith("pg"):
        conn: Any = db.with_database(args.source_url, args.source_db)
        if args.table != "bench":
            source.tables[0] = source.tables[0].model_copy(update={"name": args.table})
    else:  # the files connector reads extra.path and conn_id: no Airflow import needed to measure RSS
        conn = SimpleNamespace(conn_id="fs_bench", extra_dejson={"path": args.files_dir})
    connector = connector_for(source, conn)
    spec = ResourceSpec.from_config(source, source.resources[0].name)
    started = time.perf_counter()
    result = load_resource(connector, spec, args.warehouse_url, run_id=args.run_id, chunk_rows=CHUNK_ROWS, audit=False)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": peak_rss_mb(),
                "mode": result.mode,
                "path": result.path,
                "how": result.path if result.applied_by is None else f"{result.path}, {result.applied_by}",
                "source_rows": result.source_rows,
                "written": result.written_rows,
                "unchanged": result.unchanged_rows,
                "quarantined": result.quarantined_rows,
                "statistics_taken": result.statistics_taken,
            }
        )
    )


def run_child(kind: str, ctx: Context, *, table: str = "bench", run_id: str = "bench") -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--source-url",
        ctx.admin,
        "--source-db",
        ctx.source_db,
        "--warehouse-url",
        ctx.warehouse,
        "--files-dir",
        str(ctx.files_dir),
        "--table",
        table,
        "--run-id",
        run_id,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child load {kind} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- setup


@dataclass
class Context:
    admin: str
    source_db: str
    source: str
    warehouse: str
    dst: str
    files_dir: Path


def create_database(admin: str, name: str) -> str:
    with connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return db.with_database(admin, name)


def drop_database(admin: str, name: str) -> None:
    with connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_table(url: str, table: str, rows: int) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({COLUMN_DDL})")
        step = 1_000_000
        for start in range(1, rows + 1, step):
            conn.execute(GENERATE.format(table=table, start=start, stop=min(rows, start + step - 1)))
        conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        conn.execute(f"CREATE INDEX ON {table} (updated_at)")
    at_rest(url, table)


def at_rest(url: str, table: str) -> None:
    """The table as a source at rest is: vacuumed and analyzed after its writes were counted.

    In a session of its own: a session's row counts reach the statistics system when it ends, so
    an ANALYZE in the inserting session would leave the table looking changed since (the first
    load would then sample its rows instead of taking the source's statistics).
    """
    with connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {table}")


def make_wide_table(url: str, rows: int) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS wide")
        conn.execute("DROP TYPE IF EXISTS bench_status")
        conn.execute(WIDE_TYPES)
        conn.execute(f"CREATE TABLE wide ({WIDE_DDL})")
        values = ", ".join(value for _, _, value in WIDE_COLUMNS)
        step = 200_000
        for start in range(1, rows + 1, step):
            stop = min(rows, start + step - 1)
            conn.execute(f"INSERT INTO wide SELECT {values} FROM generate_series({start}::bigint, {stop}::bigint) g")
        conn.execute("ALTER TABLE wide ADD PRIMARY KEY (id)")
        conn.execute("CREATE INDEX ON wide (updated_at)")
    at_rest(url, "wide")


def reset_warehouse(ctx: Context, table: str = "bench__bench") -> None:
    source, _, resource_name = table.partition("__")
    with connect(ctx.warehouse, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS raw.{table}")
        conn.execute(f"DROP TABLE IF EXISTS raw_quarantine.{table}")
        for name in ("ingest_cursor", "ingest_schema_version"):
            conn.execute(
                f"DELETE FROM governance.{name} WHERE source = %s AND resource = %s",
                (source, resource_name),
            )
        conn.execute("CHECKPOINT")


# --------------------------------------------------------------------------- baselines


def copy_pipe(ctx: Context, *, with_key: bool, table: str = "bench", ddl: str = COLUMN_DDL) -> float:
    """Raw binary COPY from the source table into a same-typed table of the baseline database.

    The baseline database has the source's enum (the wide table's) under the same name.
    """
    with connect(ctx.dst, autocommit=True) as dst:
        dst.execute("DROP TABLE IF EXISTS piped")
        if dst.execute("SELECT to_regtype('bench_status')").fetchone() == (None,):
            dst.execute(WIDE_TYPES)
        dst.execute(f"CREATE TABLE piped ({ddl}{', PRIMARY KEY (id)' if with_key else ''})")
        dst.execute("CHECKPOINT")
    started = time.perf_counter()
    with connect(ctx.source) as src, connect(ctx.dst) as dst:
        with (
            src.cursor().copy(f"COPY {table} TO STDOUT (FORMAT binary)") as out,
            dst.cursor().copy("COPY piped FROM STDIN (FORMAT binary)") as into,
        ):
            for data in out:
                into.write(data)
        dst.commit()
    return time.perf_counter() - started


def copy_csv_file(ctx: Context, path: Path) -> float:
    """Raw COPY of a CSV file (with header) into a same-typed table with a primary key."""
    with connect(ctx.dst, autocommit=True) as dst:
        dst.execute("DROP TABLE IF EXISTS from_file")
        dst.execute(f"CREATE TABLE from_file ({COLUMN_DDL}, PRIMARY KEY (id))")
        dst.execute("CHECKPOINT")
    started = time.perf_counter()
    with connect(ctx.dst) as dst, path.open("rb") as handle:
        with dst.cursor().copy("COPY from_file FROM STDIN (FORMAT csv, HEADER)") as into:
            while block := handle.read(1 << 20):
                into.write(block)
        dst.commit()
    return time.perf_counter() - started


def pandas_to_sql(ctx: Context, table: str) -> float:
    import pandas as pd

    from scrollintel.db import make_engine

    source, target = make_engine(ctx.source), make_engine(ctx.dst)
    with connect(ctx.dst, autocommit=True) as dst:
        dst.execute("DROP TABLE IF EXISTS pandas_copy")
    started = time.perf_counter()
    with source.connect() as conn:
        for frame in pd.read_sql(f"SELECT * FROM {table}", conn, chunksize=10_000):
            frame.to_sql("pandas_copy", target, if_exists="append", index=False, chunksize=10_000)
    seconds = time.perf_counter() - started
    source.dispose()
    target.dispose()
    return seconds


def dlt_load(ctx: Context, table: str, work: Path) -> float:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.sources.sql_database import sql_table

    with connect(ctx.dst, autocommit=True) as dst:
        dst.execute("DROP SCHEMA IF EXISTS dlt_bench CASCADE")
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{secrets.token_hex(3)}",
        pipelines_dir=str(work / "dlt"),
        destination=dlt.destinations.postgres(credentials=plain(ctx.dst)),
        dataset_name="dlt_bench",
    )
    started = time.perf_counter()
    pipeline.run(sql_table(credentials=plain(ctx.source), table=table, backend="pyarrow", chunk_size=CHUNK_ROWS))
    return time.perf_counter() - started


# --------------------------------------------------------------------------- files


def write_files(ctx: Context, version: int) -> tuple[Path, Path]:
    """The source table as ``csv/bench.csv`` and ``parquet/bench.parquet`` (amount shifted per version)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_dir, parquet_dir = ctx.files_dir / "csv", ctx.files_dir / "parquet"
    for folder in (csv_dir, parquet_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    csv_path, parquet_path = csv_dir / "bench.csv", parquet_dir / "bench.parquet"
    select = ", ".join(f"amount + {version} AS amount" if name == "amount" else name for name, _ in COLUMNS)
    statement = f"COPY (SELECT {select} FROM bench ORDER BY id) TO STDOUT (FORMAT csv, HEADER)"
    with connect(ctx.source) as conn, csv_path.open("wb") as handle, conn.cursor().copy(statement) as out:
        for data in out:
            handle.write(data)
    types = {
        "id": pa.int64(),
        "customer_id": pa.int64(),
        "amount": pa.decimal128(12, 2),
        "qty": pa.int32(),
        "status": pa.string(),
        "note": pa.string(),
        "created_at": pa.timestamp("us", tz="UTC"),
        "updated_at": pa.timestamp("us", tz="UTC"),
        "active": pa.bool_(),
        "score": pa.float64(),
    }
    options = pacsv.ConvertOptions(column_types=types, true_values=["t"], false_values=["f"])
    with pacsv.open_csv(csv_path, convert_options=options) as reader:
        writer: pq.ParquetWriter | None = None
        for batch in reader:
            if writer is None:
                writer = pq.ParquetWriter(parquet_path, batch.schema)
            writer.write_batch(batch)
        if writer is not None:
            writer.close()
    return csv_path, parquet_path


# --------------------------------------------------------------------------- report

ROWS_FMT = "{:>11,}"


@dataclass
class Row:
    case: str
    rows: int
    seconds: float
    note: str = ""
    rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def fastest(case: str, rows: int, trials: list[dict[str, Any]], note: str, best: str) -> Row:
    """The fastest of a loader's ``trials`` (child reports) as a row: its ``note`` field, the peak RSS of all."""
    top = min(trials, key=lambda trial: trial["seconds"])
    rss = max(trial["rss_mb"] for trial in trials)
    return Row(case, rows, top["seconds"], ", ".join(filter(None, (top[note], best))), rss)


def table(rows: list[Row], baseline: Row) -> None:
    print(f"{'case':<58} {'rows':>11} {'seconds':>8} {'rows/s':>10} {'vs raw COPY':>11} {'RSS MB':>7}  note")
    print("-" * 130)
    for row in rows:
        ratio = row.rate / baseline.rate if baseline.rate else 0.0
        rss = f"{row.rss_mb:7.0f}" if row.rss_mb is not None else f"{'':7}"
        print(
            f"{row.case:<58} {ROWS_FMT.format(row.rows)} {row.seconds:8.2f} {row.rate:10,.0f} {ratio:10.2f}x {rss}  "
            f"{row.note}"
        )


def verdict(label: str, value: float, goal: str, met: bool) -> None:
    print(f"  {label:<58} {value:8.2f}   goal {goal:<10} {'met' if met else 'NOT MET'}")


def wide_case(ctx: Context, rows: int, repeat: int) -> tuple[Row, Row]:
    """The wide, type-rich table: the raw binary COPY pipe (reference) and the loader's first load."""
    print(f"generating the wide table ({rows:,} rows x {len(WIDE_COLUMNS)} columns) ...", flush=True)
    make_wide_table(ctx.source, rows)
    size = connect(ctx.source).execute("SELECT pg_size_pretty(pg_table_size('wide'))").fetchone()[0]  # type: ignore[index]
    print(f"wide table: {size} (heap + toast, without indexes)", flush=True)
    best = f"best of {repeat}" if repeat > 1 else ""
    pipes: list[float] = []
    fulls: list[dict[str, Any]] = []
    for trial in range(repeat):  # a pipe then a load per trial: both see the machine's load of the moment
        print(f"wide trial {trial + 1}/{repeat}: raw COPY pipe, then the loader's full load ...", flush=True)
        pipes.append(copy_pipe(ctx, with_key=True, table="wide", ddl=WIDE_DDL))
        reset_warehouse(ctx, "bench__wide")
        fulls.append(run_child("pg", ctx, table="wide", run_id=f"wide-{trial}"))
        print(
            f"  raw COPY pipe {pipes[-1]:.2f} s, loader {fulls[-1]['seconds']:.2f} s ({fulls[-1]['path']}, "
            f"statistics of {fulls[-1]['statistics_taken']} column(s) taken from the source): "
            f"{pipes[-1] / fulls[-1]['seconds']:.2f}x; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    ratios = sorted(pipe_s / full["seconds"] for pipe_s, full in zip(pipes, fulls, strict=True))
    print(f"  wide trials: median of the {repeat} same-trial ratios {statistics.median(ratios):.2f}x", flush=True)
    pipe = Row("raw binary COPY pipe -> table with primary key (reference)", rows, min(pipes), best)
    return pipe, fastest("loader: wide table, full load", rows, fulls, "path", best)


def wide_verdict(pipe: Row, full: Row) -> None:
    ratio = pipe.seconds / full.seconds
    verdict("wide table: full load speed / raw COPY (with key)", ratio, ">= 0.8x", ratio >= 0.8)


def main() -> None:  # noqa: PLR0912, PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="RSS check at this size; 0 skips it")
    parser.add_argument("--baseline-rows", type=int, default=250_000, help="pandas and dlt run at this size")
    parser.add_argument("--full-baselines", action="store_true", help="run pandas and dlt at --rows")
    parser.add_argument("--skip-files", action="store_true")
    parser.add_argument("--wide-rows", type=int, default=300_000, help="rows of the wide table; 0 skips it")
    parser.add_argument("--wide-only", action="store_true", help="run the wide table's case alone")
    parser.add_argument(
        "--repeat", type=int, default=3, help="best of N for the raw COPY baselines, the full loads and the merges"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    for hidden in ("--source-url", "--source-db", "--warehouse-url", "--files-dir", "--table", "--run-id"):
        parser.add_argument(hidden, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL to a superuser URL, or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    work = Path(tempfile.mkdtemp(prefix="scrollintel-bench-ingest-"))
    tag = secrets.token_hex(3)
    names = {"source": f"bench_src_{tag}", "warehouse": f"bench_wh_{tag}", "dst": f"bench_dst_{tag}"}
    n = args.rows
    try:
        ctx = Context(
            admin=admin,
            source_db=names["source"],
            source=create_database(admin, names["source"]),
            warehouse=create_database(admin, names["warehouse"]),
            dst=create_database(admin, names["dst"]),
            files_dir=work / "files",
        )
        migrate.upgrade(ctx.warehouse)
        with connect(admin) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        print(
            f"ingestion benchmark: {n:,} rows x {len(COLUMNS)} columns; PostgreSQL {version}; "
            f"{os.cpu_count()} CPU(s); Python {platform.python_version()}"
        )
        wide: tuple[Row, Row] | None = None
        if args.wide_rows:
            wide = wide_case(ctx, args.wide_rows, args.repeat)
        if args.wide_only:
            if wide is None:
                raise SystemExit("--wide-only needs --wide-rows > 0")
            print()
            table(list(wide), wide[0])
            wide_verdict(*wide)
            return
        print(f"generating the source table ({n:,} rows) ...", flush=True)
        make_table(ctx.source, "bench", n)
        size = connect(ctx.source).execute("SELECT pg_size_pretty(pg_table_size('bench'))").fetchone()[0]  # type: ignore[index]
        print(f"source table: {size} (heap + toast, without indexes)\n", flush=True)

        rows: list[Row] = []
        best = f"best of {args.repeat}" if args.repeat > 1 else ""
        copy_key = Row(
            "raw binary COPY pipe -> table with primary key (reference)",
            n,
            min(copy_pipe(ctx, with_key=True) for _ in range(args.repeat)),
            best,
        )
        copy_bare = Row(
            "raw binary COPY pipe -> table without indexes",
            n,
            min(copy_pipe(ctx, with_key=False) for _ in range(args.repeat)),
            best,
        )
        rows += [copy_key, copy_bare]

        # each trial: the first load of the table, then every source row changed and merged
        fulls: list[dict[str, Any]] = []
        merges: list[dict[str, Any]] = []
        for trial in range(args.repeat):
            print(f"loader trial {trial + 1}/{args.repeat}: full load, then all rows changed ...", flush=True)
            reset_warehouse(ctx)
            fulls.append(run_child("pg", ctx, run_id=f"full-{trial}"))
            with connect(ctx.source, autocommit=True) as conn:
                # every cursor value moved past the greatest one, by the span of the values and no more:
                # the loader holds its cursor at the source's clock, so rows stamped ahead of it (a year
                # per trial was) would all be read again by the no-change rerun below
                conn.execute(
                    "UPDATE bench SET amount = amount + 1, updated_at = updated_at "
                    "+ (SELECT max(updated_at) - min(updated_at) FROM bench) + interval '1 second'"
                )
            at_rest(ctx.source, "bench")
            with connect(ctx.warehouse, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
            merges.append(run_child("pg", ctx, run_id=f"merge-{trial}"))
            assert merges[-1]["written"] == n, merges[-1]
        full_row = fastest("loader: full load (first load, COPY straight in)", n, fulls, "path", best)
        merge_row = fastest("loader: incremental merge, all rows changed", n, merges, "how", best)
        rows += [full_row, merge_row]
        rerun = run_child("pg", ctx, run_id="rerun")
        rerun_row = Row(
            "loader: rerun, no changes (incremental)", n, rerun["seconds"], f"read {rerun['source_rows']} row(s)"
        )
        rows.append(rerun_row)
        refresh = run_child("pg-full", ctx, run_id="refresh")
        refresh_row = Row(
            "loader: rerun, no changes (as a full refresh)",
            n,
            refresh["seconds"],
            f"read {refresh['source_rows']:,}, wrote {refresh['written']}",
        )
        rows.append(refresh_row)

        small = n if args.full_baselines else min(n, args.baseline_rows)
        scale_note = "" if small == n else f"measured at {small:,} rows, rate applied to {n:,}"
        if small != n:
            with connect(ctx.source, autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS bench_small")
                conn.execute(f"CREATE TABLE bench_small AS SELECT * FROM bench ORDER BY id LIMIT {small}")
                conn.execute("ALTER TABLE bench_small ADD PRIMARY KEY (id)")
        baseline_table = "bench" if small == n else "bench_small"
        pandas_seconds = pandas_to_sql(ctx, baseline_table) * n / small
        rows.append(Row("pandas.to_sql (10k-row chunks)", n, pandas_seconds, scale_note))
        dlt_seconds = dlt_load(ctx, baseline_table, work) * n / small
        rows.append(Row("dlt (sql_table, pyarrow backend -> postgres)", n, dlt_seconds, scale_note))

        big: dict[str, Any] | None = None
        if args.big_rows:
            print(f"generating {args.big_rows:,} rows for the memory check ...", flush=True)
            make_table(ctx.source, "bench_big", args.big_rows)
            reset_warehouse(ctx, "bench__bench_big")
            big = run_child("pg", ctx, table="bench_big", run_id="big")
            rows.append(Row("loader: full load, memory check", args.big_rows, big["seconds"], "", big["rss_mb"]))
            with connect(ctx.source, autocommit=True) as conn:
                conn.execute("DROP TABLE bench_big")

        file_rows: list[Row] = []
        csv_copy: Row | None = None
        if not args.skip_files:
            csv_path, _ = write_files(ctx, 0)
            csv_copy = Row(
                "raw COPY of the CSV file -> table with primary key (reference)",
                n,
                min(copy_csv_file(ctx, csv_path) for _ in range(args.repeat)),
                best,
            )
            file_rows.append(csv_copy)
            for fmt in ("parquet", "csv"):
                fulls, merges = [], []
                for trial in range(args.repeat):
                    print(f"{fmt} trial {trial + 1}/{args.repeat}: full load, then a new version ...", flush=True)
                    write_files(ctx, 0)
                    reset_warehouse(ctx, f"bench{fmt}__bench")
                    fulls.append(run_child(f"files-{fmt}", ctx, run_id=f"{fmt}-full-{trial}"))
                    write_files(ctx, 1)  # a new version of the file: every row changed
                    merges.append(run_child(f"files-{fmt}", ctx, run_id=f"{fmt}-merge-{trial}"))
                file_rows.append(fastest(f"loader: {fmt} file, full load", n, fulls, "path", best))
                file_rows.append(fastest(f"loader: {fmt} file, new version, all rows changed", n, merges, "how", best))
                same = run_child(f"files-{fmt}", ctx, run_id=f"{fmt}-rerun")
                file_rows.append(
                    Row(
                        f"loader: {fmt} file, rerun, no new file",
                        n,
                        same["seconds"],
                        f"read {same['source_rows']} row(s)",
                    )
                )

        print()
        table(rows, copy_key)
        if file_rows and csv_copy is not None:
            print()
            table(file_rows, csv_copy)
        print("\nGoals (this run):")
        verdict(
            "full load speed / raw COPY (with key)",
            copy_key.seconds / full_row.seconds,
            ">= 0.8x",
            copy_key.seconds / full_row.seconds >= 0.8,
        )
        verdict("full load speed / raw COPY (no index)", copy_bare.seconds / full_row.seconds, "(info)", True)
        verdict(
            "full load speed / pandas.to_sql",
            pandas_seconds / full_row.seconds,
            ">= 10x",
            pandas_seconds / full_row.seconds >= 10,
        )
        verdict("full load speed / dlt", dlt_seconds / full_row.seconds, ">= 3x", dlt_seconds / full_row.seconds >= 3)
        verdict(
            "merge all changed time / full load time",
            merge_row.seconds / full_row.seconds,
            "<= 2x",
            merge_row.seconds / full_row.seconds <= 2,
        )
        verdict(
            "no-change rerun time / full load time",
            rerun_row.seconds / full_row.seconds,
            "<= 0.1x",
            rerun_row.seconds / full_row.seconds <= 0.1,
        )
        verdict(
            "no-change full refresh time / full load time (info)",
            refresh_row.seconds / full_row.seconds,
            "(info)",
            True,
        )
        peak = max(value or 0 for value in (full_row.rss_mb, merge_row.rss_mb, big["rss_mb"] if big else 0))
        verdict(f"peak loader RSS MB ({n:,}{f' and {args.big_rows:,}' if big else ''} rows)", peak, "< 300", peak < 300)
        if file_rows and csv_copy is not None:
            for fmt in ("parquet", "csv"):
                first_row = next(r for r in file_rows if r.case == f"loader: {fmt} file, full load")
                changed_row = next(r for r in file_rows if r.case.startswith(f"loader: {fmt} file, new version"))
                ratio = csv_copy.seconds / first_row.seconds
                verdict(f"{fmt}: full load speed / raw CSV COPY", ratio, ">= 0.8x", ratio >= 0.8)
                verdict(
                    f"{fmt}: all changed time / full load time",
                    changed_row.seconds / first_row.seconds,
                    "<= 2x",
                    changed_row.seconds / first_row.seconds <= 2,
                )
                verdict(
                    f"{fmt}: peak RSS MB",
                    max(first_row.rss_mb or 0, changed_row.rss_mb or 0),
                    "< 300",
                    max(first_row.rss_mb or 0, changed_row.rss_mb or 0) < 300,
                )
        if wide is not None:
            print()
            table(list(wide), wide[0])
            wide_verdict(*wide)
        if small != n:
            print(
                f"\npandas.to_sql and dlt were measured at {small:,} rows; their times above are extrapolated to {n:,}."
            )
    finally:
        for name in names.values():
            drop_database(admin, name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
