"""``scrollintel subject ...``: find a data subject's data, export it, plan its erasure.

Output names tables, files and counts; the subject's values appear only in an ``--export`` file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from scrollintel.exceptions import ScrollIntelError

URL_OPTION = click.option(
    "--url", default=None, help="Warehouse database URL, also the ledger's (default: the platform's)."
)
FILES_OPTION = click.option(
    "--files-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Object store root searched for files (default: the platform's local object store).",
)
EMAIL_OPTION = click.option("--email", default=None, help="The subject's e-mail address.")
CUSTOMER_OPTION = click.option("--customer-id", default=None, help="The subject's customer id.")
BY_OPTION = click.option("--requested-by", default="scrollintel", show_default=True, help="Airflow user id asking.")


def _fail(err: Exception) -> None:
    import psycopg

    if isinstance(err, psycopg.OperationalError):
        click.echo(f"error: warehouse database unreachable ({type(err).__name__}); check --url or `make run`", err=True)
    elif isinstance(err, psycopg.Error):
        click.echo(f"error: warehouse database error ({type(err).__name__}): {str(err).strip()[:300]}", err=True)
    else:
        click.echo(f"error: {err}", err=True)
    sys.exit(2)


def _errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (ScrollIntelError, psycopg.Error)


def _url(url: str | None) -> str:
    from scrollintel.db import warehouse_url

    return url or warehouse_url()


def _root(files_root: Path | None) -> Path:
    from scrollintel.settings import object_store_dir

    return files_root or object_store_dir()


@click.group("subject")
def subject_group() -> None:
    """Data subject requests (GDPR Art. 15 access, Art. 17 erasure)."""


@subject_group.command("find")
@EMAIL_OPTION
@CUSTOMER_OPTION
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the access export (every row found) to this JSON file.",
)
@BY_OPTION
@URL_OPTION
@FILES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the locations as JSON.")
def find_command(
    *,
    email: str | None,
    customer_id: str | None,
    export_path: Path | None,
    requested_by: str,
    url: str | None,
    files_root: Path | None,
    as_json: bool,
) -> None:
    """Every table, view and file holding the subject's data, plain or hashed (an access request)."""
    from scrollintel.compliance import workflow
    from scrollintel.compliance.subjects import Identifiers

    try:
        identifiers = Identifiers.of(email=email, customer_id=customer_id)
        request_id = workflow.open_request(_url(url), "access", identifiers, requested_by, ledger_url=url)
        export = workflow.access_export(_url(url), request_id, files_root=_root(files_root), ledger_url=url)
    except _errors() as err:
        _fail(err)
        return
    if export_path is not None:
        export_path.write_text(json.dumps(export, indent=2, default=str), encoding="utf-8")
        export_path.chmod(0o600)
    locations = [{k: v for k, v in loc.items() if k != "data"} for loc in export["locations"]]
    if as_json:
        click.echo(json.dumps({"request_id": str(request_id), "locations": locations}, indent=2))
        return
    _print_locations(str(request_id), locations)
    if export_path is not None:
        click.echo(f"access export written to {export_path}")


def _print_locations(request_id: str, locations: list[dict[str, Any]]) -> None:
    click.echo(f"request {request_id}: {len(locations)} location(s)")
    for loc in locations:
        click.echo(
            f"  {loc['layer']:<15} {loc['target']:<45} {loc['rows']:>7} row(s)  by {', '.join(loc['matched_by'])}"
        )


@subject_group.command("erase")
@EMAIL_OPTION
@CUSTOMER_OPTION
@BY_OPTION
@URL_OPTION
@FILES_OPTION
def erase_command(
    *, email: str | None, customer_id: str | None, requested_by: str, url: str | None, files_root: Path | None
) -> None:
    """Open an erasure request and show its plan; the compliance_erasure DAG executes it after approval."""
    from scrollintel.compliance import workflow
    from scrollintel.compliance.subjects import Identifiers

    try:
        identifiers = Identifiers.of(email=email, customer_id=customer_id)
        request_id = workflow.open_request(_url(url), "erasure", identifiers, requested_by, ledger_url=url)
        steps = workflow.plan(_url(url), request_id, files_root=_root(files_root), ledger_url=url)
    except _errors() as err:
        _fail(err)
        return
    click.echo(f"erasure request {request_id}: {len(steps)} step(s)")
    for step in steps:
        extra = f" ({', '.join(step.columns)})" if step.columns else ""
        click.echo(f"  {step.action + extra:<30} {step.target:<45} {step.rows:>7} row(s)")
    click.echo(
        "nothing is erased until approved: trigger the compliance_erasure DAG with "
        f'{{"request_id": "{request_id}"}} (or from the Compliance page)'
    )
