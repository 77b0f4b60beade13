"""Alembic environment for the governance schema (run through ``scrollintel db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import scrollintel.audit.models  # noqa: F401  - registers the ledger tables on the metadata
from scrollintel.db import make_engine
from scrollintel.models import Base
from scrollintel.warehouse import GOVERNANCE_SCHEMA

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {GOVERNANCE_SCHEMA}"))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table_schema=GOVERNANCE_SCHEMA,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == GOVERNANCE_SCHEMA,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `scrollintel db upgrade`")
run_migrations_online()
