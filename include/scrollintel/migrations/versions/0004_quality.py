"""Data quality results (GX checkpoint runs, one row per expectation result).

``quality_run``: one row per dataset validated by one gate run (a GX checkpoint run: ``gate_run_id``),
with the Airflow task that ran it (dag, run, task, try), the outcome, the dataset's row count
(the history the volume checks compare against), the as-of instant freshness was measured at,
and where the full result and its data docs page are. ``quality_result``: one row per
expectation result of that run: type, kwargs (with the bounds computed at run time), success,
observed value, unexpected and element counts.

The runtime role appends and reads both (history is never edited: a re-run is a new row with its
own try number); it cannot update or delete them. Indexes serve the Quality page and the gates'
own history lookups: the newest runs of a dataset, the runs of an Airflow DAG run, the trend of
failures over time and the failing results of a run.

Downgrade drops both tables (the results history goes with them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "governance"
TABLES = ("quality_run", "quality_result")


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "quality_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("gate_run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("dag_id", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("try_number", sa.Integer(), nullable=True),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("suite_path", sa.Text(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("evaluated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result_path", sa.Text(), nullable=False),
        sa.Column("docs_path", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("failed >= 0 AND failed <= evaluated", name="failed_within_evaluated"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_run")),
        sa.UniqueConstraint("gate_run_id", "dataset", name=op.f("uq_quality_run_gate_run_id_dataset")),
        schema=SCHEMA,
    )
    # newest runs of a dataset (latest status, volume history), INCLUDE avoids heap visits
    op.create_index(
        op.f("ix_quality_run_dataset_finished_at"),
        "quality_run",
        ["dataset", sa.text("finished_at DESC")],
        postgresql_include=["success", "row_count"],
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_quality_run_dag_id_run_id"), "quality_run", ["dag_id", "run_id"], schema=SCHEMA)
    op.create_index(op.f("ix_quality_run_finished_at"), "quality_run", ["finished_at"], schema=SCHEMA)

    op.create_table(
        "quality_result",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("quality_run_id", sa.BigInteger(), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("expectation_type", sa.Text(), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("kwargs", postgresql.JSONB(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("observed_value", postgresql.JSONB(), nullable=True),
        sa.Column("unexpected_count", sa.BigInteger(), nullable=True),
        sa.Column("unexpected_percent", sa.Float(), nullable=True),
        sa.Column("element_count", sa.BigInteger(), nullable=True),
        sa.Column("exception_message", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quality_run_id"],
            [f"{SCHEMA}.quality_run.id"],
            name=op.f("fk_quality_result_quality_run_id_quality_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_result")),
        sa.UniqueConstraint("quality_run_id", "position", name=op.f("uq_quality_result_quality_run_id_position")),
        schema=SCHEMA,
    )
    # history of one expectation of a dataset (e.g. its observed values over time)
    op.create_index(
        op.f("ix_quality_result_dataset_expectation_type_recorded_at"),
        "quality_result",
        ["dataset", "expectation_type", "recorded_at"],
        schema=SCHEMA,
    )
    # failures only: the trend chart and the "what failed" lists read just these rows
    op.create_index(
        op.f("ix_quality_result_failed_recorded_at"),
        "quality_result",
        ["recorded_at"],
        postgresql_where=sa.text("NOT success"),
        schema=SCHEMA,
    )

    # history tables: append and read only
    for name in TABLES:
        grant_runtime("SELECT, INSERT", f"{SCHEMA}.{name}")
        grant_runtime("USAGE", f"SEQUENCE {SCHEMA}.{name}_id_seq")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name, schema=SCHEMA)
