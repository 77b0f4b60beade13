"""Cost and ROI: collected usage, daily cost facts, alerts and value.

- ``cost_task_runs``: one row per Airflow task try (dag, run, task, map index, try) as read from
  Airflow's REST API (or seeded by ``scrollintel demo cost-history``, ``demo`` true): times,
  duration, pool, queue, executor, state. Upserted, so collecting a day twice changes nothing.
- ``cost_storage_snapshots``: ``pg_total_relation_size`` of every warehouse table, once a day.
- ``cost_query_snapshots``: cumulative ``pg_stat_statements`` totals per role, once a day (the
  day's query time is the difference with the previous snapshot).
- ``cost_cloud``: AWS Cost Explorer's daily unblended cost per ``team`` / ``dag`` tag.
- ``cost_facts``: the rollup's output, at task-run x day grain (plus one row per table for
  storage, per role for query time, per tag pair for cloud bills), each attributed to a DAG, a
  team and a dataset with the share of the cost it carries (query time: the database role in
  ``db_role``). A day is replaced as a whole.
- ``cost_alerts``: one row per budget threshold crossed per team and month; its primary key is
  what makes "one alert per threshold per period" hold under reruns.
- ``cost_roi``: value against attributed cost per value definition and day, with the inputs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SCHEMA = "governance"
KINDS = ("compute", "storage", "query", "cloud")
MONEY = sa.Numeric(18, 6)


def upgrade() -> None:
    op.create_table(
        "cost_task_runs",
        sa.Column("dag_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False, server_default="-1"),
        sa.Column("try_number", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("pool", sa.Text(), nullable=True),
        sa.Column("queue", sa.Text(), nullable=True),
        sa.Column("executor", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("collected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("duration_s >= 0", name="duration_positive"),
        sa.PrimaryKeyConstraint(
            "dag_id", "run_id", "task_id", "map_index", "try_number", name=op.f("pk_cost_task_runs")
        ),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_cost_task_runs_end_date"), "cost_task_runs", ["end_date"], schema=SCHEMA)
    op.create_table(
        "cost_storage_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("schema_name", sa.Text(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "schema_name", "table_name", name=op.f("pk_cost_storage_snapshots")),
        schema=SCHEMA,
    )
    op.create_table(
        "cost_query_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("role_name", sa.Text(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("total_exec_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "role_name", name=op.f("pk_cost_query_snapshots")),
        schema=SCHEMA,
    )
    op.create_table(
        "cost_cloud",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("dag_id", sa.Text(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("day", "team", "dag_id", name=op.f("pk_cost_cloud")),
        schema=SCHEMA,
    )
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    op.create_table(
        "cost_facts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("dag_id", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("map_index", sa.Integer(), nullable=True),
        sa.Column("try_number", sa.Integer(), nullable=True),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=True),
        sa.Column("share", sa.Float(), nullable=False, server_default="1"),
        sa.Column("usage", sa.Float(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("db_role", sa.Text(), nullable=True),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name="kind_known"),
        sa.CheckConstraint("share > 0 AND share <= 1", name="share_fraction"),
        sa.CheckConstraint("amount >= 0", name="amount_positive"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_facts")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_cost_facts_day_kind"), "cost_facts", ["day", "kind"], schema=SCHEMA)
    op.create_table(
        "cost_alerts",
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Numeric(8, 4), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("budget", MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("basis IN ('actual', 'forecast')", name="basis_known"),
        sa.PrimaryKeyConstraint("period", "team", "basis", "threshold", name=op.f("pk_cost_alerts")),
        schema=SCHEMA,
    )
    op.create_table(
        "cost_roi",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value_id", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("value", MONEY, nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("day", "value_id", name=op.f("pk_cost_roi")),
        schema=SCHEMA,
    )
    for table in ("cost_task_runs", "cost_storage_snapshots", "cost_query_snapshots", "cost_cloud", "cost_roi"):
        grant_runtime("SELECT, INSERT, UPDATE, DELETE", f"{SCHEMA}.{table}")
    grant_runtime("SELECT, INSERT, DELETE", f"{SCHEMA}.cost_facts")
    grant_runtime("SELECT, INSERT, UPDATE", f"{SCHEMA}.cost_alerts")
    # Query time per role: available when the server preloads the library (the embedded one does);
    # creating the extension needs a privileged role, so its absence is a state, not an error.
    op.execute(
        """
        DO $$
        BEGIN
          CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
        EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
          RAISE NOTICE 'pg_stat_statements not available: %', SQLERRM;
        END $$
        """
    )


def downgrade() -> None:
    for table in (
        "cost_roi",
        "cost_alerts",
        "cost_facts",
        "cost_cloud",
        "cost_query_snapshots",
        "cost_storage_snapshots",
        "cost_task_runs",
    ):
        op.drop_table(table, schema=SCHEMA)
