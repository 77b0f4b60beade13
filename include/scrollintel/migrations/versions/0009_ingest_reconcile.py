"""Ingestion: when delete detection last reconciled a resource's keys with its source.

``governance.ingest_cursor.reconciled_at`` is written in the load's transaction, with the rows
the reconcile deleted or marked, so ``delete_detection.every`` counts from a reconcile that
committed (see ADR 0006, "Late commits and deletes").

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = "governance"


def upgrade() -> None:
    op.add_column("ingest_cursor", sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("ingest_cursor", "reconciled_at", schema=SCHEMA)
