"""Cost: approved budget increases (the ``budget_increase`` approval of ``governance/approvals.yaml``).

``budget_increases``: one row per approved request to raise a team's budget for one month. A
request is a run of the ``cost_budget_increase`` DAG (its ``dag_id`` and ``run_id`` are the
request's id); the approval that granted it is the gate's task of that run (``approval_task_id``)
and who answered (``approved_by``). A team's effective budget for a month is its configured
``monthly_amount`` plus the sum of these rows; a rejected or expired request leaves no row, only
its ledger entry.

The runtime role may read and append, never update or delete: a granted increase is a record,
and taking it back is a new decision, not a rewrite.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SCHEMA = "governance"
TABLE = "budget_increases"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("dag_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.Text(), nullable=False),
        sa.Column("approval_task_id", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name="period_is_a_month"),
        sa.CheckConstraint("requested_by IS NULL OR requested_by <> approved_by", name="separation_of_duties"),
        sa.PrimaryKeyConstraint("dag_id", "run_id", name=op.f("pk_budget_increases")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_budget_increases_team_period"), TABLE, ["team", "period"], schema=SCHEMA)
    grant_runtime("SELECT, INSERT", f"{SCHEMA}.{TABLE}")


def downgrade() -> None:
    op.drop_table(TABLE, schema=SCHEMA)
