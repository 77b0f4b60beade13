"""``scrollintel demo drift-schema``: a source schema change, to watch the ``schema_change`` approval gate.

Adds a column to a table of the demo ``shop`` database (frozen contract: ``schema_policy:
freeze``), gives a few rows a value and a fresh cursor, then triggers ``ingest_shop`` as a team
member (the requester). The load is blocked by the drift, the ``<table>_schema_change`` gate asks
the policy's approvers (Slack, the Approvals page, Airflow's Required Actions), and on approval
``<table>_approved_load`` applies the change and loads the rows.
"""

from __future__ import annotations

from psycopg import sql

from scrollintel.config import load_governance
from scrollintel.exceptions import ConfigError

SOURCE = "shop"
DAG_ID = "ingest_shop"
ROWS = 10


def approvers(requester: str) -> tuple[str, ...]:
    """Who may approve a schema change ``requester`` asked for."""
    from scrollintel.approvals.policy import resolve

    return resolve("schema_change").approvers_for(requester)


def add_column(shop_url: str, table: str, column: str, *, rows: int = ROWS) -> int:
    """``ALTER TABLE <table> ADD COLUMN <column> text`` and a value in ``rows`` rows (their cursor moves to now)."""
    import psycopg

    source = load_governance().source(SOURCE)
    try:
        resource = source.resource(table)
    except KeyError as err:
        known = ", ".join(item.name for item in source.resources)
        raise ConfigError(f"the shop source has no table {table!r} (known: {known})") from err
    cursor = getattr(resource, "cursor", None)
    key = resource.primary_key[0]
    target = sql.Identifier(getattr(source, "db_schema", "public"), table)
    with psycopg.connect(shop_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} text").format(target, sql.Identifier(column)))
        moved = sql.SQL(", {} = now()").format(sql.Identifier(cursor)) if cursor else sql.SQL("")
        update = sql.SQL("UPDATE {t} SET {c} = 'gold'{moved} WHERE {k} IN (SELECT {k} FROM {t} ORDER BY {k} LIMIT %s)")
        names = {"t": target, "c": sql.Identifier(column), "moved": moved, "k": sql.Identifier(key)}
        changed = conn.execute(update.format(**names), (rows,)).rowcount
    return changed


def trigger(api_url: str, username: str, password: str, dag_id: str) -> str:
    """Trigger ``dag_id`` through the Airflow API as ``username``; returns the run id."""
    from scrollintel.approvals.trigger import trigger_as

    return trigger_as(api_url, username, password, dag_id, note="schema change (scrollintel demo drift-schema)")
