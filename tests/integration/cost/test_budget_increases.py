"""Budget increases on a real warehouse: approved ones move the budget and its thresholds, rejected ones nothing.

The compliance team (budget 300 EUR, thresholds 80 % and 100 %) spends 250.11 EUR on the last two
days of November; evaluated on the 30th the month-end forecast equals the actual, so the 80 %
threshold (240) is crossed on both bases unless the budget is raised.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from scrollintel.config import load_governance
from scrollintel.cost import budgets, increases, rollup, sources
from scrollintel.warehouse import connect

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 30)
DAG_ID = increases.DAG_ID
GATE = "approve_increase"
TOKEN = "xoxb-increase-test-token"
SECRET = "increase-test-signing-secret-0123456789"


@pytest.fixture(scope="module")
def slack(ledger_env: Any) -> Iterator[Any]:
    """The demo Slack workspace on loopback behind the ``slack_api_default`` connection."""
    from scrollintel.demo.slack_workspace import create_slack_workspace
    from tests.integration.approvals.conftest import free_port, serve

    port = free_port()
    app = create_slack_workspace(bot_token=TOKEN, signing_secret=SECRET, public_url=f"http://127.0.0.1:{port}")
    with serve(app, port) as url, pytest.MonkeyPatch.context() as patch:
        connection = {"conn_type": "slack", "password": TOKEN, "extra": {"base_url": f"{url}/api/"}}
        patch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(connection))
        yield app.state.workspace


def _spend(url: str) -> None:
    """250.11 EUR for the compliance team on November 29 and 30, rolled up."""
    start = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    rows = [
        ("audit_anchor", f"run_{day}", "anchor", -1, 1, start.replace(day=day),
         start.replace(day=day) + timedelta(hours=1), 3600.0, "success", None, "default", None, "compliance")
        for day in (29, 30)
    ]  # fmt: skip
    with connect(url) as conn:
        sources.store_task_runs(conn, rows)
        conn.execute(
            "INSERT INTO governance.cost_cloud (day, team, dag_id, amount, currency) VALUES "
            "('2026-11-29', 'compliance', 'audit_anchor', 125, 'EUR'), "
            "('2026-11-30', 'compliance', 'audit_anchor', 125, 'EUR')"
        )
    for day in (date(2026, 11, 29), DAY):
        rollup.rollup_day(url, day)


def _request(amount: str) -> increases.IncreaseRequest:
    return increases.validate_request("compliance", "2026-11", amount, "audit season", today=date(2026, 11, 2))


def _approve(url: str, amount: str, run_id: str) -> increases.EffectiveBudget:
    return increases.record_approved(
        url,
        _request(amount),
        dag_id=DAG_ID,
        run_id=run_id,
        approval_task_id=GATE,
        requested_by="co-officer",
        approved_by="fi-controller",
        ledger_url=url,
    )


def _ledger(url: str, action: str) -> list[dict[str, Any]]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT actor, details FROM governance.audit_entry WHERE action = %s ORDER BY seq", (action,)
        ).fetchall()
    return [
        {"actor": actor, **(json.loads(details) if isinstance(details, str) else details)} for actor, details in rows
    ]


def _alerts(url: str) -> list[tuple[str, float, Decimal]]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT basis, threshold, budget FROM governance.cost_alerts WHERE team = 'compliance' ORDER BY 1, 2"
        ).fetchall()
    return [(basis, float(threshold), Decimal(budget)) for basis, threshold, budget in rows]


@pytest.fixture
def spent(new_cost_db: Callable[[], str], as_runtime: Callable[[str], str], ledger_env: Any) -> str:
    """A fresh warehouse with the compliance team's November spend, as the runtime role."""
    url = as_runtime(new_cost_db())
    _spend(url)
    return url


def test_a_request_is_recorded_with_the_budget_before_and_after(spent: str) -> None:
    details = increases.record_requested(
        spent, _request("100"), dag_id=DAG_ID, run_id="manual__increase-0", requested_by="co-officer", ledger_url=spent
    )
    assert details["budget now"] == "300.00 EUR (300.00 configured)"
    assert details["budget if approved"] == "400.00 EUR"
    assert details["cost so far this month"] == "250.11 EUR"
    assert details["request"] == f"{DAG_ID}:manual__increase-0"
    [entry] = _ledger(spent, increases.REQUESTED_ACTION)
    assert (entry["actor"], entry["team"], entry["month"], entry["amount"], entry["reason"]) == (
        "co-officer",
        "compliance",
        "2026-11",
        "100.00",
        "audit season",
    )


