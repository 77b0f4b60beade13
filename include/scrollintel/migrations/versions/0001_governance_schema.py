"""Governance schema with the platform health check results.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_check",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("check_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_check")),
        schema="governance",
    )
    op.create_index(
        op.f("ix_health_check_check_name_checked_at"),
        "health_check",
        ["check_name", "checked_at"],
        schema="governance",
    )
    grant_runtime("USAGE", "SCHEMA governance")
    grant_runtime("SELECT, INSERT, UPDATE, DELETE", "governance.health_check")
    grant_runtime("USAGE", "SEQUENCE governance.health_check_id_seq")


def downgrade() -> None:
    op.drop_index(op.f("ix_health_check_check_name_checked_at"), table_name="health_check", schema="governance")
    op.drop_table("health_check", schema="governance")
