"""Database URLs and engines for the platform's PostgreSQL databases.

The platform uses one PostgreSQL server with four databases, each owned by its own role
(least privilege): ``airflow`` (Airflow metadata), ``warehouse`` (raw/staging/marts and the
``governance`` schema), ``mlflow`` (MLflow backend) and ``shop`` (the demo source system).

Where the server is:
- ``SCROLLINTEL_DATABASE_URL`` set: that server, with that URL's credentials for every database
  (the role needs CREATEDB for ``scrollintel platform up``; no roles are created there).
- otherwise the embedded server started by ``make run`` (``scrollintel.platform.postgres``),
  whose address and generated role passwords live in the git-ignored state folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from scrollintel import settings
from scrollintel.exceptions import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: Logical database -> the role that owns it (runs its DDL and migrations) in the embedded server.
DATABASE_OWNERS: dict[str, str] = {
    "airflow": "airflow",
    "warehouse": "scrollintel_owner",
    "mlflow": "mlflow",
    "shop": "shop",
}
#: Roles that use a database without owning it: role -> database. Their rights are granted
#: table by table (the warehouse runtime role by the governance migrations, the shop reader
#: SELECT only), so e.g. the platform cannot UPDATE or DELETE audit ledger rows.
RUNTIME_ROLES: dict[str, str] = {"scrollintel": "warehouse", "shop_reader": "shop"}
#: The role the platform's tasks, CLI and web app use on the warehouse.
WAREHOUSE_RUNTIME_ROLE = "scrollintel"
#: NOLOGIN owner of the audit ledger's tables (migration 0008): the warehouse owner may only
#: ``SET ROLE`` into it while migrating, so no login the platform holds owns (or can disable the
#: triggers of) the ledger.
LEDGER_OWNER_ROLE = "scrollintel_ledger"

DRIVER = "postgresql+psycopg"


@dataclass(frozen=True)
class ServerAddress:
    """Where a PostgreSQL server listens and how each role logs in."""

    host: str
    port: int
    passwords: dict[str, str]
    admin_role: str

    def url(self, database: str, role: str) -> str:
        password = self.passwords.get(role)
        if password is None:
            raise DatabaseError(f"no password known for database role {role!r}")
        return f"{DRIVER}://{quote(role, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}/{database}"


def embedded_state_file() -> str:
    """Path of the embedded server's state (address and role passwords)."""
    return str(settings.state_dir() / "postgres" / "server.json")


def _embedded_address() -> ServerAddress:
    try:
        with open(embedded_state_file(), encoding="utf-8") as handle:
            state = json.load(handle)
    except FileNotFoundError as err:
        raise DatabaseError(
            f"no database configured: set {settings.ENV_DATABASE_URL} or start the embedded "
            f"server with `make run` ({embedded_state_file()} is missing)"
        ) from err
    return ServerAddress(
        host=state["host"], port=int(state["port"]), passwords=state["passwords"], admin_role=state["admin_role"]
    )


def normalise_url(url: str) -> str:
    """Accept ``postgres://``, ``postgresql://`` or ``postgresql+driver://`` and use psycopg 3."""
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    if scheme not in {"postgres", "postgresql"} and not scheme.startswith("postgresql+"):
        raise DatabaseError(f"not a PostgreSQL URL (scheme {scheme!r}); expected postgresql://user:pass@host:port/db")
    return f"{DRIVER}://{rest}"


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` (SQLAlchemy) or ``postgres://`` -> ``postgresql://`` for psycopg/libpq.

    Anything else (a ``key=value`` conninfo string) is returned unchanged.
    """
    if url.startswith(("postgresql+", "postgres://")):
        return "postgresql://" + url.split("://", 1)[1]
    return url


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(normalise_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def database_url(database: str, *, role: str | None = None) -> str:
    """SQLAlchemy URL of one of the platform's databases (see the module docstring)."""
    external = settings.external_database_url()
    if external:
        return with_database(external, database)
    address = _embedded_address()
    default = WAREHOUSE_RUNTIME_ROLE if database == "warehouse" else DATABASE_OWNERS.get(database)
    return address.url(database, role or default or address.admin_role)


def owner_url(database: str) -> str:
    """URL with the role that owns ``database`` (for migrations and DDL)."""
    if settings.external_database_url():
        return database_url(database)
    return database_url(database, role=DATABASE_OWNERS[database])


def runtime_role(database: str = "warehouse") -> str | None:
    """The non-owner role that uses ``database`` at run time (None on an external server)."""
    if settings.external_database_url():
        return None
    return next((role for role, db_name in RUNTIME_ROLES.items() if db_name == database), None)


def admin_url(database: str = "postgres") -> str:
    """URL with the server's administrative role (creates databases and roles)."""
    external = settings.external_database_url()
    if external:
        return with_database(external, database)
    address = _embedded_address()
    return address.url(database, address.admin_role)


def warehouse_url() -> str:
    """URL of the warehouse database (raw/staging/marts + governance schema), as the runtime role."""
    return database_url("warehouse")


def connection_url(conn_id: str) -> str:
    """SQLAlchemy URL of an Airflow connection (used inside tasks; imports Airflow lazily)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return normalise_url(conn.get_uri())


def make_engine(url: str, **kwargs: object) -> Engine:
    """A SQLAlchemy engine on psycopg 3 with pre-ping; pass ``poolclass`` etc. through kwargs."""
    from sqlalchemy import create_engine

    return create_engine(normalise_url(url), pool_pre_ping=True, **kwargs)  # type: ignore[arg-type]
