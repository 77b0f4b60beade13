"""Model monitoring: one row per monitoring run of a model's champion, one per feature tested.

``model_monitoring_runs``: which champion version was compared (MLflow version and run), with
which reference snapshots (the champion's training snapshots) and which current snapshot (the
newest), how many rows each, the drift outcome (features tested and drifted, their share against
the policy's ``drift_share``, the per-feature threshold), the decay outcome (the snapshots
labelled after the champion's holdout, their rows, ROC AUC against the champion's holdout ROC AUC
and the allowed drop; ``decayed`` is NULL when decay could not be measured), the verdict and its
reason in words, the Evidently HTML report's URI, and the Airflow DAG run and OpenLineage run that
produced it. ``model_feature_drift``: Evidently's test of each feature in that run (method,
statistic, threshold, drifted).

A run's id is derived from the model and the DAG run (:mod:`scrollintel.ml.monitoring`), so a
retried task replaces its own rows: the runtime role may SELECT, INSERT and DELETE runs (the
DELETE cascades to their features as the tables' owner) and SELECT and INSERT features; it may
UPDATE neither, and it gains nothing on the audit ledger, whose rows it still writes only through
``governance.audit_append`` (0008). The unique (dag_id, dag_run_id, model) index keeps one row per
DAG run and model.

Indexes serve the Model page and the monitoring DAG: the newest runs of a model (with verdict,
drift share and ROC AUC, index-only), the earlier retraining requests for the same champion
version and snapshot (partial, requests only), a run's features (primary key).

Downgrade drops both tables (the monitoring history goes with them).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SCHEMA = "governance"
RUNS = "model_monitoring_runs"
FEATURES = "model_feature_drift"
VERDICTS = ("ok", "drift", "decay", "drift_and_decay")


def upgrade() -> None:
    verdicts = ", ".join(f"'{verdict}'" for verdict in VERDICTS)
    op.create_table(
        RUNS,
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("champion_version", sa.Integer(), nullable=False),
        sa.Column("champion_run_id", sa.Text(), nullable=False),
        sa.Column("reference_snapshots", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("current_snapshot", sa.Date(), nullable=False),
        sa.Column("reference_rows", sa.BigInteger(), nullable=False),
        sa.Column("current_rows", sa.BigInteger(), nullable=False),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("drifted_features", sa.Integer(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=False),
        sa.Column("drift_share_limit", sa.Float(), nullable=False),
        sa.Column("feature_threshold", sa.Float(), nullable=True),
        sa.Column("dataset_drifted", sa.Boolean(), nullable=False),
        sa.Column("labelled_snapshots", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("labelled_rows", sa.BigInteger(), nullable=False),
        sa.Column("roc_auc", sa.Float(), nullable=True),
        sa.Column("champion_roc_auc", sa.Float(), nullable=True),
        sa.Column("max_auc_drop", sa.Float(), nullable=False),
        sa.Column("decayed", sa.Boolean(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("report_uri", sa.Text(), nullable=True),
        sa.Column("dag_id", sa.Text(), nullable=True),
        sa.Column("dag_run_id", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("lineage_run_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"verdict IN ({verdicts})", name="verdict_known"),
        sa.CheckConstraint("drifted_features >= 0 AND drifted_features <= features", name="drifted_within_features"),
        sa.CheckConstraint("drift_share >= 0 AND drift_share <= 1", name="drift_share_is_a_share"),
        sa.CheckConstraint("reference_rows >= 0 AND current_rows >= 0 AND labelled_rows >= 0", name="rows_counted"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_monitoring_runs")),
        schema=SCHEMA,
    )
    # newest runs of a model: the Model page's history and trend, without heap visits
    op.create_index(
        op.f("ix_model_monitoring_runs_model_created_at"),
        RUNS,
        ["model", sa.text("created_at DESC")],
        postgresql_include=["verdict", "drift_share", "roc_auc", "champion_version"],
        schema=SCHEMA,
    )
    # one row per DAG run and model (a retried task replaces it)
    op.create_index(
        op.f("ix_model_monitoring_runs_dag_id_dag_run_id_model"),
        RUNS,
        ["dag_id", "dag_run_id", "model"],
        unique=True,
        postgresql_where=sa.text("dag_run_id IS NOT NULL"),
        schema=SCHEMA,
    )
    # earlier retraining requests for the same champion version and snapshot
    op.create_index(
        op.f("ix_model_monitoring_runs_requests"),
        RUNS,
        ["model", "champion_version", "current_snapshot"],
        postgresql_where=sa.text("verdict <> 'ok'"),
        schema=SCHEMA,
    )

    op.create_table(
        FEATURES,
        sa.Column("run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            [f"{SCHEMA}.{RUNS}.id"],
            name=op.f("fk_model_feature_drift_run_id_model_monitoring_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "feature", name=op.f("pk_model_feature_drift")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_model_feature_drift_run_id_position")),
        schema=SCHEMA,
    )

    # results: appended; a retried run deletes its own run row first (features go with it)
    grant_runtime("SELECT, INSERT, DELETE", f"{SCHEMA}.{RUNS}")
    grant_runtime("SELECT, INSERT", f"{SCHEMA}.{FEATURES}")


def downgrade() -> None:
    op.drop_table(FEATURES, schema=SCHEMA)
    op.drop_table(RUNS, schema=SCHEMA)
