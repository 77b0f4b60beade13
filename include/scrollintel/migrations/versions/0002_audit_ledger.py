"""Audit ledger: hash-chained entries, Merkle subtree hashes, anchors, verifications, import cursor.

The runtime role may only SELECT and INSERT the ledger tables (UPDATE on the import cursor);
statement triggers refuse UPDATE, DELETE and TRUNCATE on the ledger tables for every role,
including the owner, as defence in depth. A superuser can still disable triggers; verification
(``scrollintel audit verify``) then reports the first altered entry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "governance"
#: Tables no role may change or empty once written.
APPEND_ONLY = ("audit_entry", "audit_tree_node", "audit_anchor", "audit_verification")

REFUSE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING HINT = 'audit ledger rows are never changed or removed; record a new entry instead';
END;
$$
"""


def _hash_column(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.LargeBinary(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        _hash_column("prev_hash"),
        _hash_column("entry_hash"),
        sa.Column("event_key", sa.Text(), nullable=True),
        sa.Column("appended_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_audit_entry_seq_not_negative")),
        sa.CheckConstraint(
            "octet_length(prev_hash) = 32 AND octet_length(entry_hash) = 32", name=op.f("ck_audit_entry_hash_sizes")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_audit_entry_recorded_at"), "audit_entry", ["recorded_at"], schema=SCHEMA)
    for column in ("actor", "action", "subject"):
        op.create_index(op.f(f"ix_audit_entry_{column}_seq"), "audit_entry", [column, "seq"], schema=SCHEMA)
    op.create_index(
        op.f("ix_audit_entry_event_key"),
        "audit_entry",
        ["event_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("event_key IS NOT NULL"),
    )

    op.create_table(
        "audit_tree_node",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        _hash_column("hash"),
        sa.CheckConstraint("octet_length(hash) = 32", name=op.f("ck_audit_tree_node_hash_size")),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree_node")),
        schema=SCHEMA,
    )

    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        _hash_column("root_hash"),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchor")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_audit_anchor_tree_size"), "audit_anchor", ["tree_size"], schema=SCHEMA)
    op.create_index(op.f("ix_audit_anchor_signed_at"), "audit_anchor", ["signed_at"], schema=SCHEMA)

    op.create_table(
        "audit_verification",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("bad_index", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("anchor_size", sa.BigInteger(), nullable=True),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_audit_verification_verified_at"), "audit_verification", ["verified_at"], schema=SCHEMA)

    op.create_table(
        "audit_import_cursor",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_event_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_audit_import_cursor")),
        schema=SCHEMA,
    )

    op.execute(REFUSE_FUNCTION)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.audit_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {SCHEMA}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.audit_refuse_change()"
        )
        grant_runtime("SELECT, INSERT", f"{SCHEMA}.{table}")
    grant_runtime("USAGE", f"SEQUENCE {SCHEMA}.audit_anchor_id_seq")
    grant_runtime("USAGE", f"SEQUENCE {SCHEMA}.audit_verification_id_seq")
    grant_runtime("SELECT, INSERT, UPDATE", f"{SCHEMA}.audit_import_cursor")


def downgrade() -> None:
    for table in ("audit_import_cursor", *reversed(APPEND_ONLY)):
        op.drop_table(table, schema=SCHEMA)
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.audit_refuse_change()")
