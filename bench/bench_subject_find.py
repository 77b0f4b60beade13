"""Subject find: every copy of one customer (raw, quarantine, staging hashed, marts, scores) against a naive full scan.

**Data.** The demo shop at ``--scale`` (1 = 20,000 customers, 120,000 orders; 10 = 200,000 and
1.2M), generated and copied into ``raw.shop__*`` as ingestion leaves it (primary keys, the
ingestion classifier's stored classes), then the platform's own dbt project run on it: the shop's
staging views (masked by ``dbt/macros/masking.sql``, salt in ``masking.salt``) and the marts the
subject's rows reach (customers, orders, order items, the churn model's tables; see
:data:`DBT_SELECT`), with the indexes their YAML configures (``config: indexes`` on
``customer_id``). Added as the subject tests seed them: a score table, a table holding only
hashed e-mails, a quarantined row per 1,000 customers.

**Measured.** For ``--subjects`` random customers, looked up by e-mail:

- :func:`scrollintel.compliance.subjects.find` as ``scrollintel subject find`` runs it (catalogue,
  classification, resolution, one counted query per relation) on the warehouse as the platform
  builds it;
- the same after adding B-tree indexes on the raw tables' subject and linked key columns
  (:data:`RAW_INDEXES`), which ingestion does not create: what is left to gain there;
- the baseline: a naive scan comparing every column of every table and view of the four schemas,
  as text, with the subject's e-mail, id and hashed e-mail.

Both must find the same relations (checked). Goal: find < 2 s p50 at scale 10.

Run: ``make bench`` / ``scripts/bench.sh`` (throwaway PostgreSQL), or with
``SCROLLINTEL_TEST_DATABASE_URL`` set to a superuser URL.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.warehouse import Warehouse, classify, copy_arrow, failures  # noqa: E402

from scrollintel import db, migrate  # noqa: E402
from scrollintel.compliance import subjects  # noqa: E402

PRIMARY_KEYS = {
    "customers": "customer_id",
    "products": "product_id",
    "orders": "order_id",
    "order_items": "order_item_id",
    "payments": "payment_id",
    "subscriptions": "subscription_id",
    "subscription_events": "event_id",
}

#: The dbt models a customer's rows reach (with their staging views); run as the platform runs dbt.
DBT_SELECT = (
    "path:models/staging/shop",
    "customers",
    "orders",
    "order_items",
    "ml_churn_features",
    "ml_churn_current_features",
)

EXTRAS = """
CREATE TABLE marts.churn_scores AS SELECT customer_id, random() AS churn_probability FROM raw.shop__customers;
CREATE TABLE marts.crm_contacts AS SELECT email FROM staging.stg_shop__customers WHERE customer_id % 10 = 0;
"""

#: B-tree indexes on the raw tables' subject and linked keys: ingestion does not create them.
RAW_INDEXES = (
    "CREATE INDEX ON raw.shop__orders (customer_id)",
    "CREATE INDEX ON raw.shop__customers (email)",
    "CREATE INDEX ON raw.shop__order_items (order_id)",
    "CREATE INDEX ON raw.shop__payments (order_id)",
    "CREATE INDEX ON raw.shop__subscriptions (customer_id)",
    "CREATE INDEX ON raw.shop__subscription_events (customer_id)",
)


def build(url: str, scale: float, tmp: Path) -> tuple[str, float]:
    """Load and classify the raw tables, run the platform's dbt models; returns the masking salt and the seconds."""
    from scrollintel.demo.shop import generate_shop_tables
    from scrollintel.ingest import quarantine

    started = time.perf_counter()
    salt = secrets.token_hex(16)
    with psycopg.connect(db.libpq_url(url), autocommit=True) as conn:
        for resource, table in generate_shop_tables(scale=scale, seed=7).items():
            copy_arrow(conn, f"shop__{resource}", table)
            conn.execute(f'ALTER TABLE raw."shop__{resource}" ADD PRIMARY KEY ("{PRIMARY_KEYS[resource]}")')
            classify(conn, "shop", resource)
        conn.execute("ANALYZE")
    house = Warehouse(url=url, conninfo=db.libpq_url(url), role="", tmp=tmp, salt=salt)
    result = house.dbt("run", "--select", *DBT_SELECT)
    if not result.success:
        raise SystemExit("dbt run failed:\n" + "\n".join(failures(result)))
    with psycopg.connect(db.libpq_url(url), autocommit=True) as conn:
        conn.execute(EXTRAS)
        quarantine.ensure_table(conn, "shop__customers")
        conn.execute(
            "INSERT INTO raw_quarantine.shop__customers (run_id, batch_id, reason, raw_row, row_hash) "
            "SELECT 'b', 'b', 'bad', jsonb_build_object('customer_id', customer_id::text, 'email', email), "
            "md5(customer_id::text) FROM raw.shop__customers WHERE customer_id % 1000 = 0"
        )
        conn.execute("ANALYZE")
    return salt, time.perf_counter() - started


