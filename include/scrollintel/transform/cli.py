"""``scrollintel transform``: build the dbt manifest the ``transform_warehouse`` DAG is rendered from."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from scrollintel.exceptions import ScrollIntelError


@click.group("transform")
def transform_group() -> None:
    """The dbt project run through cosmos (dbt/)."""


@transform_group.command("manifest")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the manifest and dbt's parse state (default: .scrollintel/dbt or $SCROLLINTEL_DBT_STATE_DIR).",
)
def manifest_command(state_dir: Path | None) -> None:
    """Parse the dbt project (no database connection) and publish its manifest for the DAG."""
    from scrollintel.transform.project import build_manifest

    started = time.monotonic()
    try:
        path = build_manifest(state_dir.resolve() if state_dir else None)
    except ScrollIntelError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    click.echo(f"dbt manifest: {path} ({time.monotonic() - started:.1f}s)")
