"""The warehouse core: the names every capability shares, and one way to connect.

**Names.** The Airflow connection of the warehouse, its schemas, how a raw table and its Airflow
Asset are named, the OpenLineage namespace of the warehouse and the order of sensitivity
levels. Capabilities import them from here instead of spelling them out; the migrations keep
their own literals (a migration describes the database as it was when it was written).

**Asset URI scheme.** Each raw table is the Airflow Asset::

    name = "raw.<source>__<resource>"
    uri  = "x-scrollintel://warehouse/raw/<source>__<resource>"

``x-scrollintel://<database>/<schema>/<table>``, where ``warehouse`` is the *logical* name of the
warehouse database: the URI must be known when the DAG file is parsed (no connection lookup
then) and must not change between a laptop and production. The ``x-`` prefix is Airflow's
convention for a custom scheme: it is not normalised by a provider, which matters at parse
time, because normalising any provider scheme (``postgres://`` included) loads every
provider's asset handlers, the amazon one importing boto3: 1-2 s for the first DAG file that
declares an Asset.

In OpenLineage the same table is the dataset ``postgres://warehouse:5432`` /
``warehouse.raw.<source>__<resource>`` (the postgres naming convention with the logical host):
:func:`warehouse_namespace` and :func:`warehouse_dataset_name`.

**Connections.** :func:`connect` opens one psycopg connection with the caller's session
settings and transaction mode; :func:`pooled_connection` hands out a connection from a pool
that is kept per process, URL and :class:`Pool` (sizes, connect timeout, session settings), so
each caller keeps the pool it was tuned for.

Nothing heavy at import: psycopg, SQLAlchemy and Airflow are imported when first used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from scrollintel.db import libpq_url, normalise_url, warehouse_url

if TYPE_CHECKING:
    import psycopg
    from airflow.sdk import Asset
    from sqlalchemy.engine import Engine

#: The Airflow connection of the warehouse database.
WAREHOUSE_CONN_ID = "postgres_warehouse"

#: Schema of the platform's own tables (audit, lineage, quality, ingestion state, health).
GOVERNANCE_SCHEMA = "governance"
#: Schema of the tables ingestion lands, one per source resource.
RAW_SCHEMA = "raw"
#: Schema of the business tables dbt builds.
MARTS_SCHEMA = "marts"

#: Logical host, port and database of the warehouse in asset URIs and lineage namespaces.
WAREHOUSE_HOST = "warehouse"
WAREHOUSE_PORT = 5432
WAREHOUSE_DATABASE = "warehouse"
#: Scheme of the platform's Asset URIs (``x-``: not normalised by any provider).
ASSET_SCHEME = "x-scrollintel"

#: A sensitivity level; also a DAG classification tag.
Sensitivity = Literal["public", "internal", "confidential", "restricted"]
#: Sensitivity levels, least to most sensitive.
SENSITIVITY_LEVELS: tuple[str, ...] = get_args(Sensitivity)


# --------------------------------------------------------------------------- names


def server_warehouse_url() -> str:
    """Warehouse URL for Airflow server processes (api-server, scheduler), not tasks.

    The ``postgres_warehouse`` connection through Airflow's secrets backends (environment,
    metadata database, Vault, ...) when one defines it; else :func:`warehouse_url`.
    """
    try:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.models.connection import Connection
    except ImportError:
        return warehouse_url()
    try:
        conn = Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID)
    except AirflowNotFoundException:
        return warehouse_url()
    return normalise_url(conn.get_uri())


def raw_table_name(source: str, resource: str) -> str:
    """``<source>__<resource>``: the table of one source resource in ``raw`` (and its quarantine)."""
    return f"{source}__{resource}"


def raw_table(source: str, resource: str) -> str:
    """``raw.<source>__<resource>``: the warehouse table a source's table/endpoint/file lands in."""
    return f"{RAW_SCHEMA}.{raw_table_name(source, resource)}"


def asset_uri(schema: str, table: str) -> str:
    """``x-scrollintel://warehouse/<schema>/<table>``: the Asset URI of a warehouse table."""
    return f"{ASSET_SCHEME}://{WAREHOUSE_DATABASE}/{schema}/{table}"


def raw_asset_uri(source: str, resource: str) -> str:
    """``x-scrollintel://warehouse/raw/<source>__<resource>``."""
    return asset_uri(RAW_SCHEMA, raw_table_name(source, resource))


