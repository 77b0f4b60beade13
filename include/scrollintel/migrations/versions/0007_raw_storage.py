"""Ingestion: the ``raw_storage`` schema, where the rows of the raw tables are kept.

A raw table (``raw.<source>__<resource>``) is created partitioned, with one partition: a plain
table in ``raw_storage`` named after it and the load that wrote it. A load that rewrites most of
the table builds the new version as a new table and swaps it in (detach the old partition,
attach the new one, in the load's transaction), so its rows are written once instead of being
staged and then copied; ``raw.<...>`` itself keeps its identity, so the dbt views that read it
stay valid (see ADR 0006).

Readers go through ``raw``: PostgreSQL checks the privileges of the partitioned table only, so
``raw_storage`` needs no grant beyond the runtime role's (which creates and owns the partitions).
PUBLIC holds nothing on it.

Downgrade drops the schema, and refuses (PostgreSQL error) while partitions still exist: loaded
data is never dropped by a migration.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STORAGE_SCHEMA = "raw_storage"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {STORAGE_SCHEMA}")
    op.execute(f"REVOKE ALL ON SCHEMA {STORAGE_SCHEMA} FROM PUBLIC")
    grant_runtime("USAGE, CREATE", f"SCHEMA {STORAGE_SCHEMA}")


def downgrade() -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {STORAGE_SCHEMA} RESTRICT")
