"""The ``scrollintel`` command line: validate config, run the platform, seed demo data, migrate."""

from __future__ import annotations

import logging
import sys
import time

import click

from scrollintel.airflow_login import login, login_options
from scrollintel.exceptions import ScrollIntelError


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """ScrollIntel DataOps: data operations and governance on Airflow 3."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    from scrollintel.audit.cli import audit_group
    from scrollintel.compliance.cli import compliance_group, subject_group
    from scrollintel.cost.cli import budget_group, cost_group
    from scrollintel.demo.cli import demo_group
    from scrollintel.ingest.cli import ingest_group
    from scrollintel.transform.cli import transform_group
    from scrollintel.validate import validate_command

    main.add_command(validate_command)
    demo_group.add_command(drift_schema_command)  # a demo action on the running platform
    main.add_command(demo_group)
    main.add_command(audit_group)
    main.add_command(ingest_group)
    main.add_command(transform_group)
    main.add_command(model_group)
    main.add_command(subject_group)
    main.add_command(compliance_group)
    budget_group.add_command(budget_request_command)  # reaches the local platform's Airflow API
    main.add_command(cost_group)


@main.group("db")
def db_group() -> None:
    """The governance schema in the warehouse database."""


@db_group.command("upgrade")
@click.option("--url", default=None, help="Warehouse database URL (default: the platform's).")
def db_upgrade(url: str | None) -> None:
    """Apply the governance schema migrations (idempotent)."""
    from scrollintel import migrate

    migrate.upgrade(url)
    click.echo(f"governance schema at revision {migrate.current_revision(url)}")


@main.group("platform")
def platform_group() -> None:
    """Run the local platform (what `make run` and `make stop` call)."""


@platform_group.command("up")
@click.option("--no-demo", is_flag=True, help="Do not seed the demo source systems.")
def platform_up(no_demo: bool) -> None:
    """Start PostgreSQL, migrate, seed the demo sources and start Airflow; wait until healthy."""
    from scrollintel.platform import launcher

    started = time.monotonic()
    click.echo("Starting ScrollIntel DataOps")
    try:
        info = launcher.up(click.echo, seed_demo=not no_demo)
    except ScrollIntelError as err:
        click.echo(f"\nerror: {err}", err=True)
        sys.exit(1)
    click.echo(
        f"""
ScrollIntel DataOps is up ({time.monotonic() - started:.0f}s).

  Airflow UI   {info["url"]}
  Login        {info["user"]} / {info["password"]}   (kept in .scrollintel/secrets.json)
  Team users   the members of governance/teams.yaml (dp-lead, an-lead, ...) / {info["team_password"]}
  Demo Slack   {info["slack"]}   (approval requests and their buttons; scrollintel demo drift-schema)
  MLflow       {info["mlflow"]}   (runs and the model registry; this machine only, no login)
  Look at      Dags > platform_health: checks every connection hourly (trigger it: all green)
               Plugins > Governance: Approvals, Audit, Lineage, Cost & ROI, Compliance, MLflow
  Logs         {info["logs"]}
  Airflow CLI  source {info["env_file"]} && airflow dags list
  Stop         make stop
