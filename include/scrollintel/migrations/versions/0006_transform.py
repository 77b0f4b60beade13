"""Transformation: ``staging``, ``marts`` and ``masking`` schemas, and the masking salt table.

Who runs dbt: the runtime role, through the ``postgres_warehouse`` connection (cosmos builds the
dbt profile from it). dbt must read every raw column in clear to mask it, and the runtime role
already owns the raw tables (ingestion creates them), so a separate transformation role would
hold the same personal data and add a login and a secret without narrowing anything.

What dbt gets, and no more:

- ``staging`` and ``marts``: USAGE and CREATE. dbt creates its views and tables there and owns
  them (it replaces them on every run); it cannot create schemas (no CREATE on the database:
  these schemas exist beforehand, so dbt never needs to create them).
- ``masking.salt``: USAGE on ``masking``, SELECT, INSERT and UPDATE on the one-row table.
  ``on-run-start`` stores the session's salt there; staging views read it with their owner's
  rights, so a reader of staging sees keyed hashes and never the salt. No CREATE on ``masking``.
- ``governance.column_classification``: SELECT, already granted by 0003 (the masking macros
  read the stored classes).

Readers: ``masking`` is closed to everyone but the runtime role (PUBLIC holds nothing on it).
A reader role (a BI tool) is given the marts with ``GRANT USAGE ON SCHEMA marts`` (as the owner)
and ``ALTER DEFAULT PRIVILEGES FOR ROLE <runtime role> IN SCHEMA marts GRANT SELECT ON TABLES``
(as the runtime role), because dbt recreates each mart table on every run; that reaches neither
``masking`` nor ``raw``.

Downgrade drops the salt table and the three schemas, and refuses (PostgreSQL error) while dbt
still has views or tables in ``staging`` or ``marts``: run ``dbt`` clean-up first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Schemas dbt builds into: views (staging) and tables (marts).
MODEL_SCHEMAS = ("staging", "marts")
MASKING_SCHEMA = "masking"


def upgrade() -> None:
    for name in MODEL_SCHEMAS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
        grant_runtime("USAGE, CREATE", f"SCHEMA {name}")

    op.execute(f"CREATE SCHEMA IF NOT EXISTS {MASKING_SCHEMA}")
    op.execute(f"REVOKE ALL ON SCHEMA {MASKING_SCHEMA} FROM PUBLIC")
    op.create_table(
        "salt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name="one_row"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_salt")),
        schema=MASKING_SCHEMA,
    )
    op.execute(f"REVOKE ALL ON {MASKING_SCHEMA}.salt FROM PUBLIC")
    grant_runtime("USAGE", f"SCHEMA {MASKING_SCHEMA}")
    grant_runtime("SELECT, INSERT, UPDATE", f"{MASKING_SCHEMA}.salt")


def downgrade() -> None:
    op.drop_table("salt", schema=MASKING_SCHEMA)
    op.execute(f"DROP SCHEMA IF EXISTS {MASKING_SCHEMA} RESTRICT")
    for name in reversed(MODEL_SCHEMAS):
        op.execute(f"DROP SCHEMA IF EXISTS {name} RESTRICT")