def test_the_cli_shows_each_team_s_effective_budget(spent: str) -> None:
    from click.testing import CliRunner

    from scrollintel.cli import main

    _approve(spent, "100", "manual__increase-7")
    result = CliRunner().invoke(main, ["cost", "budget", "show", "--month", "2026-11", "--url", spent])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("compliance"))
    assert line.split()[1:3] == ["400.00", "EUR"]
    assert line.endswith(f"= 300.00 configured + 100.00 (approval {DAG_ID}:manual__increase-7:{GATE}, fi-controller)")
    result = CliRunner().invoke(main, ["cost", "budget", "show", "--month", "Nov", "--url", spent])
    assert result.exit_code == 2 and "Invalid value for '--month': 'Nov' is not a month" in result.output


def test_the_old_budget_raises_alerts(spent: str) -> None:
    with connect(spent) as conn:
        crossed = budgets.crossings(conn, load_governance(), DAY)
    assert sorted((c.basis, c.threshold, c.budget) for c in crossed if c.team == "compliance") == [
        ("actual", 0.8, Decimal(300)),
        ("forecast", 0.8, Decimal(300)),
    ]


def test_an_approved_increase_raises_the_effective_budget_and_moves_the_thresholds(spent: str, slack: Any) -> None:
    channel = slack.channel_id("#compliance")
    before = len(slack.messages.get(channel, []))

    effective = _approve(spent, "100", "manual__increase-1")
    assert (effective.configured, effective.amount) == (Decimal(300), Decimal(400))
    assert _approve(spent, "100", "manual__increase-1").amount == Decimal(400)  # a task rerun adds nothing

    result = budgets.evaluate_budgets(spent, DAY, ledger_url=spent)
    # 250.11 < 80 % of 400: none of the alerts the old budget of 300 raises (see above)
    assert (result.crossed, result.new, result.notified) == (0, 0, 0)
    assert _alerts(spent) == []
    assert len(slack.messages.get(channel, [])) == before

    with connect(spent) as conn:
        shown = increases.effective_budgets(conn, load_governance(), "2026-11")["compliance"]
        assert increases.effective_budgets(conn, load_governance(), "2026-12")["compliance"].amount == Decimal(300)
    assert [item.approval_id for item in shown.increases] == [f"{DAG_ID}:manual__increase-1:{GATE}"]
    assert shown.source == f"300.00 configured + 100.00 (approval {DAG_ID}:manual__increase-1:{GATE}, fi-controller)"

    [entry] = _ledger(spent, increases.APPROVED_ACTION)
    assert entry["actor"] == "fi-controller"
    assert {key: entry[key] for key in ("request", "team", "month", "amount", "approved_by", "effective_budget")} == {
        "request": f"{DAG_ID}:manual__increase-1",
        "team": "compliance",
        "month": "2026-11",
        "amount": "100.00",
        "approved_by": "fi-controller",
        "effective_budget": "400.00",
    }


def test_a_rejected_request_changes_nothing(spent: str) -> None:
    increases.record_rejected(
        _request("100"),
        dag_id=DAG_ID,
        run_id="manual__increase-2",
        approval_task_id=GATE,
        outcome="rejected",
        decided_by="fi-controller",
        requested_by="co-officer",
        ledger_url=spent,
    )
    [entry] = _ledger(spent, increases.REJECTED_ACTION)
    assert (entry["request"], entry["outcome"], entry["decided_by"]) == (
        f"{DAG_ID}:manual__increase-2",
        "rejected",
        "fi-controller",
    )
    with connect(spent) as conn:
        assert conn.execute("SELECT count(*) FROM governance.budget_increases").fetchone() == (0,)
        assert increases.effective_budgets(conn, load_governance(), "2026-11")["compliance"].amount == Decimal(300)
    budgets.evaluate_budgets(spent, DAY, ledger_url=spent)
    assert _alerts(spent) == [("actual", 0.8, Decimal(300)), ("forecast", 0.8, Decimal(300))]