"""
    )


@platform_group.command("down")
def platform_down() -> None:
    """Stop exactly what `platform up` started."""
    from scrollintel.platform import launcher

    launcher.down(click.echo)
    click.echo("ScrollIntel DataOps stopped.")


@platform_group.command("status")
def platform_status() -> None:
    """Show which platform processes are running."""
    from scrollintel.platform import launcher

    for name, state in launcher.status().items():
        click.echo(f"{name:15} {state}")


@click.command("drift-schema")
@click.option("--table", default="customers", show_default=True, help="Shop table that gets a new column.")
@click.option("--column", default="loyalty_tier", show_default=True, help="Name of the new (text) column.")
@click.option("--as", "requester", default="dp-engineer", show_default=True, help="Team member who triggers the load.")
def drift_schema_command(*, table: str, column: str, requester: str) -> None:
    """Change a shop table's schema and trigger ingest_shop: the frozen contract asks for an approval."""
    from scrollintel.db import database_url
    from scrollintel.demo import drift
    from scrollintel.platform import launcher

    lay = launcher.layout()
    ports = launcher.platform_ports(lay)
    try:
        rows = drift.add_column(database_url("shop"), table, column)
        run_id = drift.trigger(
            f"http://{launcher.HOST}:{ports['api_server']}",
            requester,
            launcher.platform_secrets(lay)["team_password"],
            drift.DAG_ID,
        )
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err
    approvers = ", ".join(drift.approvers(requester))
    click.echo(
        f"""Added column {column} to shop.{table} ({rows} rows with a value).
Triggered {drift.DAG_ID} as {requester}: run {run_id}

The load of {table} is blocked by the frozen contract and {table}_schema_change asks for an approval
(approvers: {approvers}; {requester} asked, so separation of duties leaves them out). Answer it:
  - in the demo Slack workspace  http://{launcher.HOST}:{ports["slack"]}/
  - on the Approvals page        http://{launcher.HOST}:{ports["api_server"]}/scrollintel/approvals
  - in Airflow's Required Actions (sign in as an approver)
On approval {table}_approved_load applies the change and loads the rows; on rejection nothing changes."""
    )


@click.group("model")
def model_group() -> None:
    """The models of governance/models.yaml in the MLflow registry."""


@model_group.command("rollback")
@click.argument("model")
@click.option(
    "--reason", required=True, help="Why champion should go back (shown to the approvers, kept in the ledger)."
)
@click.option("--as", "requester", default="ml-engineer", show_default=True, help="Airflow user who asks.")
@login_options
def model_rollback_command(
    *, model: str, reason: str, requester: str, api_url: str | None, password: str | None
) -> None:
    """Ask for champion to go back to previous-champion: triggers ml_<model>_rollback, which waits for an approval."""
    from scrollintel.config import load_governance
    from scrollintel.ml import promotion

    try:
        load_governance().models.model(model)
    except KeyError:
        raise click.ClickException(f"no model {model!r} in governance/models.yaml") from None
    try:
        api_url, password = login(api_url, password)
        run_id = promotion.request_rollback(api_url, requester, password, model, reason)
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Triggered {promotion.rollback_dag_id(model)} as {requester}: run {run_id}\n"
        "It waits for the model_promotion approval (Slack, the Approvals page, Airflow's Required Actions);\n"
        "on approval champion moves back to previous-champion and the next scoring run uses it."
    )


@click.command("request")
@click.option("--team", required=True, help="Team of governance/budgets.yaml.")
@click.option("--month", required=True, help="Month the increase is for (YYYY-MM): the current one or later.")
@click.option("--amount", required=True, help="How much more, in the budget's currency (e.g. 500 or 250.50).")
@click.option("--reason", required=True, help="Why the team needs more (shown to the approvers, kept in the ledger).")
@click.option("--as", "requester", default="dp-lead", show_default=True, help="Airflow user who asks.")
@login_options
def budget_request_command(
    *, team: str, month: str, amount: str, reason: str, requester: str, api_url: str | None, password: str | None
) -> None:
    """Ask for more budget: triggers cost_budget_increase, which waits for the budget_increase approval."""
    from scrollintel.cost import increases

    try:
        request = increases.validate_request(team, month, amount, reason)
    except increases.BudgetRequestError as err:
        raise click.BadParameter(err.problem, param_hint=f"'--{err.field}'") from None
    try:
        api_url, password = login(api_url, password)
        run_id = increases.request_increase(api_url, requester, password, request)
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Asked for {request.summary} as {requester}: {increases.DAG_ID} run {run_id}\n"
        "It waits for the budget_increase approval (finance; Slack, the Approvals page, Airflow's Required Actions);\n"
        f"on approval the team's effective budget for {request.period} rises by "
        f"{request.amount:,.2f} {request.currency}."
    )


_register()
