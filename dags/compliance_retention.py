"""Enforces governance/retention.yaml every day: rows past their retention class go, with proof in the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Retention enforcement
Every raw table takes the retention class of its resource (`governance/sources`), every quarantine table
the `quarantine` class (`governance/retention.yaml`), and the platform's own stores the class `platform`
gives them there: quality results, raw lineage events (the lineage graph stays), full checkpoint results,
data docs pages and Airflow task logs (files by modification time; symlinks never followed). Rows older
than the class's duration (counted from `_loaded_at`, or the table's `date_columns` entry; quarantine from
`quarantined_at`; platform tables from their `date_column`) are deleted, anonymised (classified columns
nulled) or archived to the object store and deleted, as the class says (platform stores: deleted).
Each table is one transaction; a re-run finds nothing more to do. Ages are measured at the platform's
as-of instant (`SCROLLINTEL_AS_OF`; `make run` sets the demo's fixed instant, so the demo world is not
purged against today's date; unset or empty in production: now).

- **Dry run**: trigger with `{"dry_run": true}` to see what would go: counts only, nothing changes.
- **Legal holds**: a table (or `folder:<id>`) held through the `retention_override` approval
  (`compliance_legal_hold`) is left alone until the hold ends.
- **Proof**: one ledger entry per run (`compliance.retention_enforced` / `compliance.retention_dry_run`)
  with table or folder, class, action, cutoff, rows (files) due and changed, counts before and after,
  child tables' counts, and holds. The audit ledger itself is never purged.
"""


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance", timeout_minutes=120),
    tags=["compliance", "retention", "restricted"],
    params={"dry_run": Param(False, type="boolean", description="Count what would go; change nothing")},
    doc_md=DOC,
)
def compliance_retention() -> None:
    @task
    def enforce_retention() -> dict[str, Any]:
        """Apply the retention classes (or count, in a dry run) and record the proof."""

        from airflow.configuration import conf

        from scrollintel import warehouse
        from scrollintel.compliance import retention
        from scrollintel.config import load_governance
        from scrollintel.db import connection_url
        from scrollintel.quality.runner import resolve_as_of
        from scrollintel.settings import object_store_dir, state_dir

        context = get_current_context()
        dry_run = bool(context["params"].get("dry_run"))
        run_id = context["ti"].run_id
        roots = {
            "object_store": object_store_dir(),
            "state": state_dir(),
            "airflow_logs": Path(conf.get("logging", "base_log_folder")),
        }
        with warehouse.connect(connection_url(warehouse.WAREHOUSE_CONN_ID), autocommit=True) as conn:
            proofs = retention.enforce(
                conn,
                load_governance(),
                now=resolve_as_of(None),
                dry_run=dry_run,
                files_root=object_store_dir(),
                folder_roots=roots,
                run_id=run_id,
            )
        retention.record(proofs, dry_run=dry_run, run_id=run_id)
        return dict(retention.summary(proofs))

    enforce_retention()


compliance_retention()
