"""A warehouse for the dbt, quality and transform tests: raw tables filled from the seeded demo sources, classified.

The raw tables have the shape ingestion gives them (``raw.<source>__<resource>``: the source's
columns plus ``_loaded_at`` and ``_run_id``) and are filled straight from the demo generators
(same seed, small scale) with ``COPY``; the PII classification is the ingestion's own
(:func:`scrollintel.ingest.classify.classify_table`), stored in
``governance.column_classification`` by the real migrations.

dbt runs as the platform does: as a runtime role with only what the migrations grant it
(0006: staging, marts, masking.salt) and owning the raw tables, as ingestion leaves them. Set-up
and assertions use the server's superuser.

The fixtures that build it once per session are in ``tests/integration/conftest.py``; this
module holds what the tests import.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.db import DRIVER

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
SCALE = 0.05
SEED = 7
N_EVENTS = 6_000
AS_OF = "2026-01-01T00:00:00Z"
RUN_ID = "test-dbt"
SALT_SETTING = "scrollintel.masking_salt"


@dataclass(frozen=True, repr=False)
class RuntimeDatabase:
    """A migrated warehouse database and a throwaway runtime role (the one dbt and ingestion use)."""

    admin_url: str
    url: str
    role: str

    def __repr__(self) -> str:
        return f"RuntimeDatabase(role={self.role})"


@contextmanager
def runtime_database(pg_server: Any, prefix: str) -> Iterator[RuntimeDatabase]:
    """A fresh database migrated with grants for a new login role; both dropped at the end."""
    import psycopg
    from sqlalchemy.engine import make_url

    from scrollintel import migrate

    role = f"{prefix}_rt_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    admin = pg_server.url("postgres").replace(DRIVER, "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
    admin_url = pg_server.create_database(f"{prefix}_{secrets.token_hex(4)}")
    database = make_url(admin_url).database
    try:
        migrate.upgrade(admin_url, runtime_role=role)
        runtime_url = make_url(admin_url).set(username=role, password=password).render_as_string(hide_password=False)
        yield RuntimeDatabase(admin_url=admin_url, url=runtime_url, role=role)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@dataclass(repr=False)
class Warehouse:
    """A warehouse database with classified raw tables, and how to run dbt against it."""

    #: The runtime role's URL: what dbt connects as.
    url: str
    #: The superuser's libpq conninfo: set-up and assertions.
    conninfo: str
    #: The runtime role (owns the raw tables and everything dbt builds).
    role: str
    tmp: Path
    salt: str
    #: Personal values the demo generators put into the raw tables (as text), by raw column.
    seeded_pii: dict[str, set[str]] = field(default_factory=dict)
    build_seconds: float | None = None
    #: A copy of the database as it was before dbt ran (raw tables only), never connected to.
    raw_template: str | None = None
    #: A copy of the database right after ``dbt build``, before any test changed it.
    built_template: str | None = None

    def __repr__(self) -> str:
        # no password, salt or personal values in test reports
        return f"Warehouse(tmp={self.tmp})"

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection as the superuser."""
        import psycopg

        return psycopg.connect(self.conninfo, autocommit=True)

    def dbt_env(self) -> dict[str, str]:
        """Environment of a dbt run: the profile's settings and the masking salt as a session setting."""
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        return {
            "SCROLLINTEL_DBT_HOST": url.host or "127.0.0.1",
            "SCROLLINTEL_DBT_PORT": str(url.port or 5432),
            "SCROLLINTEL_DBT_USER": url.username or "",
            "DBT_ENV_SECRET_SCROLLINTEL_DBT_PASSWORD": url.password or "",
            "SCROLLINTEL_DBT_DBNAME": url.database or "",
            "SCROLLINTEL_DBT_THREADS": "4",
            "PGOPTIONS": f"-c {SALT_SETTING}={self.salt}",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }

    def dbt(self, *args: str, env: Mapping[str, str] | None = None) -> Any:
        """Run a dbt command in-process (dbtRunner) with a temporary target and log path."""
        from dbt.cli.main import dbtRunner

        settings = {**self.dbt_env(), **(env or {})}
        saved = {key: os.environ.get(key) for key in settings}
        os.environ.update(settings)
        try:
            return dbtRunner().invoke(
                [
                    *args,
                    "--project-dir",
                    str(DBT_DIR),
                    "--profiles-dir",
                    str(DBT_DIR),
                    "--target-path",
                    str(self.tmp / "target"),
                    "--log-path",
                    str(self.tmp / "logs"),
                    "--vars",
                    f"{{scrollintel_as_of: '{AS_OF}'}}",
                ]
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def database_name(url: str) -> str:
    """The database a SQLAlchemy URL points at."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    assert name, url
    return name


def with_database(url: str, database: str) -> str:
    """``url`` (password kept) pointing at another database."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def create_copy(pg_server: Any, source: str, prefix: str) -> str:
    """``CREATE DATABASE <prefix>_<random> TEMPLATE <source>`` (a file copy); returns the new name.

    A template must have no other sessions: the ones left on ``source`` (dbt's pool may linger
    briefly) are closed first.
    """
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = pg_server.url("postgres").replace(DRIVER, "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,))
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return name


def drop_database(pg_server: Any, name: str) -> None:
    import psycopg

    admin = pg_server.url("postgres").replace(DRIVER, "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_copy(pg_server: Any, source: str, prefix: str) -> Iterator[str]:
    """A copy of ``source`` (see :func:`create_copy`), dropped on exit (before the runtime role it grants to)."""
    name = create_copy(pg_server, source, prefix)
    try:
        yield name
    finally:
        drop_database(pg_server, name)


def failures(result: Any) -> list[str]:
    """The nodes of a dbt result that did not pass, with their messages."""
    if result.result is None or not hasattr(result.result, "results"):
        return [repr(result.exception)]
    return [
        f"{item.node.unique_id}: {item.status} {item.message}"
        for item in result.result.results
        if str(item.status) not in ("success", "pass", "skipped")
    ]


def load_demo_raw_tables(house: Warehouse) -> None:
    """Every raw table of the demo sources, owned by the runtime role and classified, as ingestion leaves them."""
    with house.connect() as conn:
        _load_shop(conn, house)
        _load_marketing(conn)
        _load_stores(conn, house.tmp)
        for source, resource in RAW_TABLES:
            conn.execute(f'ALTER TABLE raw."{source}__{resource}" OWNER TO "{house.role}"')
            classify(conn, source, resource)


RAW_TABLES: tuple[tuple[str, str], ...] = (
    ("shop", "customers"),
    ("shop", "products"),
    ("shop", "orders"),
    ("shop", "order_items"),
    ("shop", "payments"),
    ("shop", "subscriptions"),
    ("shop", "subscription_events"),
    ("marketing", "events"),
    ("marketing", "campaigns"),
    ("stores", "stores"),
    ("stores", "inventory"),
)

#: Raw columns holding personal data in the demo shop (scanned for by the masking test).
PII_COLUMNS: dict[str, tuple[str, ...]] = {
    "shop__customers": ("first_name", "last_name", "email", "phone", "street_address", "postal_code", "birth_date"),
    "shop__payments": ("card_number", "iban"),
}


def classify(conn: psycopg.Connection[Any], source: str, resource: str) -> dict[str, str | None]:
    """Run the ingestion classifier on one raw table; returns {column: class id}."""
    from scrollintel.config import load_governance, load_source
    from scrollintel.ingest.classify import classify_table
    from scrollintel.ingest.connectors.base import SourceColumn

    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'raw' AND table_name = %s AND column_name NOT LIKE '\\_%%' ORDER BY ordinal_position",
        (f"{source}__{resource}",),
    ).fetchall()
    pg_types = {"timestamp with time zone": "timestamptz", "character": "text", "character varying": "text"}
    columns = [SourceColumn(name=name, source_type=kind, pg_type=pg_types.get(kind, kind)) for name, kind in rows]
    with conn.transaction():
        classes, _changed = classify_table(
            conn,
            source=source,
            resource=resource,
            columns=columns,
            config=load_governance().classification,
            overrides=load_source(source).classification_overrides(resource),
            run_id=RUN_ID,
        )
    return {item.column: item.class_id for item in classes}


_PG_TYPES = {
    "int64": "bigint",
    "int32": "integer",
    "string": "text",
    "large_string": "text",
    "bool": "boolean",
    "double": "double precision",
    "date32[day]": "date",
}


#: Money columns are numeric in the shop (the generator hands them over as doubles).
_NUMERIC_COLUMNS = {
    "unit_price": "numeric(10,2)",
    "total_amount": "numeric(12,2)",
    "discount": "numeric(5,2)",
    "amount": "numeric(12,2)",
    "monthly_fee": "numeric(8,2)",
}


def _pg_type(name: str, arrow_type: pa.DataType) -> str:
    import pyarrow as pa

    if name in _NUMERIC_COLUMNS:
        return _NUMERIC_COLUMNS[name]

    if pa.types.is_timestamp(arrow_type):
        return "timestamptz"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    return _PG_TYPES[str(arrow_type)]


def copy_arrow(conn: psycopg.Connection[Any], name: str, table: pa.Table) -> None:
    """Create ``raw.<name>`` like ingestion does (source columns + metadata) and COPY ``table`` into it."""
    import pyarrow.csv as pacsv

    columns = ", ".join(f'"{f.name}" {_pg_type(f.name, f.type)}' for f in table.schema)
    conn.execute(f'DROP TABLE IF EXISTS raw."{name}"')
    conn.execute(
        f'CREATE TABLE raw."{name}" ({columns}, _loaded_at timestamptz NOT NULL DEFAULT now(), '
        f"_run_id text NOT NULL DEFAULT '{RUN_ID}')"
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    names = ", ".join(f'"{f.name}"' for f in table.schema)
    with conn.cursor().copy(f'COPY raw."{name}" ({names}) FROM STDIN (FORMAT csv)') as copy:
        copy.write(sink.getvalue())


def _load_shop(conn: psycopg.Connection[Any], house: Warehouse) -> None:
    from scrollintel.demo.shop import generate_shop_tables

    for resource, table in generate_shop_tables(scale=SCALE, seed=SEED).items():
        copy_arrow(conn, f"shop__{resource}", table)
        for column in PII_COLUMNS.get(f"shop__{resource}", ()):
            values = {str(value) for value in table.column(column).to_pylist() if value is not None}
            house.seeded_pii[f"shop__{resource}.{column}"] = values


def _load_marketing(conn: psycopg.Connection[Any]) -> None:
    import pyarrow as pa

    from scrollintel.demo import demo_sizes
    from scrollintel.demo.marketing import EventSource

    events = EventSource(seed=SEED, n_events=N_EVENTS, n_customers=demo_sizes(SCALE).customers)
    rows = events.page(0, N_EVENTS)
    table = pa.Table.from_pylist(rows)
    copy_arrow(
        conn,
        "marketing__events",
        table.set_column(
            table.schema.get_field_index("occurred_at"),
            "occurred_at",
            pa.array([row["occurred_at"] for row in rows]).cast(pa.timestamp("s", tz="UTC")),
        ),
    )
    copy_arrow(conn, "marketing__campaigns", pa.Table.from_pylist([c.as_json() for c in events.campaigns]))


def _load_stores(conn: psycopg.Connection[Any], tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scrollintel.demo.files import INVENTORY_DIR, STORES_CSV, write_store_files

    root = tmp / "landing-root"
    write_store_files(root, scale=SCALE, seed=SEED)
    with (root / STORES_CSV).open(newline="") as handle:
        stores = list(csv.DictReader(handle))
    copy_arrow(conn, "stores__stores", pa.Table.from_pylist(stores))
    parts = sorted((root / INVENTORY_DIR).glob("snapshot_date=*/*.parquet"))
    copy_arrow(conn, "stores__inventory", pa.concat_tables(pq.read_table(path) for path in parts))
