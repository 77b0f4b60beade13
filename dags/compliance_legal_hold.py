"""Puts a table under a legal hold (retention paused) only with the retention_override approval."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.task.trigger_rule import TriggerRule

from scrollintel.approvals.gate import approval_gate
from scrollintel.dag_defaults import START_DATE, default_args

GATE = "approve_hold"
CHECK = "check_hold"

DOC = f"""
### Legal hold
Triggered with `{{"table": "raw.shop__orders", "until": "2027-06-30", "reason": "..."}}`.

1. **{CHECK}**: the table (or platform `folder:<id>`) must be one retention enforces (`compliance_retention`)
   and the date in the future.
2. **{GATE}**: the `retention_override` approval (compliance steward and data platform lead, two distinct people).
3. **record_hold** on approval: `governance.retention_holds` and ledger `compliance.legal_hold_granted`; the
   retention DAG leaves the table alone until the hold ends. **close_rejected** on a "no" or expiry: ledger
   `compliance.legal_hold_rejected`, nothing held.
"""


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=default_args("compliance"),
    tags=["compliance", "retention", "internal"],
    params={
        "table": Param(
            "",
            type="string",
            description="raw.<source>__<resource>, raw_quarantine.<...>, governance.<...> or folder:<id>",
        ),
        "until": Param("", type="string", description="End of the hold (YYYY-MM-DD)"),
        "reason": Param("", type="string", description="Why (case or matter reference)"),
    },
    doc_md=DOC,
)
def compliance_legal_hold() -> None:
    @task
    def check_hold() -> dict[str, Any]:
        """The hold asked for, checked; what the approvers are shown."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel import warehouse
        from scrollintel.compliance import retention
        from scrollintel.config import load_governance
        from scrollintel.db import connection_url

        params = get_current_context()["params"]
        with warehouse.connect(connection_url(warehouse.WAREHOUSE_CONN_ID)) as conn:
            known = retention.hold_targets(conn, load_governance())
        try:
            hold = retention.HoldRequest.parse(params, known)
        except ValueError as err:
            raise AirflowFailException(str(err)) from err
        return {**hold.as_dict(), "summary": f"hold {hold.table} until {hold.until.date()}: {hold.reason}"}

    gate = approval_gate(
        task_id=GATE,
        subject="retention_override",
        summary=f"{{{{ ti.xcom_pull(task_ids='{CHECK}')['summary'] }}}}",
    )

    @task
    def record_hold(hold: dict[str, Any]) -> str:
        """On approval: the hold is stored and recorded."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel import warehouse
        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.compliance import retention
        from scrollintel.db import connection_url

        ti = get_current_context()["ti"]
        decision = GateDecision.of_gate(ti, GATE)
        if decision is None or decision.outcome != "granted" or not decision.decided_by:
            raise AirflowFailException(f"no approval to hold on (the gate answered {decision})")
        with warehouse.connect(connection_url(warehouse.WAREHOUSE_CONN_ID)) as conn:
            return str(
                retention.grant_hold(conn, retention.HoldRequest.from_dict(hold), decision.decided_by, ti.run_id)
            )

    # NONE_FAILED, not ALL_SKIPPED: when a task before the gate fails, this leaf is upstream_failed and
    # the run is red (ALL_SKIPPED would skip it and Airflow would call the run a success); on
    # approval it skips itself.
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def close_rejected() -> None:
        """On rejection or expiry: nothing is held; the ledger says so."""
        from airflow.sdk.exceptions import AirflowSkipException

        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.compliance import retention

        ti = get_current_context()["ti"]
        decision = GateDecision.of_gate(ti, GATE)
        if decision is not None and decision.outcome == "granted":
            raise AirflowSkipException("the hold was approved")
        retention.record_hold_rejected(ti.xcom_pull(task_ids=CHECK), decision.outcome if decision else "expired")

    checked = check_hold()
    held = record_hold(checked)
    checked >> gate >> held >> close_rejected()


compliance_legal_hold()
