"""``scrollintel ingest``: run a source's ingestion outside Airflow, and show cursor state and runs.

Connections are the same Airflow connections the DAGs use (``AIRFLOW_CONN_<ID>`` variables or
a secrets backend; ``source .scrollintel/platform.env`` on a laptop), or ``--source-url``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import click

from scrollintel.exceptions import ScrollIntelError
from scrollintel.warehouse import raw_table

log = logging.getLogger(__name__)


@click.group("ingest")
def ingest_group() -> None:
    """Load declared sources into the warehouse's raw schema."""


@ingest_group.command("run")
@click.argument("source")
@click.argument("resource", required=False)
@click.option("--warehouse-url", default=None, help="Warehouse URL (default: the platform's warehouse).")
@click.option("--source-url", default=None, help="Source database URL instead of its Airflow connection.")
@click.option("--run-id", default=None, help="Run id stored with the rows (default: manual__<UTC time>).")
@click.option("--no-quality", is_flag=True, help="Skip the batch quality gate.")
@click.option("--no-classify", is_flag=True, help="Skip PII classification.")
def run_command(  # noqa: PLR0917 - click passes options positionally
    source: str,
    resource: str | None,
    warehouse_url: str | None,
    source_url: str | None,
    run_id: str | None,
    no_quality: bool,
    no_classify: bool,
) -> None:
    """Ingest every table/endpoint/file of SOURCE (or only RESOURCE), like its DAG does."""
    from scrollintel import db
    from scrollintel.config import load_governance
    from scrollintel.ingest.pipeline import ingest_resource

    run = run_id or f"manual__{datetime.now(UTC).isoformat(timespec='seconds')}"
    try:
        governance = load_governance()
        config = governance.sources.get(source)
        if config is None:
            raise click.UsageError(f"unknown source {source!r} (known: {', '.join(sorted(governance.sources))})")
        names = [resource] if resource else [item.name for item in config.resources]
        url = warehouse_url or db.warehouse_url()
    except ScrollIntelError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    failed: list[str] = []
    for name in names:
        try:
            outcome = ingest_resource(
                source,
                name,
                run_id=run,
                warehouse_url=url,
                source_conn=source_url,
                governance=governance,
                quality=not no_quality,
                classify=not no_classify,
            )
        except Exception as err:  # one resource's failure must not skip the others
            failed.append(name)
            message = str(err)
            if not isinstance(err, ScrollIntelError):  # not an expected failure: keep its traceback at hand
                log.info("%s.%s failed", source, name, exc_info=True)
                message = f"{type(err).__name__}: {err} (run with -v for the traceback)"
            prefix = f"{source}.{name}: "
            click.echo(message if message.startswith(prefix) else f"{prefix}FAILED: {message}", err=True)
            continue
        load = outcome.load
        click.echo(
            f"{load.raw_table}: {load.mode} ({load.path}) read {load.source_rows} = loaded {load.loaded_rows} "
            f"(+{load.inserted_rows} ~{load.updated_rows} ={load.unchanged_rows}) + quarantined "
            f"{load.quarantined_rows}; deleted {load.deleted_rows}; cursor {load.cursor_after or '-'}; "
            f"{load.seconds:.1f}s"
        )
    if failed:
        click.echo(
            f"{len(failed)} of {len(names)} resource(s) of {source} failed: {', '.join(failed)} "
            "(the others were loaded; a failed one committed nothing)",
            err=True,
        )
        sys.exit(1)


@ingest_group.command("status")
@click.argument("source", required=False)
@click.option("--warehouse-url", default=None, help="Warehouse URL (default: the platform's warehouse).")
def status_command(source: str | None, warehouse_url: str | None) -> None:
    """Cursor state and last load of every resource (of SOURCE)."""
    import psycopg

    from scrollintel import db
    from scrollintel.ingest.loader import connect_warehouse
    from scrollintel.ingest.state import list_states

    try:
        with connect_warehouse(warehouse_url or db.warehouse_url()) as conn:
            states = list_states(conn, source)
            runs = {
                (row[0], row[1]): row[2:]
                for row in conn.execute(
                    "SELECT DISTINCT ON (source, resource) source, resource, status, source_rows, quarantined_rows, "
                    "finished_at FROM governance.ingest_load_run ORDER BY source, resource, id DESC"
                ).fetchall()
            }
    except (ScrollIntelError, psycopg.Error) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    if not states:
        click.echo("no resource has been loaded yet")
        return
    for item in states:
        status, rows, quarantined, finished = runs.get((item["source"], item["resource"]), ("-", None, None, None))
        table = raw_table(item["source"], item["resource"])
        click.echo(
            f"{table:40} v{item['schema_version']}  cursor {item['cursor_value'] or '-'}"
            f"  last run {status} ({rows if rows is not None else '-'} read, "
            f"{quarantined if quarantined is not None else '-'} quarantined) at {finished or '-'}"
            + (f"; deletes reconciled at {item['reconciled_at']}" if item.get("reconciled_at") else "")
        )
