"""``scrollintel validate``: check every governance file and print each problem on its own line.

Where Airflow connections are visible (``AIRFLOW_CONN_*`` variables, a secrets backend or
Airflow's metadata database configured), it also checks that every source's ``connection_id``
is defined; elsewhere it says that it could not check them, so "all valid" never hides a
connection a load would miss.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from scrollintel.config import Governance
    from scrollintel.config.problems import Problem

#: Airflow settings under which connections live outside ``AIRFLOW_CONN_*`` variables.
AIRFLOW_CONNECTION_STORES = ("AIRFLOW__SECRETS__BACKEND", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")


@click.command("validate")
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Governance folder to check (default: governance/ of the project).",
)
def validate_command(directory: Path | None) -> None:
    """Validate the governance policy files and source configs.

    Prints one line per problem (``file:key: message``, or ``file:line: message`` for YAML
    syntax errors), then a summary. Exits 1 when anything is wrong.
    """
    from scrollintel.config import check_governance

    report = check_governance(directory)
    problems = list(report.problems)
    if report.governance is not None:
        found, unchecked = connection_problems(report.directory, report.governance)
        problems.extend(found)
        if unchecked:
            click.echo(f"connections not checked: {unchecked}")
    for problem in problems:
        click.echo(str(problem))
    if problems:
        count = len(problems)
        files = len({problem.path for problem in problems})
        click.echo(
            f"{count} problem{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}"
            f" ({len(report.files)} checked)"
        )
        raise SystemExit(1)
    click.echo(f"{len(report.files)} files valid")


def connection_problems(directory: Path, governance: Governance) -> tuple[list[Problem], str | None]:
    """(a problem per source whose Airflow connection is not defined, why they could not be checked)."""
    from scrollintel.config.problems import Problem
    from scrollintel.ingest.pipeline import airflow_connection, connection_variable

    variables = any(name.startswith("AIRFLOW_CONN_") for name in os.environ)
    if not variables and not any(os.environ.get(name) for name in AIRFLOW_CONNECTION_STORES):
        return [], (
            "no Airflow connections are visible here (no AIRFLOW_CONN_* variable, no secrets backend or "
            "metadata database configured); run `source .scrollintel/platform.env` first, or validate where "
            "Airflow runs"
        )
    problems: list[Problem] = []
    for name, source in sorted(governance.sources.items()):
        try:
            defined = airflow_connection(source.connection_id) is not None
        except Exception as err:  # the store itself failed: say so instead of guessing
            return problems, f"looking up {source.connection_id!r} failed ({type(err).__name__}: {err})"
        if not defined:
            problems.append(
                Problem(
                    directory / "sources" / f"{name}.yaml",
                    "connection_id",
                    f"the Airflow connection {source.connection_id!r} is not defined here; set "
                    f"{connection_variable(source.connection_id)} or run `airflow connections add "
                    f"{source.connection_id} --conn-uri <uri>`",
                )
            )
    return problems, None
