"""Budget increases: a team asks for more through the ``budget_increase`` approval; what is granted counts.

A request (team, month, amount, reason) is a run of the ``cost_budget_increase`` DAG, triggered by
``scrollintel cost budget request`` as the asking user (or from Airflow's trigger form); its
``dag_id`` and ``run_id`` are the request's id. The DAG validates the request
(:func:`validate_request`), puts it to the approval gate (policy ``budget_increase`` of
``governance/approvals.yaml``: approvers, timeout, separation of duties), then records the
outcome:

- approved: one row of ``governance.budget_increases`` (:func:`record_approved`) and a ledger entry
  ``cost.budget_increase_approved`` naming the request, team, month, amount and approver;
- rejected or expired: a ledger entry ``cost.budget_increase_rejected``; nothing else changes.

A team's **effective budget** for a month is its configured ``monthly_amount`` plus the increases
approved for that month (:func:`effective_budgets`); budget alerts, the forecast against budget on
the Cost & ROI page and the exports all use it (ADR 0018).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ScrollIntelError

if TYPE_CHECKING:
    from scrollintel.config.budgets import Budget
    from scrollintel.config.governance import Governance

#: The approval policy (``governance/approvals.yaml``) and the DAG that asks it.
SUBJECT = "budget_increase"
DAG_ID = "cost_budget_increase"
#: Ledger actions of a request's outcome (the gate records the request and the answer itself).
REQUESTED_ACTION = "cost.budget_increase_requested"
APPROVED_ACTION = "cost.budget_increase_approved"
REJECTED_ACTION = "cost.budget_increase_rejected"
#: The largest single increase accepted (the column is numeric(14, 2)).
MAX_AMOUNT = Decimal("1000000000")
MAX_REASON = 500
_MONTH = re.compile(r"\d{4}-\d{2}")


class BudgetRequestError(ScrollIntelError):
    """A budget increase request with a bad field; the message starts with the field's name."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class IncreaseRequest:
    """A validated request: ``amount`` more for ``team`` in ``period`` (``YYYY-MM``), and why."""

    team: str
    period: str
    amount: Decimal
    currency: str
    reason: str

    def as_conf(self) -> dict[str, str]:
        """The DAG run's params (what the CLI triggers with and the DAG validates again)."""
        return {"team": self.team, "month": self.period, "amount": str(self.amount), "reason": self.reason}

    @property
    def summary(self) -> str:
        """One line for the approvers."""
        return f"team {self.team}: +{self.amount:,.2f} {self.currency} for {self.period}"


@dataclass(frozen=True)
class Increase:
    """One approved increase, with the approval that granted it."""

    dag_id: str
    run_id: str
    amount: Decimal
    reason: str
    requested_by: str | None
    approved_by: str
    approval_task_id: str
    approved_at: datetime

    @property
    def approval_id(self) -> str:
        """The approval's id, as the gate's ledger entries name it (``<dag_id>:<run_id>:<task_id>``)."""
        return f"{self.dag_id}:{self.run_id}:{self.approval_task_id}"


@dataclass(frozen=True)
class EffectiveBudget:
    """A team's budget for a month: the configured amount plus the approved increases."""

    team: str
    period: str
    currency: str
    configured: Decimal
    increases: tuple[Increase, ...] = ()

    @property
    def amount(self) -> Decimal:
        """What alerts and forecasts are measured against."""
        return self.configured + sum((item.amount for item in self.increases), Decimal(0))

    @property
    def source(self) -> str:
        """Where the figure comes from, e.g. ``300.00 configured + 300.00 (approval <id>, fi-controller)``."""
        parts = [f"{self.configured:,.2f} configured"]
        parts += [f"{item.amount:,.2f} (approval {item.approval_id}, {item.approved_by})" for item in self.increases]
        return " + ".join(parts)


# --------------------------------------------------------------------------- asking


