"""Alembic migrations of the governance schema, driven from Python (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from scrollintel import db


def alembic_config(url: str | None = None) -> object:
    """An Alembic Config pointing at the package's migrations and the warehouse database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", (url or db.warehouse_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the governance schema to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)  # type: ignore[arg-type]


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    from scrollintel.models import SCHEMA

    engine = db.make_engine(url or db.warehouse_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            context = MigrationContext.configure(conn, opts={"version_table_schema": SCHEMA})
            return context.get_current_revision()
    finally:
        engine.dispose()
