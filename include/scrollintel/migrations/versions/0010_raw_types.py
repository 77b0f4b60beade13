"""Ingestion: the ``raw_types`` schema, where the enums of PostgreSQL sources are created.

An enum column of a PostgreSQL source keeps its type in the raw layer: the loader creates the
enum as ``raw_types."<source>__<type>"`` with the source's labels (see
``scrollintel.ingest.enums`` and ADR 0006). A schema of their own, so that a type never takes
the name of a raw table (a table's row type shares the namespace of types).

Downgrade drops the schema, and refuses (PostgreSQL error) while a raw table still uses one of
its types: loaded data is never dropped by a migration.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TYPES_SCHEMA = "raw_types"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {TYPES_SCHEMA}")
    grant_runtime("USAGE, CREATE", f"SCHEMA {TYPES_SCHEMA}")


def downgrade() -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {TYPES_SCHEMA} RESTRICT")
