"""Reminds approvers in Slack before an approval request expires."""

from __future__ import annotations

from airflow.sdk import dag, task

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Approval reminders
Every 15 minutes: for each approval request still waiting (an approval gate's human-in-the-loop
task, see `governance/approvals.yaml`), posts one reminder in the thread of its Slack messages
once a quarter of its time is left (at most six hours before the deadline), and records it in the
audit ledger (`approval.reminded`). A request left unanswered is rejected at its deadline by
Airflow itself; this DAG only makes sure the approvers heard of it.

Reads the ledger (`approval.requested`, `approval.notified` and the outcomes); posts through the
Airflow connection `slack_api_default`. Without Slack it has nothing to do.
"""


@dag(
    schedule="*/15 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance", timeout_minutes=10),
    tags=["approvals", "internal"],
    doc_md=DOC,
)
def approval_reminders() -> None:
    @task
    def remind() -> int:
        from scrollintel.approvals.reminders import send_reminders
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        return send_reminders(connection_url(WAREHOUSE_CONN_ID))

    remind()


approval_reminders()
