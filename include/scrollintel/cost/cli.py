"""``scrollintel cost budget ...``: each team's effective budget.

``cost budget request`` (asking for an increase through Airflow's API) is added by
:mod:`scrollintel.cli`, which may reach the local platform; this capability does not.
"""

from __future__ import annotations

import click


@click.group("cost")
def cost_group() -> None:
    """Cost and budgets (governance/budgets.yaml)."""


@cost_group.group("budget")
def budget_group() -> None:
    """Team budgets: the configured amount plus increases approved through the budget_increase gate."""


@budget_group.command("show")
@click.option("--month", required=True, help="Month (YYYY-MM).")
@click.option("--url", default=None, help="Warehouse database URL (default: the platform's).")
def show_command(*, month: str, url: str | None) -> None:
    """Each team's effective budget for a month and where it comes from."""
    import psycopg

    from scrollintel.config import load_governance
    from scrollintel.cost import increases
    from scrollintel.db import warehouse_url
    from scrollintel.warehouse import connect

    try:
        period = increases.parse_month(month)
        with connect(url or warehouse_url()) as conn:
            budgets = increases.effective_budgets(conn, load_governance(), period)
    except increases.BudgetRequestError as err:
        raise click.BadParameter(err.problem, param_hint=f"'--{err.field}'") from None
    except psycopg.Error as err:
        raise click.ClickException(
            f"warehouse database error ({type(err).__name__}); check --url or `make run`"
        ) from err
    for budget in budgets.values():
        click.echo(f"{budget.team:<15} {budget.amount:>12,.2f} {budget.currency}  = {budget.source}")
