"""Raises a team's monthly budget only after the budget_increase approval; the approved amount counts from then on."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.task.trigger_rule import TriggerRule

from scrollintel.approvals.gate import approval_gate
from scrollintel.dag_defaults import START_DATE, default_args

GATE = "approve_increase"
VALIDATE = "validate_request"

DOC = f"""
### Budget increase
Triggered per request by `scrollintel cost budget request --team T --month YYYY-MM --amount N --reason ...`
(or Airflow's trigger form) with `team`, `month`, `amount` and `reason`. The user who triggers the run is
the requester.

1. **{VALIDATE}**: the team must have a budget in `governance/budgets.yaml`, the month be the current one or
   later, the amount positive (2 decimals at most), the reason given; a bad field fails the run with a
   message naming it. Ledger `cost.budget_increase_requested`.
2. **{GATE}**: the `budget_increase` approval of `governance/approvals.yaml` (finance; Slack, the Approvals
   page), showing the budget now and if approved, and the month's cost so far. Separation of duties: the
   requester cannot approve.
3. **apply_increase** on approval: one row of `governance.budget_increases` and the ledger entry
   `cost.budget_increase_approved` (request, team, month, amount, approver). From then on alerts, the Cost
   & ROI page and its exports measure the team's month against the **effective budget** = configured
   amount + approved increases (ADR 0018).
   **close_rejected** on rejection or expiry: ledger `cost.budget_increase_rejected`; nothing changes.
"""


def _request() -> Any:
    """The run's validated request; a bad field fails the task (no retry gives another answer)."""
    from airflow.sdk.exceptions import AirflowFailException

    from scrollintel.cost.increases import BudgetRequestError, validate_request

    params = get_current_context()["params"]
    try:
        return validate_request(params.get("team"), params.get("month"), params.get("amount"), params.get("reason"))
    except BudgetRequestError as err:
        raise AirflowFailException(f"params.{err}") from err


def _requester() -> str | None:
    return getattr(get_current_context()["dag_run"], "triggering_user_name", None) or None


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=default_args("finance", timeout_minutes=10),
    tags=["cost", "approvals", "internal"],
    params={
        "team": Param("", type="string", description="Team of governance/budgets.yaml"),
        "month": Param("", type="string", description="Month the increase is for (YYYY-MM)"),
        "amount": Param("", type="string", description="How much more (the budget's currency, e.g. 500 or 250.50)"),
        "reason": Param("", type="string", description="Why the team needs more (shown to the approvers)"),
    },
    doc_md=DOC,
)
def cost_budget_increase() -> None:
    @task
    def validate_request() -> dict[str, Any]:
        """Validate the request and record it; what the approvers are shown."""
        import json

        from scrollintel.cost.increases import record_requested
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        request = _request()
        ti = get_current_context()["ti"]
        details = record_requested(
            connection_url(WAREHOUSE_CONN_ID), request, dag_id=ti.dag_id, run_id=ti.run_id, requested_by=_requester()
        )
        return {"summary": request.summary, "details": json.dumps(details)}

    gate = approval_gate(
        task_id=GATE,
        subject="budget_increase",
        summary=f"{{{{ ti.xcom_pull(task_ids='{VALIDATE}')['summary'] }}}}",
        details=f"{{{{ ti.xcom_pull(task_ids='{VALIDATE}')['details'] }}}}",
    )

    @task
    def apply_increase() -> dict[str, str]:
        """On approval: the increase is stored and recorded; the team's effective budget after it."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.cost.increases import BudgetRequestError, record_approved
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        ti = get_current_context()["ti"]
        decision = GateDecision.of_gate(ti, GATE)
        if decision is None or decision.outcome != "granted":
            raise AirflowFailException(f"no approval to raise the budget on (the gate answered {decision})")
        try:
            effective = record_approved(
                connection_url(WAREHOUSE_CONN_ID),
                _request(),
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                approval_task_id=GATE,
                requested_by=_requester(),
                approved_by=decision.decided_by,
            )
        except BudgetRequestError as err:
            raise AirflowFailException(str(err)) from err
        return {"team": effective.team, "month": effective.period, "effective_budget": str(effective.amount)}

    # NONE_FAILED, not ALL_SKIPPED: after a failed validation this leaf is upstream_failed and the run
    # is red (with ALL_SKIPPED it would be skipped and the run green); on approval it skips itself.
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def close_rejected() -> None:
        """On rejection or expiry (the gate skipped ``apply_increase``): record it; the budget stays."""
        from airflow.sdk.exceptions import AirflowSkipException

        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.cost.increases import record_rejected

        ti = get_current_context()["ti"]
        decision = GateDecision.of_gate(ti, GATE)
        if decision is not None and decision.outcome == "granted":
            raise AirflowSkipException("the increase was approved: nothing to close")
        record_rejected(
            _request(),
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            approval_task_id=GATE,
            outcome=decision.outcome if decision else "expired",
            decided_by=decision.decided_by if decision else None,
            requested_by=_requester(),
        )

    validated = validate_request()
    applied = apply_increase()
    validated >> gate >> applied >> close_rejected()


cost_budget_increase()
