"""Alembic migrations of the governance schema, driven from Python (no alembic.ini needed).

Migrations run as the warehouse's owner role and grant the runtime role (the one tasks, the
CLI and the web app use) exactly the rights each table needs, with :func:`grant_runtime`.
"""

from __future__ import annotations

from pathlib import Path

from scrollintel import db


def alembic_config(url: str | None = None, runtime_role: str | None = None) -> object:
    """An Alembic Config pointing at the package's migrations and the warehouse database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", (url or db.owner_url("warehouse")).replace("%", "%%"))
    config.attributes["runtime_role"] = runtime_role
    return config


def upgrade(url: str | None = None, revision: str = "head", *, runtime_role: str | None = None) -> None:
    """Bring the governance schema to ``revision`` (idempotent).

    Without ``url``: the platform's warehouse as its owner, granting the platform's runtime role.
    """
    from alembic import command

    if url is None and runtime_role is None:
        runtime_role = db.runtime_role("warehouse")
    command.upgrade(alembic_config(url, runtime_role), revision)  # type: ignore[arg-type]


def grant_runtime(privileges: str, objects: str) -> None:
    """Inside a migration: ``GRANT <privileges> ON <objects> TO <runtime role>`` when there is one."""
    from alembic import op

    role = op.get_context().config.attributes.get("runtime_role")  # type: ignore[union-attr]
    if role:
        op.execute(f'GRANT {privileges} ON {objects} TO "{role}"')


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    from scrollintel.warehouse import GOVERNANCE_SCHEMA

    engine = db.make_engine(url or db.owner_url("warehouse"))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table_schema": GOVERNANCE_SCHEMA})
            return context.get_current_revision()
    finally:
        engine.dispose()
