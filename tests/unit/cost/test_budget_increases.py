"""Budget increase requests: every bad field is refused with a message naming it, on the CLI as in the DAG."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from scrollintel.cost.increases import BudgetRequestError, EffectiveBudget, validate_request

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 7)
GOOD = {"team": "analytics", "month": "2026-12", "amount": "250.50", "reason": "  quarter-end   reporting "}


def test_a_good_request_is_normalised() -> None:
    request = validate_request(**GOOD, today=TODAY)
    assert (request.team, request.period, request.amount, request.currency) == (
        "analytics",
        "2026-12",
        Decimal("250.50"),
        "EUR",
    )
    assert request.reason == "quarter-end reporting"
    assert request.as_conf() == {"team": "analytics", "month": "2026-12", "amount": "250.50", "reason": request.reason}
    assert validate_request(**{**GOOD, "month": "2027-03", "amount": 40}, today=TODAY).amount == Decimal("40.00")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("team", "marketing", "team: 'marketing' has no budget in governance/budgets.yaml (teams: data-platform,"),
        ("team", "", "team: '' has no budget"),
        ("month", "2026-13", "month: '2026-13' is not a month (YYYY-MM"),
        ("month", "December", "month: 'December' is not a month"),
        ("month", "2026-1", "month: '2026-1' is not a month"),
        ("month", "2026-11", "month: 2026-11 has ended; ask for the current month (2026-12) or a later one"),
        ("amount", "lots", "amount: 'lots' is not a number"),
        ("amount", "0", "amount: must be above 0, got 0"),
        ("amount", "-100", "amount: must be above 0, got -100"),
        ("amount", "NaN", "amount: must be above 0, got NaN"),
        ("amount", "Infinity", "amount: must be above 0, got Infinity"),
        ("amount", "10.125", "amount: at most 2 decimals, got 10.125"),
        ("amount", "1e12", "amount: 1e12 is above the largest increase accepted (1,000,000,000)"),
        ("reason", "   ", "reason: say why the team needs more"),
        ("reason", "x" * 501, "reason: at most 500 characters, got 501"),
    ],
)
def test_a_bad_field_is_named(field: str, value: str, message: str) -> None:
    with pytest.raises(BudgetRequestError) as caught:
        validate_request(**{**GOOD, field: value}, today=TODAY)
    assert str(caught.value).startswith(message)
    assert caught.value.field == field


def test_the_cli_names_the_bad_option_and_asks_nothing() -> None:
    from scrollintel.cli import main

    result = CliRunner().invoke(
        main,
        ["cost", "budget", "request", "--team", "ml", "--month", "2026-13", "--amount", "5", "--reason", "more runs",
         "--api-url", "http://127.0.0.1:9", "--password", "unused"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Invalid value for '--month': '2026-13' is not a month" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(
        main,
        ["cost", "budget", "request", "--team", "ml", "--month", "2099-01", "--amount", "five", "--reason", "x"],
    )
    assert result.exit_code == 2 and "Invalid value for '--amount': 'five' is not a number" in result.output


def test_the_cli_says_when_airflow_cannot_be_reached() -> None:
    from scrollintel.cli import main

    result = CliRunner().invoke(
        main,
        ["cost", "budget", "request", "--team", "ml", "--month", "2099-01", "--amount", "5", "--reason", "more runs",
         "--api-url", "http://127.0.0.1:9", "--password", "unused"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "cannot reach Airflow at http://127.0.0.1:9" in result.output


def test_the_effective_budget_says_where_it_comes_from() -> None:
    from datetime import UTC, datetime

    from scrollintel.cost.increases import Increase

    when = datetime(2026, 12, 1, tzinfo=UTC)
    budget = EffectiveBudget(
        "ml",
        "2026-12",
        "EUR",
        Decimal(2500),
        (
            Increase("cost_budget_increase", "r1", Decimal("500.00"), "gpu", "ml-lead", "fi-controller", "gate", when),
            Increase("cost_budget_increase", "r2", Decimal("20.50"), "more", "ml-lead", "fi-analyst", "gate", when),
        ),
    )
    assert budget.amount == Decimal("3020.50")
    assert budget.source == (
        "2,500.00 configured + 500.00 (approval cost_budget_increase:r1:gate, fi-controller)"
        " + 20.50 (approval cost_budget_increase:r2:gate, fi-analyst)"
    )
    assert EffectiveBudget("ml", "2026-12", "EUR", Decimal(2500)).source == "2,500.00 configured"