def test_a_rerun_keeps_one_alert_per_threshold_against_the_effective_budget(spent: str, slack: Any) -> None:
    channel = slack.channel_id("#compliance")
    before = len(slack.messages.get(channel, []))
    _approve(spent, "10", "manual__increase-3")  # 310: 80 % is 248, still crossed by 250.11

    first = budgets.evaluate_budgets(spent, DAY, ledger_url=spent)
    rollup.rollup_day(spent, DAY)  # the rollup rerun for the same day
    again = budgets.evaluate_budgets(spent, DAY, ledger_url=spent)
    assert (first.new, first.notified, again.new, again.notified) == (2, 2, 0, 0)
    assert _alerts(spent) == [("actual", 0.8, Decimal(310)), ("forecast", 0.8, Decimal(310))]
    messages = slack.messages.get(channel, [])[before:]
    assert len(messages) == 2
    assert all("monthly budget of 310.00 EUR" in message.text for message in messages)


def test_the_runtime_role_cannot_rewrite_an_approved_increase(spent: str) -> None:
    _approve(spent, "50", "manual__increase-4")
    for statement in (
        "UPDATE governance.budget_increases SET amount = 5000",
        "DELETE FROM governance.budget_increases",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), connect(spent) as conn:
            conn.execute(statement)
    with connect(spent) as conn:
        assert conn.execute("SELECT amount FROM governance.budget_increases").fetchone() == (Decimal("50.00"),)


def test_the_requester_cannot_be_the_approver(spent: str) -> None:
    with pytest.raises(increases.BudgetRequestError, match="approved_by: co-officer asked for this increase"):
        increases.record_approved(
            spent,
            _request("10"),
            dag_id=DAG_ID,
            run_id="manual__increase-5",
            approval_task_id=GATE,
            requested_by="co-officer",
            approved_by="co-officer",
        )
    with connect(spent) as conn:
        assert conn.execute("SELECT count(*) FROM governance.budget_increases").fetchone() == (0,)


def test_the_page_and_the_export_show_where_the_effective_budget_comes_from(
    spent: str, web_app: Any, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    from scrollintel.web import URL_PREFIX
    from scrollintel.web.deps import warehouse_url

    _approve(spent, "100", "manual__increase-6")
    web_app.dependency_overrides[warehouse_url] = lambda: spent
    try:
        client = client_factory(cookie=make_token())
        html = client.get(f"{URL_PREFIX}/cost", params={"days": 30, "end": DAY.isoformat()}).text
        data = client.get(f"{URL_PREFIX}/api/cost", params={"days": 30, "end": DAY.isoformat()}).json()
        export = client.get(
            f"{URL_PREFIX}/api/cost/export.csv", params={"days": 30, "end": DAY.isoformat(), "table": "budgets"}
        ).text
        pdf = client.get(f"{URL_PREFIX}/api/cost/summary.pdf", params={"days": 30, "end": DAY.isoformat()}).content
    finally:
        web_app.dependency_overrides.pop(warehouse_url, None)
    assert "400.00 EUR (effective)" in html
    assert "300.00 EUR (<code>governance/budgets.yaml</code>)" in html
    assert f"approval <code>{DAG_ID}:manual__increase-6:{GATE}</code> by fi-controller" in html
    view = next(item for item in data["budgets"] if item["team"] == "compliance")
    assert (Decimal(view["budget"]), Decimal(view["configured"])) == (Decimal(400), Decimal(300))
    assert view["increases"][0]["approval_id"] == f"{DAG_ID}:manual__increase-6:{GATE}"
    row = next(item for item in csv.DictReader(io.StringIO(export)) if item["team"] == "compliance")
    assert (row["budget"], row["configured_budget"]) == ("400.00", "300")
    assert row["approved_increases"] == f"100.00 ({DAG_ID}:manual__increase-6:{GATE}, fi-controller)"
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "400.00 EUR (incl. +100.00 approved)" in " ".join(text.split())
