"""Compliance: data subject requests, the ingestion suppression list and legal holds.

``subject_requests``: one row per access or erasure request (GDPR Art. 15 / 17). The subject's
identifiers (``identifiers``, JSON) are kept only while the request is open: closing it (executed,
rejected, expired) replaces them with their SHA-256 (``identifiers_sha256``), so the request
stays provable without holding the data it was about. ``plan`` is the erasure plan as the
approver saw it: table, row count, action and legal basis, never a row's values.

``subject_suppression``: the keys of erased subjects, as SHA-256 of the text value, per raw table
and column. The ingestion loader drops a staged row whose key is listed, so a re-ingestion from
a source system that still holds the subject does not bring them back. Entries are kept as long
as the erasure is (Art. 17(1) and 5(2): the controller must be able to show it is honoured).

``retention_holds``: legal holds, each granted through the ``retention_override`` approval
(``compliance_legal_hold`` DAG): the retention DAG purges nothing of a held table until the hold
ends. Proofs of retention runs are ledger entries, not rows here (the ledger is never purged).

The runtime role may read and append all three, and update a request's status; it never deletes
a suppression entry or a hold.

Revision ID: 0014
Revises: 0012 (re-chained after 0013 at merge)
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scrollintel.migrate import grant_runtime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SCHEMA = "governance"
REQUESTS = "subject_requests"
SUPPRESSION = "subject_suppression"
HOLDS = "retention_holds"
KINDS = ("access", "erasure")
STATUSES = ("open", "planned", "awaiting_approval", "executed", "rejected", "failed")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    op.create_table(
        REQUESTS,
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("identifiers", postgresql.JSONB(), nullable=True),
        sa.Column("identifiers_sha256", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("plan", postgresql.JSONB(), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("dag_run_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind_known"),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name="status_known"),
        sa.CheckConstraint(
            "identifiers IS NULL OR status NOT IN ('executed', 'rejected')", name="closed_requests_hold_no_identifiers"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_requests")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_subject_requests_created_at"), REQUESTS, [sa.text("created_at DESC")], schema=SCHEMA)
    op.create_table(
        SUPPRESSION,
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=False),
        sa.Column("value_sha256", sa.Text(), nullable=False),
        sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint(
            "source", "resource", "column_name", "value_sha256", name=op.f("pk_subject_suppression")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], [f"{SCHEMA}.{REQUESTS}.id"], name=op.f("fk_subject_suppression_request_id_subject_requests")
        ),
        schema=SCHEMA,
    )
    op.create_table(
        HOLDS,
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=False),
        sa.Column("dag_run_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_holds")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_retention_holds_target_held_until"), HOLDS, ["target", "held_until"], schema=SCHEMA)
    grant_runtime("SELECT, INSERT", f"{SCHEMA}.{HOLDS}")
    grant_runtime("SELECT, INSERT, UPDATE", f"{SCHEMA}.{REQUESTS}")
    grant_runtime("SELECT, INSERT", f"{SCHEMA}.{SUPPRESSION}")


def downgrade() -> None:
    op.drop_table(HOLDS, schema=SCHEMA)
    op.drop_table(SUPPRESSION, schema=SCHEMA)
    op.drop_table(REQUESTS, schema=SCHEMA)
