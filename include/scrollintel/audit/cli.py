"""``scrollintel audit ...``: verify, prove, anchor, import Airflow's log, flush the outbox."""

from __future__ import annotations

import json
import logging
import sys

import click

from scrollintel.exceptions import ScrollIntelError

log = logging.getLogger(__name__)

URL_OPTION = click.option("--url", default=None, help="Ledger database URL (default: the platform's warehouse).")


def _fail(err: Exception) -> None:
    import psycopg

    if isinstance(err, psycopg.OperationalError):
        click.echo(f"error: ledger database unreachable ({type(err).__name__}); check --url or `make run`", err=True)
    elif isinstance(err, psycopg.Error):
        click.echo(f"error: ledger database error ({type(err).__name__}): {str(err).strip()[:300]}", err=True)
    else:
        click.echo(f"error: {err}", err=True)
    sys.exit(2)


def _errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (ScrollIntelError, psycopg.Error)


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit ledger."""


@audit_group.command("verify")
@URL_OPTION
@click.option("--no-anchor", is_flag=True, help="Check chain and tree only, ignoring signed tree heads.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def verify_command(url: str | None, no_anchor: bool, as_json: bool) -> None:
    """Check the hash chain, the Merkle tree and the latest anchors.

    Exits 1 naming the first bad index and what happened to it (edited, deleted, inserted,
    reordered, truncated, rewritten, tree, anchor); 0 when everything verifies.
    """
    from scrollintel.audit.verify import verify_ledger

    try:
        report = verify_ledger(url, use_anchors=not no_anchor)
    except _errors() as err:
        _fail(err)
        return
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.summary())
        click.echo(report.coverage())
        for note in report.notes:
            click.echo(f"note: {note}")
    if not report.ok:
        sys.exit(1)


@audit_group.command("proof")
@click.argument("seq", type=int)
@URL_OPTION
@click.option("--tree-size", type=int, default=None, help="Prove against this tree size (default: newest anchor).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, help="Write to a file.")
def proof_command(seq: int, url: str | None, tree_size: int | None, output: str | None) -> None:
    """Print the inclusion proof of entry SEQ as JSON (checkable without the database)."""
    from scrollintel.audit import settings, storage
    from scrollintel.audit.proof import inclusion_document

    try:
        with storage.connection(url or settings.ledger_url()) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            document = inclusion_document(conn, seq, tree_size)
    except _errors() as err:
        _fail(err)
        return
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"inclusion proof of entry {seq} in a tree of {document['tree_size']} written to {output}")
    else:
        click.echo(text)


@audit_group.command("anchor")
@URL_OPTION
@click.option("--no-notify", is_flag=True, help="Do not post the tree head to Slack.")
def anchor_command(url: str | None, no_notify: bool) -> None:
    """Sign the current tree head and write it to the anchor store (and Slack, if configured)."""
    from scrollintel.audit.anchor import anchor

    try:
        result = anchor(url, notify=not no_notify)
    except _errors() as err:
        _fail(err)
        return
    head = result.head
    click.echo(
        f"anchored size {head.tree_size}, root {head.root_hash.hex()}, key {head.key_id}, at {result.location}"
        + (" (posted to Slack)" if result.posted else "")
    )


@audit_group.command("anchorer")
@URL_OPTION
@click.option("--once", is_flag=True, help="Sign a head if the ledger grew, then exit.")
@click.option("--no-notify", is_flag=True, help="Do not post the tree heads to Slack.")
def anchorer_command(url: str | None, once: bool, no_notify: bool) -> None:
    """Run the anchorer: sign a tree head within seconds of every append (until SIGTERM or Ctrl-C)."""
    import signal
    import threading

    from scrollintel.audit import settings
    from scrollintel.audit.anchorer import Anchorer, max_delay_seconds

    logging.getLogger("scrollintel").setLevel(logging.INFO)
    try:
        anchorer = Anchorer(url or settings.ledger_url(), notify=not no_notify)
        if once:
            result = anchorer.anchor_once()
            click.echo(f"anchored size {result.head.tree_size}" if result else "nothing new to anchor")
            return
    except _errors() as err:
        _fail(err)
        return
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("audit anchorer stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    bound = max_delay_seconds(anchorer.settings)
    click.echo(f"audit anchorer running; an append is covered by a signed head within ~{bound:.1f} s")
    anchorer.run(stop)
    click.echo(f"audit anchorer stopped after signing {anchorer.heads} tree head(s)")


@audit_group.command("import-airflow-log")
@URL_OPTION
def import_airflow_log_command(url: str | None) -> None:
    """Import new entries of Airflow's event log (GET /api/v2/eventLogs) into the ledger."""
    from scrollintel.audit.airflow_log import import_event_log

    try:
        result = import_event_log(url)
    except _errors() as err:
        _fail(err)
        return
    click.echo(f"imported {result.imported} Airflow event(s), {result.skipped} already in the ledger")


@audit_group.command("flush-outbox")
@URL_OPTION
def flush_outbox_command(url: str | None) -> None:
    """Append the events waiting in this machine's outbox (kept when the database is unreachable)."""
    from scrollintel.audit.writer import flush_outbox

    try:
        count = flush_outbox(url)
    except _errors() as err:
        _fail(err)  # the outbox is kept
        return
    click.echo(f"flushed {count} event(s) from the outbox")
