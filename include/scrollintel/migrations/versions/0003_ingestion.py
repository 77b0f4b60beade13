"""Ingestion: ``raw`` and ``raw_quarantine`` schemas; cursor state, schema contracts, drift, runs, PII.

The runtime role creates the raw and quarantine tables itself (one per source resource, on
first load), so it gets USAGE and CREATE on both schemas and owns what it creates. The
governance tables hold what the loader commits together with the data: the cursor of each
resource, the versions of its schema contract, drift events, one row per load and the PII
class of every column.

Downgrade drops the governance tables and the two schemas, and refuses (PostgreSQL error)
while raw or quarantine tables still exist: loaded data is never dropped by a migration.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "governance"
DATA_SCHEMAS = ("raw", "raw_quarantine")
TABLES = (
    "ingest_cursor",
    "ingest_schema_version",
    "ingest_drift_event",
    "ingest_load_run",
    "column_classification",
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    for name in DATA_SCHEMAS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
        grant_runtime("USAGE, CREATE", f"SCHEMA {name}")

    op.create_table(
        "ingest_cursor",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("cursor_value", sa.Text(), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("files", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("source", "resource", name=op.f("pk_ingest_cursor")),
        schema=SCHEMA,
    )
    op.create_table(
        "ingest_schema_version",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("columns", postgresql.JSONB(), nullable=False),
        sa.Column("primary_key", postgresql.JSONB(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_schema_version")),
        sa.UniqueConstraint("source", "resource", "version", name=op.f("uq_ingest_schema_version_source_resource")),
        schema=SCHEMA,
    )
    op.create_table(
        "ingest_drift_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("outcome IN ('applied', 'blocked')", name="outcome"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_drift_event")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_ingest_drift_event_source_resource_detected_at"),
        "ingest_drift_event",
        ["source", "resource", "detected_at"],
        schema=SCHEMA,
    )
    op.create_table(
        "ingest_load_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("source_rows", sa.BigInteger(), nullable=True),
        sa.Column("loaded_rows", sa.BigInteger(), nullable=True),
        sa.Column("inserted_rows", sa.BigInteger(), nullable=True),
        sa.Column("updated_rows", sa.BigInteger(), nullable=True),
        sa.Column("unchanged_rows", sa.BigInteger(), nullable=True),
        sa.Column("deleted_rows", sa.BigInteger(), nullable=True),
        sa.Column("quarantined_rows", sa.BigInteger(), nullable=True),
        sa.Column("cursor_before", sa.Text(), nullable=True),
        sa.Column("cursor_after", sa.Text(), nullable=True),
        sa.Column("schema_version", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("status IN ('succeeded', 'failed', 'blocked')", name="status"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_load_run")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_ingest_load_run_batch_id")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_ingest_load_run_source_resource_started_at"),
        "ingest_load_run",
        ["source", "resource", "started_at"],
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_ingest_load_run_run_id"), "ingest_load_run", ["run_id"], schema=SCHEMA)
    op.create_table(
        "column_classification",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=False),
        sa.Column("class_id", sa.Text(), nullable=True),
        sa.Column("sensitivity", sa.Text(), nullable=True),
        sa.Column("masking", sa.Text(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("match_ratio", sa.Float(), nullable=True),
        sa.Column("sampled", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("source", "resource", "column_name", name=op.f("pk_column_classification")),
        schema=SCHEMA,
    )

    grant_runtime("SELECT, INSERT, UPDATE, DELETE", f"{SCHEMA}.ingest_cursor")
    grant_runtime("SELECT, INSERT, UPDATE, DELETE", f"{SCHEMA}.column_classification")
    # history tables: append and read only
    for name in ("ingest_schema_version", "ingest_drift_event", "ingest_load_run"):
        grant_runtime("SELECT, INSERT", f"{SCHEMA}.{name}")
        grant_runtime("USAGE", f"SEQUENCE {SCHEMA}.{name}_id_seq")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name, schema=SCHEMA)
    for name in reversed(DATA_SCHEMAS):
        op.execute(f"DROP SCHEMA IF EXISTS {name} RESTRICT")
