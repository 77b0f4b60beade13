"""Verifies the audit ledger every day: hash chain, Merkle tree and signed tree heads."""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Audit ledger verification
Every day: recomputes every entry hash, the chain of previous hashes, every stored Merkle
subtree and the roots of the signed tree heads, and compares them with the anchors outside
the database. The result is stored for the Audit page.

A gate: the run **fails** naming the first bad entry index and what happened to it
(edited, deleted, inserted, reordered, truncated, rewritten, tree, anchor). Reproduce with
`scrollintel audit verify`.
"""


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance", timeout_minutes=60),
    tags=["audit", "internal"],
    doc_md=DOC,
)
def audit_verify() -> None:
    @task
    def verify() -> dict[str, object]:
        from scrollintel.audit.verify import verify_ledger

        report = verify_ledger()
        report.raise_for_problem()
        return {"size": report.size, "anchored": report.anchored, "anchor_size": report.anchor_size}

    verify()


audit_verify()
