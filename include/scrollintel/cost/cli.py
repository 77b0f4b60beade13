"""``scrollintel cost budget ...``: ask for a budget increase, see a team's effective budget."""

from __future__ import annotations

import click

from scrollintel.exceptions import ScrollIntelError


@click.group("cost")
def cost_group() -> None:
    """Cost and budgets (governance/budgets.yaml)."""


@cost_group.group("budget")
def budget_group() -> None:
    """Team budgets: the configured amount plus increases approved through the budget_increase gate."""


@budget_group.command("request")
@click.option("--team", required=True, help="Team of governance/budgets.yaml.")
@click.option("--month", required=True, help="Month the increase is for (YYYY-MM): the current one or later.")
@click.option("--amount", required=True, help="How much more, in the budget's currency (e.g. 500 or 250.50).")
@click.option("--reason", required=True, help="Why the team needs more (shown to the approvers, kept in the ledger).")
@click.option("--as", "requester", default="dp-lead", show_default=True, help="Airflow user who asks.")
@click.option(
    "--api-url",
    envvar="SCROLLINTEL_AIRFLOW_API_URL",
    default=None,
    help="Airflow's address (default: the local platform).",
)
@click.option(
    "--password",
    envvar="SCROLLINTEL_AIRFLOW_PASSWORD",
    default=None,
    help="The user's password (default: the local platform's).",
)
def request_command(
    *, team: str, month: str, amount: str, reason: str, requester: str, api_url: str | None, password: str | None
) -> None:
    """Ask for more budget: triggers cost_budget_increase, which waits for the budget_increase approval."""
    from scrollintel.cost import increases

    try:
        request = increases.validate_request(team, month, amount, reason)
    except increases.BudgetRequestError as err:
        raise click.BadParameter(err.problem, param_hint=f"'--{err.field}'") from None
    try:
        if api_url is None or password is None:
            from scrollintel.platform import launcher

            lay = launcher.layout()
            api_url = api_url or f"http://{launcher.HOST}:{launcher.platform_ports(lay)['api_server']}"
            password = password or launcher.platform_secrets(lay)["team_password"]
        run_id = increases.request_increase(api_url, requester, password, request)
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Asked for {request.summary} as {requester}: {increases.DAG_ID} run {run_id}\n"
        "It waits for the budget_increase approval (finance; Slack, the Approvals page, Airflow's Required Actions);\n"
        f"on approval the team's effective budget for {request.period} rises by "
        f"{request.amount:,.2f} {request.currency}."
    )


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
