"""Retention of the platform's own stores: the runtime role may delete expired quality results.

``compliance_retention`` runs as the runtime role and purges, past their retention class
(``platform`` in ``governance/retention.yaml``), the quality gate runs (``quality_run``; their
``quality_result`` rows go with them by ``ON DELETE CASCADE``, which PostgreSQL runs as the
table's owner, so no grant on ``quality_result`` is needed). Raw lineage events stay append-only
for the role (migration 0008): no task may erase the record of a data flow.

DELETE only: no task role may rewrite a governance record (no UPDATE is granted), and the audit
ledger's tables get nothing here (the ledger is never purged).

Revision ID: 0016
Revises: 0014 (re-chain after 0015 at merge)
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from scrollintel.migrate import grant_runtime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SCHEMA = "governance"
TABLES = ("quality_run",)


def upgrade() -> None:
    for table in TABLES:
        grant_runtime("DELETE", f"{SCHEMA}.{table}")


def downgrade() -> None:
    role = op.get_context().config.attributes.get("runtime_role")  # type: ignore[union-attr]
    if role:
        for table in TABLES:
            op.execute(f'REVOKE DELETE ON {SCHEMA}.{table} FROM "{role}"')
