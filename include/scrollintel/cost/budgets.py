"""Budget thresholds: month-to-date actual and month-end forecast against each team's budget.

For every team of ``governance/budgets.yaml`` and every threshold (a fraction of the monthly
budget), a crossing is recorded once per month and basis (``actual``: month-to-date cost;
``forecast``: the month-end forecast's expected total) in ``governance.cost_alerts``, whose primary
key ``(period, team, basis, threshold)`` makes a rerun, a backfill or a second rollup the same
day add nothing. The budget is the team's **effective** budget for the month: the configured
amount plus the increases approved through the ``budget_increase`` gate
(:mod:`~scrollintel.cost.increases`), so an approved increase moves the thresholds. Each new crossing
is one ledger entry (``cost.budget_threshold_crossed``) and one Slack message to the team's channel
through the Slack connection. Slack is an observer: when it fails the alert stays ``notified = false``
and the next evaluation posts it, still once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from scrollintel.config.governance import Governance

log = logging.getLogger(__name__)

LEDGER_ACTION = "cost.budget_threshold_crossed"
ACTOR = "service:cost-rollup"


@dataclass(frozen=True)
class Crossing:
    """A threshold a team crossed in a month, on the actual or the forecast basis."""

    period: str
    team: str
    basis: str
    threshold: float
    amount: Decimal
    budget: Decimal
    currency: str
    day: date

    @property
    def text(self) -> str:
        """The Slack message."""
        what = "Month-to-date cost" if self.basis == "actual" else "The month-end forecast"
        share = float(self.amount / self.budget) * 100 if self.budget else 0.0
        return (
            f":warning: Budget alert for team *{self.team}* ({self.period}): {what} is "
            f"{self.amount:,.2f} {self.currency}, {share:.0f}% of the monthly budget of {self.budget:,.2f} "
            f"{self.currency} (threshold {self.threshold:.0%}, as of {self.day.isoformat()})."
        )


def team_daily(conn: Any, team: str, until: date) -> list[tuple[date, float]]:
    """The team's daily attributed cost up to ``until`` (included)."""
    rows = conn.execute(
        "SELECT day, sum(amount) FROM governance.cost_facts WHERE team = %s AND day <= %s GROUP BY day ORDER BY day",
        (team, until),
    ).fetchall()
    return [(day, float(amount)) for day, amount in rows]


def crossings(conn: Any, governance: Governance, day: date) -> list[Crossing]:
    """Every threshold of the effective budget crossed as of ``day`` by month-to-date actual or month-end
    forecast (new or not)."""
    from scrollintel.cost.forecast import forecast_month_end
    from scrollintel.cost.increases import effective_budgets

    found: list[Crossing] = []
    period = f"{day:%Y-%m}"
    effective = effective_budgets(conn, governance, period)
    for budget in governance.budgets.budgets:
        series = team_daily(conn, budget.team, day)
        if not series:
            continue
        forecast = forecast_month_end(series, day)
        limit = effective[budget.team].amount
        for basis, amount in (("actual", forecast.actual_to_date), ("forecast", forecast.expected)):
            value = Decimal(str(round(amount, 6)))
            for threshold in budget.alert_thresholds:
                if value >= limit * Decimal(str(threshold)):
                    found.append(Crossing(period, budget.team, basis, threshold, value, limit, budget.currency, day))
    return found


@dataclass(frozen=True)
class AlertResult:
    """What one evaluation did: crossings found, new ones recorded, messages posted."""

    crossed: int
    new: int
    notified: int


def evaluate_budgets(
    url: str,
    day: date,
    governance: Governance | None = None,
    *,
    client: WebClient | None = None,
    ledger_url: str | None = None,
) -> AlertResult:
    """Record new threshold crossings as of ``day`` (ledger + ``cost_alerts``) and post unsent alerts to Slack."""
    from scrollintel import audit
    from scrollintel.config import load_governance
    from scrollintel.warehouse import connect

    governance = governance or load_governance()
    with connect(url) as conn:
        found = crossings(conn, governance, day)
        new: list[Crossing] = []
        for item in found:
            inserted = conn.execute(
                """
                INSERT INTO governance.cost_alerts (period, team, basis, threshold, amount, budget, currency, day)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (period, team, basis, threshold) DO NOTHING RETURNING period
                """,
                (item.period, item.team, item.basis, item.threshold, item.amount, item.budget, item.currency, day),
            ).fetchone()
            if inserted is not None:
                new.append(item)
    for item in new:
        audit.record(
            LEDGER_ACTION,
            f"team:{item.team}/budget:{item.period}",
            {
                "basis": item.basis,
                "threshold": item.threshold,
                "amount": str(item.amount),
                "budget": str(item.budget),
                "currency": item.currency,
                "as_of": item.day.isoformat(),
            },
            actor=ACTOR,
            key=f"{LEDGER_ACTION}:{item.period}:{item.team}:{item.basis}:{item.threshold}",
            url=ledger_url,
        )
    notified = notify_pending(url, governance, client=client)
    return AlertResult(len(found), len(new), notified)


def notify_pending(url: str, governance: Governance, *, client: WebClient | None = None) -> int:
    """Post every recorded, not yet notified alert to its team's channel; returns how many were posted."""
    from airflow.exceptions import AirflowNotFoundException
    from slack_sdk.errors import SlackApiError

    from scrollintel.approvals.slack import SlackNotifier
    from scrollintel.warehouse import connect

    with connect(url) as conn:
        rows = conn.execute(
            "SELECT period, team, basis, threshold, amount, budget, currency, day FROM governance.cost_alerts "
            "WHERE NOT notified ORDER BY raised_at, team, basis, threshold"
        ).fetchall()
    if not rows:
        return 0
    try:
        slack = SlackNotifier(client).client
    except AirflowNotFoundException:
        log.warning("%s cost alert(s) not posted: no Slack connection; posted once one exists", len(rows))
        return 0
    posted = 0
    for period, team, basis, threshold, amount, budget, currency, day in rows:
        item = Crossing(period, team, basis, float(threshold), Decimal(amount), Decimal(budget), currency, day)
        try:
            channel = governance.team(team).slack_channel
        except KeyError:
            log.warning("cost alert for team %s: no such team in teams.yaml, not posted", team)
            continue
        try:
            slack.chat_postMessage(channel=channel, text=item.text, unfurl_links=False)
        except (SlackApiError, OSError) as err:
            log.warning("cost alert for team %s not posted to Slack (%s); retried next run", team, type(err).__name__)
            continue
        with connect(url) as conn:
            conn.execute(
                "UPDATE governance.cost_alerts SET notified = true "
                "WHERE period = %s AND team = %s AND basis = %s AND threshold = %s",
                (period, team, basis, threshold),
            )
        posted += 1
    return posted
