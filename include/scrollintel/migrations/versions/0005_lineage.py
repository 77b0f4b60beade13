"""Lineage store: OpenLineage raw events and the derived graph.

``lineage_event`` keeps every accepted event as received, in canonical JSON (sorted keys, no
whitespace), one row per distinct event: the SHA-256 of that text is unique, so a resent event is
stored once. The runtime role may only SELECT and INSERT it: raw lineage is append-only for the
platform.

The derived tables are rebuilt from those events by :mod:`scrollintel.lineage.store`, with
deterministic keys (UUIDs from names) and guarded upserts, so deriving an event twice changes no
row. The runtime role may SELECT, INSERT and UPDATE them, never DELETE.

Indexes follow the graph queries of :mod:`scrollintel.lineage.graph`: every edge table is stored
twice over in B-trees, once keyed by dataset and once by job (or by target and source field),
each index holding both ends, so a hop in either direction is an index-only lookup:

- upstream of a dataset: ``lineage_job_output`` primary key (dataset -> producing job), then
  ``ix_lineage_job_input_job_id_dataset_id`` (job -> its inputs);
- downstream: ``lineage_job_input`` primary key (dataset -> consuming job), then
  ``ix_lineage_job_output_job_id_dataset_id`` (job -> its outputs);
- columns: ``lineage_column_edge`` primary key (target field -> source fields) upstream,
  ``ix_lineage_column_edge_src_field_id_dst_field_id_job_id`` downstream.

Search by name uses ``lower(name) text_pattern_ops`` indexes (prefix ``LIKE``); latest runs of
a job ``(job_id, created_at)``.

"Last seen" times of edges and namespaces have day resolution, and a column's row records only
when it was first seen: a run then rewrites its run, its job and its datasets, not every edge and
column it touches.

Downgrade drops the lineage tables (raw events included).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "governance"
#: Derived tables, in creation order (children after parents).
DERIVED = (
    "lineage_namespace",
    "lineage_job",
    "lineage_dataset",
    "lineage_dataset_field",
    "lineage_run",
    "lineage_dataset_version",
    "lineage_run_dataset",
    "lineage_job_input",
    "lineage_job_output",
    "lineage_column_edge",
)
RUN_STATE = "COALESCE(end_state, CASE WHEN started_at IS NOT NULL THEN 'RUNNING' ELSE 'NEW' END)"


def _times() -> list[sa.Column]:  # type: ignore[type-arg]
    """Event-derived times: the earliest and the latest event that touched the row."""
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _uuid(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, postgresql.UUID(as_uuid=True), nullable=nullable)


def _fk(column: str, table: str, target: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{SCHEMA}.{table}.{target}"])


def _edge_table(name: str) -> None:
    """``lineage_job_input`` / ``lineage_job_output``: job -> dataset edges, stored both ways."""
    op.create_table(
        name,
        _uuid("dataset_id"),
        _uuid("job_id"),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "job_id", name=op.f(f"pk_{name}")),
        _fk("dataset_id", "lineage_dataset"),
        _fk("job_id", "lineage_job"),
        schema=SCHEMA,
    )
    op.create_index(op.f(f"ix_{name}_job_id_dataset_id"), name, ["job_id", "dataset_id"], schema=SCHEMA)


def upgrade() -> None:
    op.create_table(
        "lineage_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_hash", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        _uuid("run_uuid", nullable=True),
        sa.Column("job_namespace", sa.Text(), nullable=True),
        sa.Column("job_name", sa.Text(), nullable=True),
        sa.Column("producer", sa.Text(), nullable=False),
        # The canonical JSON that was hashed, as text: event_hash can be checked against it (jsonb would
        # reorder keys), and nothing is parsed on the way in. Query it with payload::jsonb.
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_by", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('run', 'dataset', 'job')", name="kind"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_event")),
        sa.UniqueConstraint("event_hash", name=op.f("uq_lineage_event_event_hash")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_lineage_event_run_uuid"), "lineage_event", ["run_uuid"], schema=SCHEMA)
    op.create_index(op.f("ix_lineage_event_received_at"), "lineage_event", ["received_at"], schema=SCHEMA)

    op.create_table(
        "lineage_namespace",
        sa.Column("name", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lineage_namespace")),
        schema=SCHEMA,
    )
    op.create_table(
        "lineage_job",
        _uuid("id"),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("parent_job_name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("facets", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_job")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_lineage_job_namespace_name")),
        _fk("namespace", "lineage_namespace", "name"),
        schema=SCHEMA,
    )
    op.create_table(
        "lineage_dataset",
        _uuid("id"),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("source_name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("fields", postgresql.JSONB(), nullable=True),
        sa.Column("facets", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("lifecycle_state", sa.Text(), nullable=True),
        _uuid("current_version", nullable=True),
        sa.Column("last_modified_at", sa.DateTime(timezone=True), nullable=True),
        _uuid("last_run_uuid", nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_dataset")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_lineage_dataset_namespace_name")),
        _fk("namespace", "lineage_namespace", "name"),
        schema=SCHEMA,
    )
    op.create_table(
        "lineage_dataset_field",
        _uuid("id"),
        _uuid("dataset_id"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_dataset_field")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_lineage_dataset_field_dataset_id_name")),
        _fk("dataset_id", "lineage_dataset"),
        schema=SCHEMA,
    )
    op.create_table(
        "lineage_run",
        _uuid("run_uuid"),
        _uuid("job_id"),
        _uuid("parent_run_uuid", nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_state", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), sa.Computed(RUN_STATE, persisted=True), nullable=False),
        sa.Column("nominal_start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nominal_end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("facets", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        *_times(),
        sa.CheckConstraint("end_state IN ('COMPLETED', 'FAILED', 'ABORTED')", name="end_state"),
        sa.PrimaryKeyConstraint("run_uuid", name=op.f("pk_lineage_run")),
        _fk("job_id", "lineage_job"),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_lineage_run_job_id_created_at"), "lineage_run", ["job_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "lineage_dataset_version",
        _uuid("id"),
        _uuid("dataset_id"),
        _uuid("run_uuid"),
        sa.Column("fields", postgresql.JSONB(), nullable=True),
        sa.Column("facets", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("lifecycle_state", sa.Text(), nullable=True),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_dataset_version")),
        sa.UniqueConstraint("dataset_id", "run_uuid", name=op.f("uq_lineage_dataset_version_dataset_id_run_uuid")),
        _fk("dataset_id", "lineage_dataset"),
        _fk("run_uuid", "lineage_run", "run_uuid"),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_lineage_dataset_version_dataset_id_created_at"),
        "lineage_dataset_version",
        ["dataset_id", "created_at"],
        schema=SCHEMA,
    )
    op.create_table(
        "lineage_run_dataset",
        _uuid("run_uuid"),
        sa.Column("direction", sa.Text(), nullable=False),
        _uuid("dataset_id"),
        sa.CheckConstraint("direction IN ('input', 'output')", name="direction"),
        sa.PrimaryKeyConstraint("run_uuid", "direction", "dataset_id", name=op.f("pk_lineage_run_dataset")),
        _fk("run_uuid", "lineage_run", "run_uuid"),
        _fk("dataset_id", "lineage_dataset"),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_lineage_run_dataset_dataset_id"), "lineage_run_dataset", ["dataset_id", "run_uuid"], schema=SCHEMA
    )
    _edge_table("lineage_job_input")
    _edge_table("lineage_job_output")
    op.create_table(
        "lineage_column_edge",
        _uuid("dst_field_id"),
        _uuid("src_field_id"),
        _uuid("job_id"),
        sa.Column("transformation_type", sa.Text(), nullable=True),
        sa.Column("transformation_subtype", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("masking", sa.Boolean(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("origin IN ('facet', 'sql')", name="origin"),
        sa.PrimaryKeyConstraint("dst_field_id", "src_field_id", "job_id", name=op.f("pk_lineage_column_edge")),
        _fk("dst_field_id", "lineage_dataset_field"),
        _fk("src_field_id", "lineage_dataset_field"),
        _fk("job_id", "lineage_job"),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_lineage_column_edge_src_field_id_dst_field_id_job_id"),
        "lineage_column_edge",
        ["src_field_id", "dst_field_id", "job_id"],
        schema=SCHEMA,
    )
    for table in ("lineage_dataset", "lineage_job"):
        op.execute(f"CREATE INDEX ix_{table}_lower_name ON {SCHEMA}.{table} (lower(name) text_pattern_ops)")

    grant_runtime("SELECT, INSERT", f"{SCHEMA}.lineage_event")
    grant_runtime("USAGE", f"SEQUENCE {SCHEMA}.lineage_event_id_seq")
    for table in DERIVED:
        grant_runtime("SELECT, INSERT, UPDATE", f"{SCHEMA}.{table}")


def downgrade() -> None:
    for table in reversed(DERIVED):
        op.drop_table(table, schema=SCHEMA)
    op.drop_table("lineage_event", schema=SCHEMA)
