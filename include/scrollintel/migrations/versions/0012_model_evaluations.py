"""Model evaluations: one row per challenger evaluated for promotion.

``model_evaluations``: the challenger (MLflow version and run) and the champion it was compared
with on the same holdout snapshot; both sides' metrics (ROC AUC, PR AUC, Brier, recall and
precision at the operating threshold), the fairness assessment and the top SHAP features as JSON
(what the Model page and the approval request show; the full tables and charts are MLflow
artifacts of the challenger's run); the verdict of the promotion checks (``ready``: put to the
approval gate; ``refused``: stopped before approval) with every reason in words; the Airflow DAG
run and OpenLineage run that produced it. What happened next (promoted, rejected, expired, rolled
back) is in the audit ledger, never written back here.

A row's id is derived from the model and the DAG run, so a retried task replaces its own row: the
runtime role may SELECT, INSERT and DELETE, never UPDATE.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SCHEMA = "governance"
TABLE = "model_evaluations"
VERDICTS = ("ready", "refused")


def upgrade() -> None:
    verdicts = ", ".join(f"'{verdict}'" for verdict in VERDICTS)
    op.create_table(
        TABLE,
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("challenger_version", sa.Integer(), nullable=False),
        sa.Column("challenger_run_id", sa.Text(), nullable=False),
        sa.Column("champion_version", sa.Integer(), nullable=True),
        sa.Column("champion_run_id", sa.Text(), nullable=True),
        sa.Column("holdout_snapshot", sa.Date(), nullable=False),
        sa.Column("holdout_rows", sa.BigInteger(), nullable=False),
        sa.Column("challenger_metrics", postgresql.JSONB(), nullable=False),
        sa.Column("champion_metrics", postgresql.JSONB(), nullable=True),
        sa.Column("fairness", postgresql.JSONB(), nullable=True),
        sa.Column("top_features", postgresql.JSONB(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("reasons", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("trigger_reason", sa.Text(), nullable=True),
        sa.Column("dag_id", sa.Text(), nullable=True),
        sa.Column("dag_run_id", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("lineage_run_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"verdict IN ({verdicts})", name="verdict_known"),
        sa.CheckConstraint("verdict = 'ready' OR cardinality(reasons) > 0", name="refusal_has_reasons"),
        sa.CheckConstraint("holdout_rows >= 0", name="rows_counted"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_evaluations")),
        schema=SCHEMA,
    )
    # newest evaluations of a model: the Model page
    op.create_index(
        op.f("ix_model_evaluations_model_created_at"), TABLE, ["model", sa.text("created_at DESC")], schema=SCHEMA
    )
    # one row per DAG run and model (a retried task replaces it)
    op.create_index(
        op.f("ix_model_evaluations_dag_id_dag_run_id_model"),
        TABLE,
        ["dag_id", "dag_run_id", "model"],
        unique=True,
        postgresql_where=sa.text("dag_run_id IS NOT NULL"),
        schema=SCHEMA,
    )
    grant_runtime("SELECT, INSERT, DELETE", f"{SCHEMA}.{TABLE}")


def downgrade() -> None:
    op.drop_table(TABLE, schema=SCHEMA)
