"""``scrollintel validate``: check every governance file and print each problem on its own line."""

from __future__ import annotations

from pathlib import Path

import click


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
    for problem in report.problems:
        click.echo(str(problem))
    if report.problems:
        count = len(report.problems)
        files = len({problem.path for problem in report.problems})
        click.echo(
            f"{count} problem{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}"
            f" ({len(report.files)} checked)"
        )
        raise SystemExit(1)
    click.echo(f"{len(report.files)} files valid")
