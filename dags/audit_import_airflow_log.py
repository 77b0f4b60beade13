"""Imports Airflow's own audit log (UI and API actions) into the tamper-evident ledger."""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Import of Airflow's audit log
Every 10 minutes: reads new entries of Airflow's event log through the REST API
(`GET /api/v2/eventLogs`, as the service user of the `airflow_api` connection) and appends
them to the audit ledger: who triggered, cleared or marked a run, who edited a connection or
variable. Airflow's `log` table is purged by `airflow db clean` and editable by anyone with
database access; in the ledger these actions stay, hash-chained and anchored.

Incremental and idempotent: a cursor in `governance.audit_import_cursor`, and each event's id
as its key, so re-running imports nothing twice. Only ids and the Airflow user name are kept,
never request bodies.
"""


@dag(
    schedule="*/10 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance", timeout_minutes=10),
    tags=["audit", "internal"],
    doc_md=DOC,
)
def audit_import_airflow_log() -> None:
    @task
    def import_event_log() -> dict[str, int]:
        from scrollintel.audit.airflow_log import import_event_log

        result = import_event_log()
        return {"fetched": result.fetched, "imported": result.imported, "skipped": result.skipped}

    import_event_log()


audit_import_airflow_log()
