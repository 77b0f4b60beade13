"""Executes a data subject's erasure (GDPR Art. 17) only after approval, and proves it with a re-scan."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.task.trigger_rule import TriggerRule

from scrollintel.approvals.gate import approval_gate
from scrollintel.dag_defaults import START_DATE, default_args

GATE = "approve_erasure"
PLAN = "plan_erasure"

DOC = f"""
### Erasure of a data subject
Triggered with `{{"request_id": "<id>"}}` for an erasure request opened with `scrollintel subject erase`
or on the Compliance page. The request's identifiers never appear in the run: only its id.

1. **{PLAN}**: finds every copy of the subject (raw, quarantine, staging, marts, scores, features,
   object-store files; hashed e-mails included) by classification and column lineage, and plans each
   location: delete, redact (classified columns nulled) or keep with the retention class's legal basis;
   the source system is a manual step. Ledger `compliance.erasure_planned`.
2. **{GATE}**: the `erasure` approval (compliance stewards; Slack, the Approvals page) with the plan.
3. **execute_erasure** on approval: one warehouse transaction (deletes, redactions, suppression list so
   re-ingestion does not bring the subject back), then the files; a re-scan proves 0 rows where deletion
   was planned. Ledger `compliance.erasure_executed` and `compliance.erasure_verified`. A re-scan that
   still finds rows fails the task loudly (ledger `compliance.erasure_verification_failed`).
   **close_rejected** on rejection or expiry: nothing is erased; ledger `compliance.erasure_rejected`.
"""


def _request_id() -> Any:
    from airflow.sdk.exceptions import AirflowFailException

    from scrollintel.compliance.requests import parse_id
    from scrollintel.compliance.subjects import SubjectInputError

    raw = get_current_context()["params"].get("request_id")
    try:
        return parse_id(str(raw or ""))
    except SubjectInputError as err:
        raise AirflowFailException(f"params.request_id: {err}") from err


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance", timeout_minutes=60),
    tags=["compliance", "restricted"],
    params={"request_id": Param("", type="string", description="Id of an open erasure request")},
    doc_md=DOC,
)
def compliance_erasure() -> None:
    @task
    def plan_erasure() -> dict[str, Any]:
        """The plan, stored with the request and recorded; what the approver is shown."""
        from scrollintel.compliance import erasure, workflow
        from scrollintel.db import connection_url
        from scrollintel.settings import object_store_dir
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        request_id = _request_id()
        run_id = get_current_context()["ti"].run_id
        steps = workflow.plan(
            connection_url(WAREHOUSE_CONN_ID), request_id, files_root=object_store_dir(), dag_run_id=run_id
        )
        rows = sum(step.rows for step in steps)
        return {
            "request_id": str(request_id),
            "summary": f"request {request_id}: {len(steps)} step(s), {rows} row(s)",
            "details": erasure.plan_markdown(steps),
        }

    gate = approval_gate(
        task_id=GATE,
        subject="erasure",
        summary=f"{{{{ ti.xcom_pull(task_ids='{PLAN}')['summary'] }}}}",
        details=f"{{{{ ti.xcom_pull(task_ids='{PLAN}')['details'] }}}}",
    )

    @task
    def execute_erasure(planned: dict[str, Any]) -> dict[str, Any]:
        """On approval: erase, re-scan, close the request."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.compliance import erasure, workflow
        from scrollintel.db import connection_url
        from scrollintel.settings import object_store_dir
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        decision = GateDecision.of_gate(get_current_context()["ti"], GATE)
        if decision is None or not decision.granted:
            raise AirflowFailException(f"no approval to erase on (the gate answered {decision})")
        try:
            result = workflow.execute(
                connection_url(WAREHOUSE_CONN_ID), _request_id(), decision, files_root=object_store_dir()
            )
        except (erasure.ErasureFailed, erasure.ErasureRefused) as err:
            raise AirflowFailException(str(err)) from err
        return {"request_id": planned["request_id"], "changed": result["changed"], "ok": result["rescan"]["ok"]}

    # NONE_FAILED, not ALL_SKIPPED: when a task before the gate fails, this leaf is upstream_failed and
    # the run is red (ALL_SKIPPED would skip it and Airflow would call the run a success); on
    # approval it skips itself.
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def close_rejected() -> None:
        """On rejection or expiry (the gate skipped ``execute_erasure``): close the request, erase nothing."""
        from airflow.sdk.exceptions import AirflowSkipException

        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.compliance import workflow
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        decision = GateDecision.of_gate(get_current_context()["ti"], GATE)
        if decision is not None and decision.outcome == "granted":
            raise AirflowSkipException("the erasure was approved: nothing to close")
        workflow.reject(connection_url(WAREHOUSE_CONN_ID), _request_id(), decision)

    planned = plan_erasure()
    executed = execute_erasure(planned)
    planned >> gate >> executed >> close_rejected()


compliance_erasure()