def validate_request(
    team: Any, month: Any, amount: Any, reason: Any, governance: Governance | None = None, *, today: date | None = None
) -> IncreaseRequest:
    """The request, or :class:`BudgetRequestError` naming the first bad field.

    ``team`` must have a budget in ``governance/budgets.yaml``; ``month`` is ``YYYY-MM``, the current
    month or a later one; ``amount`` a positive number with at most 2 decimals; ``reason`` a short text.
    """
    from scrollintel.config import load_governance

    governance = governance or load_governance()
    budgets = {budget.team: budget for budget in governance.budgets.budgets}
    team = str(team or "").strip()
    if team not in budgets:
        known = ", ".join(budgets)
        raise BudgetRequestError("team", f"{team!r} has no budget in governance/budgets.yaml (teams: {known})")
    period = _month(month, today or datetime.now(UTC).date())
    value = _amount(amount)
    text = " ".join(str(reason or "").split())
    if not text:
        raise BudgetRequestError("reason", "say why the team needs more (the approvers see it; the ledger keeps it)")
    if len(text) > MAX_REASON:
        raise BudgetRequestError("reason", f"at most {MAX_REASON} characters, got {len(text)}")
    return IncreaseRequest(team, period, value, budgets[team].currency, text)


def parse_month(value: Any) -> str:
    """``YYYY-MM`` as given, or :class:`BudgetRequestError` for ``month``."""
    text = str(value or "").strip()
    if not _MONTH.fullmatch(text) or not 1 <= int(text[5:]) <= 12:
        raise BudgetRequestError("month", f"{text!r} is not a month (YYYY-MM, e.g. 2026-12)")
    return text


def _month(value: Any, today: date) -> str:
    text = parse_month(value)
    if text < f"{today:%Y-%m}":
        raise BudgetRequestError("month", f"{text} has ended; ask for the current month ({today:%Y-%m}) or a later one")
    return text


