"""Retention of the platform's own stores: the runtime role may delete expired quality results and raw lineage events.

``compliance_retention`` runs as the runtime role and purges, past their retention class
(``platform`` in ``governance/retention.yaml``), the quality gate runs (``quality_run``; their
``quality_result`` rows go with them by ``ON DELETE CASCADE``, which PostgreSQL runs as the
table's owner, so no grant on ``quality_result`` is needed) and the raw lineage events
(``lineage_event``; the graph derived from them is kept, and the role still may not delete it).

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
TABLES = ("quality_run", "lineage_event")


def upgrade() -> None:
    for table in TABLES:
        grant_runtime("DELETE", f"{SCHEMA}.{table}")


def downgrade() -> None:
    role = op.get_context().config.attributes.get("runtime_role")  # type: ignore[union-attr]
    if role:
        for table in TABLES:
            op.execute(f'REVOKE DELETE ON {SCHEMA}.{table} FROM "{role}"')
