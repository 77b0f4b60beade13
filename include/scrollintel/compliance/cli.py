"""``scrollintel subject ...``: find a data subject's data, export it, plan its erasure.

Output names tables, files and counts; the subject's values appear only in an ``--export`` file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from scrollintel.airflow_login import login, login_options, signed_in_client
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


@click.group("compliance")
def compliance_group() -> None:
    """Reports for auditors: the Art. 30 record and SOC 2 evidence packs."""


@compliance_group.command("record")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for record.json, record.xlsx and record.pdf (the last record.json is diffed).",
)
@URL_OPTION
def record_command(out_dir: Path, url: str | None) -> None:
    """Generate the record of processing activities (GDPR Art. 30) as XLSX and PDF."""
    from datetime import UTC, datetime

    from scrollintel import warehouse
    from scrollintel.audit import writer
    from scrollintel.compliance import record
    from scrollintel.config import load_governance

    try:
        with warehouse.connect(_url(url)) as conn:
            result = record.generate(
                load_governance(), out_dir, conn=conn, generated_at=datetime.now(UTC).isoformat(timespec="seconds")
            )
        writer.record("compliance.record_generated", "report:art30", result, url=url)
    except _errors() as err:
        _fail(err)
        return
    changes = result["diff"]
    click.echo(
        f"{result['activities']} activities written to {out_dir}: {len(changes['added'])} added, "
        f"{len(changes['changed'])} changed, {len(changes['removed'])} removed since the last record"
    )


@compliance_group.command("evidence")
@click.option("--period", required=True, help="A quarter (2026-Q4) or a month (2026-11), UTC.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The zip to write (default: evidence-<period>.zip in the current folder).",
)
@click.option(
    "--as",
    "username",
    default="admin",
    show_default=True,
    help="Airflow user whose token reads users, roles and DAG versions (if they may not, the pack says so).",
)
@login_options
@click.option(
    "--without-airflow",
    is_flag=True,
    help="Build without Airflow's users, roles and DAG versions (those files then say they were not included).",
)
@URL_OPTION
def evidence_command(
    *,
    period: str,
    out_path: Path | None,
    username: str,
    api_url: str | None,
    password: str | None,
    without_airflow: bool,
    url: str | None,
) -> None:
    """Build a SOC 2 evidence pack: a zip with a manifest of SHA-256s signed with the ledger's key."""
    from contextlib import nullcontext

    from scrollintel.compliance import evidence

    target = out_path or Path(f"evidence-{period}.zip")
    try:
        evidence.period_bounds(period)  # a bad period is named before anything signs in
        if without_airflow:
            airflow: Any = nullcontext(None)
        else:
            api_url, password = login(api_url, password, username)
            airflow = signed_in_client(api_url, username, password)
        with airflow as client:
            files, digest = evidence.build(_url(url), period, target, airflow=client, ledger_url=url)
    except _errors() as err:
        _fail(err)
        return
    click.echo(f"evidence pack for {period}: {target} ({len(files)} files, SHA-256 {digest})")


@compliance_group.command("verify")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
def verify_command(pack: Path) -> None:
    """Check an evidence pack: every file against the manifest, the manifest against the signature."""
    from scrollintel.compliance import evidence

    try:
        result = evidence.verify(pack)
    except _errors() as err:
        _fail(err)
        return
    if result.ok:
        click.echo(f"{pack}: intact, {result.files} files, manifest signed by trusted key {result.key_id}")
        return
    for problem in result.problems:
        click.echo(f"FAILED {problem}", err=True)
    sys.exit(1)
