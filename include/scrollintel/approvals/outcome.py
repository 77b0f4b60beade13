"""What an approval gate answered, read back by the tasks after it (one home for every gated DAG).

The gate (:mod:`scrollintel.approvals.gate`) is Airflow's ``ApprovalOperator``: its XCom result
holds the chosen option and the user who chose it. An answer without a user is the policy's
default after the timeout (an expiry). A policy with ``min_approvals`` > 1 is a chain of gates
``<gate>``, ``<gate>.2``, ...: granted when every step approved, otherwise the first "no" (or
expiry) decides. No Airflow import: the DAGs' tasks and the capabilities' tests use it alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The gate's option that grants.
APPROVE = "Approve"


@dataclass(frozen=True)
class GateDecision:
    """``granted``, ``rejected`` or ``expired``, who answered, and their comment."""

    outcome: str
    decided_by: str | None
    comment: str | None = None

    @property
    def granted(self) -> bool:
        """Whether the gate approved (and someone, not a timeout, said so)."""
        return self.outcome == "granted" and bool(self.decided_by)

    def describe(self, what: str) -> str:
        """``"<what> rejected by <user>: <comment>"``, or that it expired: the reason a person reads."""
        if self.outcome == "expired":
            return f"the {what} request expired without an answer"
        said = f": {self.comment}" if self.comment else ""
        return f"{what} {self.outcome} by {self.decided_by or 'an approver'}{said}"

    @classmethod
    def from_result(cls, result: Mapping[str, Any] | None) -> GateDecision | None:
        """The decision in one gate's XCom result; None when the gate never answered (it did not run)."""
        if not result or "chosen_options" not in result:
            return None
        user = result.get("responded_by_user") or {}
        decided_by = (user.get("name") or user.get("id")) if user else None
        comment = (result.get("params_input") or {}).get("comment") or None
        if not decided_by:
            return cls("expired", None, None)
        granted = list(result.get("chosen_options") or []) == [APPROVE]
        return cls("granted" if granted else "rejected", str(decided_by), comment)

    @classmethod
    def of_gate(cls, ti: Any, gate: str) -> GateDecision | None:
        """The decision of gate ``gate`` (one task or a chain of steps) seen from task instance ``ti``."""
        gate_ids = sorted(tid for tid in ti.task.dag.task_ids if tid == gate or tid.startswith(f"{gate}."))
        answered = [result for result in (ti.xcom_pull(task_ids=tid) for tid in gate_ids) if result]
        refused = [r for r in answered if list(r.get("chosen_options") or []) != [APPROVE]]
        return cls.from_result((refused or answered or [None])[-1])
