"""Anchors the audit ledger: flushes the outbox, then signs and stores the Merkle tree head."""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Audit ledger anchor
Every hour: first appends any audit events waiting in this machine's durable outbox (events
recorded while the warehouse was unreachable), then signs the ledger's current tree head
(size + Merkle root, Ed25519 key from the `audit_signing` connection) and writes it outside
the database: the local object store folder `audit-anchors/` by default, an S3 bucket with
Object Lock (COMPLIANCE) in production, optionally posted to Slack.

Why: a hash chain alone cannot reveal that its last entries were deleted or that the whole
ledger was recomputed; a signed head kept elsewhere can (`audit_verify`). The anchor refuses
to sign when the ledger no longer extends the previous head, and says so.

The audit anchorer process (`scrollintel audit anchorer`, started by `make run`) signs a head
within seconds of every append; this hourly run is the safety net when it is not running, and
the regular flush of the outbox.
"""


@dag(
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance", timeout_minutes=10),
    tags=["audit", "internal"],
    doc_md=DOC,
)
def audit_anchor() -> None:
    @task
    def flush_outbox() -> int:
        from scrollintel.audit.writer import flush_outbox

        return flush_outbox()

    @task
    def anchor() -> dict[str, object]:
        from scrollintel.audit.anchor import anchor

        result = anchor()
        return {
            "tree_size": result.head.tree_size,
            "root_hash": result.head.root_hash.hex(),
            "location": result.location,
        }

    flush_outbox() >> anchor()


audit_anchor()