def _amount(value: Any) -> Decimal:
    text = str(value if value is not None else "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise BudgetRequestError("amount", f"{text!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise BudgetRequestError("amount", f"must be above 0, got {text}")
    if number > MAX_AMOUNT:
        raise BudgetRequestError("amount", f"{text} is above the largest increase accepted ({MAX_AMOUNT:,})")
    if number != number.quantize(Decimal("0.01")):
        raise BudgetRequestError("amount", f"at most 2 decimals, got {text}")
    return number.quantize(Decimal("0.01"))


def request_increase(api_url: str, username: str, password: str, request: IncreaseRequest) -> str:
    """Trigger the ``cost_budget_increase`` DAG through Airflow's REST API as ``username``; returns the run id.

    ``username`` is the requester: with separation of duties they may not approve it.
    """
    from scrollintel.approvals.trigger import trigger_as

    return trigger_as(
        api_url, username, password, DAG_ID, conf=request.as_conf(), note=f"budget increase: {request.summary}"
    )


# --------------------------------------------------------------------------- the effective budget


def approved_increases(conn: Any, period: str, team: str | None = None) -> dict[str, list[Increase]]:
    """Approved increases for ``period`` per team (oldest first)."""
    rows = conn.execute(
        """
        SELECT team, dag_id, run_id, amount, reason, requested_by, approved_by, approval_task_id, approved_at
        FROM governance.budget_increases WHERE period = %s AND (%s::text IS NULL OR team = %s)
        ORDER BY approved_at, run_id
        """,
        (period, team, team),
    ).fetchall()
    found: dict[str, list[Increase]] = defaultdict(list)
    for row in rows:
        found[row[0]].append(Increase(row[1], row[2], Decimal(row[3]), *row[4:]))
    return found


def effective_budgets(conn: Any, governance: Governance, period: str) -> dict[str, EffectiveBudget]:
    """Every team's effective budget for ``period`` (``YYYY-MM``), in budgets.yaml order."""
    increases = approved_increases(conn, period)
    return {
        budget.team: _effective(budget, period, increases.get(budget.team, [])) for budget in governance.budgets.budgets
    }


def effective_budget(conn: Any, budget: Budget, period: str) -> EffectiveBudget:
    """One team's effective budget for ``period``."""
    return _effective(budget, period, approved_increases(conn, period, budget.team).get(budget.team, []))


def _effective(budget: Budget, period: str, increases: list[Increase]) -> EffectiveBudget:
    return EffectiveBudget(budget.team, period, budget.currency, budget.monthly_amount, tuple(increases))


# --------------------------------------------------------------------------- outcomes


def _ledger(
    action: str, request: IncreaseRequest, details: dict[str, Any], *, actor: str, key: str, url: str | None
) -> None:
    from scrollintel import audit

    audit.record(
        action,
        f"team:{request.team}/budget:{request.period}",
        {
            "team": request.team,
            "month": request.period,
            "amount": str(request.amount),
            "currency": request.currency,
            "reason": request.reason,
            **details,
        },
        actor=actor,
        key=key,
        url=url,
    )


def record_requested(
    url: str,
    request: IncreaseRequest,
    *,
    dag_id: str,
    run_id: str,
    requested_by: str | None,
    ledger_url: str | None = None,
) -> dict[str, Any]:
    """Record the request (ledger) and return what the approvers are shown: the budget before and after."""
    from scrollintel.config import load_governance
    from scrollintel.warehouse import connect

    budget = next(item for item in load_governance().budgets.budgets if item.team == request.team)
    first = date(int(request.period[:4]), int(request.period[5:]), 1)
    with connect(url) as conn:
        current = effective_budget(conn, budget, request.period)
        row = conn.execute(
            "SELECT coalesce(sum(amount), 0) FROM governance.cost_facts "
            "WHERE team = %s AND day >= %s AND day < (%s::date + interval '1 month')",
            (request.team, first, first),
        ).fetchone()
    spent = Decimal(row[0]) if row else Decimal(0)
    details = {
        "request": f"{dag_id}:{run_id}",
        "team": request.team,
        "month": request.period,
        "increase": f"{request.amount:,.2f} {request.currency}",
        "budget now": f"{current.amount:,.2f} {request.currency} ({current.source})",
        "budget if approved": f"{current.amount + request.amount:,.2f} {request.currency}",
        "cost so far this month": f"{spent:,.2f} {request.currency}",
        "reason": request.reason,
    }
    _ledger(
        REQUESTED_ACTION,
        request,
        {"request": f"{dag_id}:{run_id}", "requested_by": requested_by, "budget_now": str(current.amount)},
        actor=requested_by or f"dag:{dag_id}",
        key=f"{REQUESTED_ACTION}:{dag_id}:{run_id}",
        url=ledger_url,
    )
    return details


def record_approved(
    url: str,
    request: IncreaseRequest,
    *,
    dag_id: str,
    run_id: str,
    approval_task_id: str,
    requested_by: str | None,
    approved_by: str | None,
    ledger_url: str | None = None,
) -> EffectiveBudget:
    """Store the approved increase and record it; the team's effective budget after it.

    Recording the same request again (a task rerun) changes nothing. An approval without an approver,
    or by the requester, is refused (:class:`BudgetRequestError`): the gate's separation of duties
    already prevents it, the table's constraint too.
    """
    from scrollintel.config import load_governance
    from scrollintel.warehouse import connect

    if not approved_by:
        raise BudgetRequestError("approved_by", "an increase needs the approver's name; nothing was recorded")
    if requested_by and approved_by == requested_by:
        raise BudgetRequestError("approved_by", f"{approved_by} asked for this increase and may not approve it")
    budget = next(item for item in load_governance().budgets.budgets if item.team == request.team)
    with connect(url) as conn:
        conn.execute(
            """
            INSERT INTO governance.budget_increases
              (dag_id, run_id, team, period, amount, currency, reason, requested_by, approved_by, approval_task_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dag_id, run_id) DO NOTHING
            """,
            (dag_id, run_id, request.team, request.period, request.amount, request.currency, request.reason,
             requested_by, approved_by, approval_task_id),
        )  # fmt: skip
        effective = effective_budget(conn, budget, request.period)
    _ledger(
        APPROVED_ACTION,
        request,
        {
            "request": f"{dag_id}:{run_id}",
            "approval_id": f"{dag_id}:{run_id}:{approval_task_id}",
            "requested_by": requested_by,
            "approved_by": approved_by,
            "configured_budget": str(effective.configured),
            "effective_budget": str(effective.amount),
        },
        actor=approved_by,
        key=f"{APPROVED_ACTION}:{dag_id}:{run_id}",
        url=ledger_url,
    )
    return effective


def record_rejected(
    request: IncreaseRequest,
    *,
    dag_id: str,
    run_id: str,
    approval_task_id: str,
    outcome: str,
    decided_by: str | None,
    requested_by: str | None,
    ledger_url: str | None = None,
) -> None:
    """Record a rejected (or expired) request; the budget stays as it is."""
    _ledger(
        REJECTED_ACTION,
        request,
        {
            "request": f"{dag_id}:{run_id}",
            "approval_id": f"{dag_id}:{run_id}:{approval_task_id}",
            "outcome": outcome,
            "decided_by": decided_by,
            "requested_by": requested_by,
        },
        actor=decided_by or f"dag:{dag_id}",
        key=f"{REJECTED_ACTION}:{dag_id}:{run_id}",
        url=ledger_url,
    )