def naive(conn: psycopg.Connection[Any], values: list[str]) -> set[str]:
    """Every column of every relation compared as text, rows counted: the relations holding any of ``values``."""
    found: set[str] = set()
    for relation in subjects.catalogue(conn):
        columns = " OR ".join(f'CAST("{c}" AS text) = ANY(%(v)s)' for c in relation.columns)
        row = conn.execute(
            f'SELECT count(*) FROM "{relation.schema}"."{relation.name}" WHERE {columns}',  # type: ignore[arg-type]
            {"v": values},
        ).fetchone()
        if row and row[0]:
            found.add(relation.qualified)
    return found


def report(fast: list[float], indexed: list[float], slow: list[float]) -> None:
    """The figures, p50 and max of each method."""
    p50_fast, p50_slow, p50_indexed = statistics.median(fast), statistics.median(slow), statistics.median(indexed)
    print(f"{'method':<44} {'p50':>9} {'max':>9}")
    label = "subject find (as the platform builds it)"
    print(f"{label:<44} {p50_fast * 1000:>7.0f} ms {max(fast) * 1000:>7.0f} ms")
    label = "subject find, + raw key indexes"
    print(f"{label:<44} {p50_indexed * 1000:>7.0f} ms {max(indexed) * 1000:>7.0f} ms")
    print(f"{'naive scan of every column':<44} {p50_slow * 1000:>7.0f} ms {max(slow) * 1000:>7.0f} ms")
    print(
        f"ratio naive / find: {p50_slow / p50_fast:.1f}x ({p50_slow / p50_indexed:.0f}x with raw indexes); "
        "goal p50 < 2000 ms at scale 10"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SUBJECT_SCALE", "1")))
    parser.add_argument("--subjects", type=int, default=15)
    args, _ = parser.parse_known_args()
    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL (scripts/bench.sh starts a throwaway server)")
    name = f"bench_subject_{secrets.token_hex(3)}"
    server = db.normalise_url(admin)
    with psycopg.connect(db.libpq_url(db.with_database(server, "postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db.with_database(server, name)
    try:
        migrate.upgrade(url)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-subject-dbt-") as tmp:
            salt, seconds = build(url, args.scale, Path(tmp))
        with psycopg.connect(db.libpq_url(url), autocommit=True) as conn:
            customers = conn.execute("SELECT count(*) FROM raw.shop__customers").fetchone()[0]  # type: ignore[index]
            orders = conn.execute("SELECT count(*) FROM raw.shop__orders").fetchone()[0]  # type: ignore[index]
            print(f"scale {args.scale}: {customers:,} customers, {orders:,} orders; built in {seconds:.1f} s")
            picked = conn.execute("SELECT customer_id, email FROM raw.shop__customers").fetchall()
            random.seed(3)
            sample = random.sample(picked, min(args.subjects, len(picked)))
            pks = {("shop", r): (k,) for r, k in PRIMARY_KEYS.items()}
            fast: list[float] = []
            slow: list[float] = []
            for customer_id, email in sample:
                started = time.perf_counter()
                findings, _ = subjects.find(
                    conn, subjects.Identifiers.of(email=email), search=subjects.Search.prepare(conn, pks)
                )
                fast.append(time.perf_counter() - started)
                started = time.perf_counter()
                scanned = naive(conn, [email, str(customer_id), subjects.masked_hash(salt, email)])
                slow.append(time.perf_counter() - started)
                direct = {loc.target for loc in findings.locations if not loc.matched_by[0].endswith("(linked)")}
                assert direct <= scanned, sorted(direct ^ scanned)
            indexed = []
            with psycopg.connect(db.libpq_url(url), autocommit=True) as other:
                for statement in RAW_INDEXES:
                    other.execute(statement)  # type: ignore[arg-type]
                other.execute("ANALYZE")
            for _customer_id, email in sample:
                started = time.perf_counter()
                subjects.find(conn, subjects.Identifiers.of(email=email), search=subjects.Search.prepare(conn, pks))
                indexed.append(time.perf_counter() - started)
        report(fast, indexed, slow)
    finally:
        with psycopg.connect(db.libpq_url(db.with_database(server, "postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