def raw_asset(source: str, resource: str) -> Asset:
    """The Airflow Asset of a raw table (outlet of its ingestion task, schedule of dbt)."""
    from airflow.sdk import Asset

    return Asset(name=raw_table(source, resource), uri=raw_asset_uri(source, resource), group=RAW_SCHEMA)


def warehouse_namespace() -> str:
    """OpenLineage namespace of the warehouse (what the postgres provider derives from the asset URI)."""
    return f"postgres://{WAREHOUSE_HOST}:{WAREHOUSE_PORT}"


def warehouse_dataset_name(schema: str, table: str) -> str:
    """``warehouse.<schema>.<table>``: the OpenLineage name of a warehouse table."""
    return f"{WAREHOUSE_DATABASE}.{schema}.{table}"


def highest_sensitivity(levels: Iterable[str | None]) -> str | None:
    """The most sensitive of ``levels`` (values that are no sensitivity level are ignored); None if none is."""
    ranked = [SENSITIVITY_LEVELS.index(level) for level in levels if level in SENSITIVITY_LEVELS]
    return SENSITIVITY_LEVELS[max(ranked)] if ranked else None


# --------------------------------------------------------------------------- connections


def _options(settings: Iterable[tuple[str, str]]) -> str:
    """libpq ``options`` setting each ``name=value`` for the session (spaces and backslashes escaped)."""
    return " ".join("-c " + f"{name}={value}".replace("\\", "\\\\").replace(" ", "\\ ") for name, value in settings)


def connect(
    url: str, *, autocommit: bool = False, settings: Mapping[str, str] | None = None
) -> psycopg.Connection[Any]:
    """A new psycopg connection to ``url`` (SQLAlchemy or libpq form), not pooled.

    ``settings`` are session settings (``{"TimeZone": "UTC"}``) sent when connecting. The
    connection is also a context manager: it commits (or rolls back on error) and closes.
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    conninfo = libpq_url(url)
    if settings:
        conninfo = make_conninfo(conninfo, options=_options(settings.items()))
    return psycopg.connect(conninfo, autocommit=autocommit)


@dataclass(frozen=True)
class Pool:
    """How one part of the platform pools its connections (one pool per process, URL and Pool)."""

    name: str
    """Who uses the pool (``audit``, ``lineage``): :func:`dispose_engines` closes its pools."""
    size: int
    max_overflow: int = 8
    recycle_s: int = 1800
    connect_timeout_s: int | None = None
    """Give up connecting after this many seconds (None: libpq's default, wait)."""
    settings: tuple[tuple[str, str], ...] = ()
    """Session settings of every connection, as ``(name, value)`` pairs."""


_engines: dict[tuple[int, str, Pool], Engine] = {}
_engines_lock = threading.Lock()


def engine(url: str, pool: Pool) -> Engine:
    """The SQLAlchemy engine holding ``pool`` for ``url`` in this process (created on first use).

    Keyed by process id: a forked Airflow task must never reuse its parent's sockets. No
    pre-ping (a round trip per checkout): a dead pooled connection fails once and is discarded
    (:func:`pooled_connection` invalidates it).
    """
    key = (os.getpid(), url, pool)
    with _engines_lock:
        found = _engines.get(key)
        if found is None:
            from sqlalchemy import create_engine

            connect_args: dict[str, Any] = {}
            if pool.connect_timeout_s is not None:
                connect_args["connect_timeout"] = pool.connect_timeout_s
            if pool.settings:
                connect_args["options"] = _options(pool.settings)
            found = create_engine(
                normalise_url(url),
                pool_size=pool.size,
                max_overflow=pool.max_overflow,
                pool_recycle=pool.recycle_s,
                connect_args=connect_args,
            )
            _engines[key] = found
        return found


@contextmanager
def pooled_connection(url: str, pool: Pool) -> Iterator[psycopg.Connection[Any]]:
    """A pooled psycopg connection to ``url``, idle (no open transaction) when handed out and returned.

    A connection that failed (``OperationalError``) is discarded instead of returned to the pool.
    """
    import psycopg
    from psycopg.pq import TransactionStatus

    raw = engine(url, pool).raw_connection()
    try:
        conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        yield conn
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
    except psycopg.OperationalError:
        raw.invalidate()
        raise
    finally:
        raw.close()


def dispose_engines(name: str | None = None) -> None:
    """Close the pooled connections of this process: those of the pools called ``name``, or all."""
    with _engines_lock:
        for key in [key for key in _engines if key[0] == os.getpid() and name in (None, key[2].name)]:
            _engines.pop(key).dispose()
