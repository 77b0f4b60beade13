"""Moves the churn model's champion back to the previous champion, after an approval."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task

from scrollintel.approvals.gate import approval_gate
from scrollintel.config import load_governance
from scrollintel.dag_defaults import START_DATE, default_args
from scrollintel.ml.promotion import champion_changed_asset

MODEL = load_governance().models.model("churn")
CHAMPION_CHANGED = champion_changed_asset(MODEL.name)
GATE = "approve_rollback"

DOC = """
### Churn model rollback
Triggered by `scrollintel model rollback churn` (or by hand, with an optional `{"reason": "..."}` as
the run's configuration). Blue/green: the previous version is still registered under the alias
`previous-champion`, so a rollback is an alias move, no retraining.

1. **check**: which versions would swap (fails when there is no `previous-champion`).
2. **approve_rollback**: the `model_promotion` approval (the same approvers as a promotion; the
   requester may not approve it).
3. **rollback** on approval: `champion` back to the previous champion, which gets `previous-champion`
   in turn; ledger `model.rolled_back`; an event on the champion Asset starts `ml_churn_score`. It
   moves only the champion the approval was asked for: if `champion` moved since, it fails and says so.
   On rejection or expiry nothing changes (the gate's answer is in the ledger).
"""


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(MODEL.team, timeout_minutes=15),
    tags=["ml", "confidential"],
    doc_md=DOC,
)
def ml_churn_rollback() -> None:
    @task
    def check() -> dict[str, Any]:
        """The champion and the version a rollback would restore, and the request's text."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.ml import promotion

        try:
            champion, previous = promotion.rollback_target(MODEL.name)
        except promotion.PromotionError as err:
            raise AirflowFailException(str(err)) from err
        conf = get_current_context()["dag_run"].conf or {}
        reason = str(conf.get("reason") or "no reason given")
        return {
            "champion": champion,
            "previous": previous,
            "summary": f"{MODEL.name}: roll back champion v{champion} to v{previous}",
            "details": {
                "model": MODEL.name,
                "champion now": f"v{champion}",
                "back to": f"v{previous}",
                "reason": reason,
            },
        }

    checked = check()
    gate = approval_gate(
        task_id=GATE,
        subject="model_promotion",
        summary="{{ ti.xcom_pull(task_ids='check')['summary'] }}",
        details="{{ ti.xcom_pull(task_ids='check')['details'] | tojson }}",
    )

    @task(outlets=[CHAMPION_CHANGED])
    def rollback(checked: dict[str, Any]) -> dict[str, Any]:
        """On approval: swap champion and previous-champion (only if champion is still the one asked about)."""
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.approvals.outcome import GateDecision
        from scrollintel.ml import promotion
        from scrollintel.ml.monitoring import lineage_run_id

        ti = get_current_context()["ti"]
        decision = GateDecision.of_gate(ti, GATE)
        if decision is None or decision.outcome != "granted" or not decision.decided_by:
            raise AirflowFailException(f"no approval to roll back on (the gate answered {decision})")
        context = promotion.RunContext(ti.dag_id, ti.run_id, ti.task_id, lineage_run_id(ti))
        try:
            return promotion.rollback(
                MODEL.name, decision.decided_by, expected_champion=checked["champion"], context=context
            )
        except promotion.PromotionError as err:
            raise AirflowFailException(str(err)) from err

    checked >> gate >> rollback(checked)


ml_churn_rollback()
