"""Before dbt: are the raw tables the project reads there at all?

On a fresh platform the first source to finish loading starts the transform DAG while the
others have not landed yet; building then would fail on tables that do not exist. The run is
skipped instead, naming the missing tables: the next load of their source starts the DAG again.
A table that exists is never judged here (its freshness and content are the gates' job).
"""

from __future__ import annotations

from collections.abc import Iterable

from scrollintel.db import libpq_url
from scrollintel.transform.project import RawSource


def missing_raw_tables(warehouse_url: str, sources: Iterable[RawSource]) -> list[str]:
    """The ``raw.<source>__<resource>`` tables of ``sources`` that do not exist in the warehouse, sorted."""
    import psycopg

    tables = sorted(item.table for item in sources)
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        rows = conn.execute(
            "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL", (tables,)
        ).fetchall()
    return sorted(name for (name,) in rows)


def require_raw_tables(warehouse_url: str, sources: Iterable[RawSource]) -> int:
    """How many raw tables were checked; skips the task (and so the run) when one has never landed."""
    sources = list(sources)
    missing = missing_raw_tables(warehouse_url, sources)
    if missing:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(
            f"{len(missing)} of {len(sources)} raw table(s) the dbt project reads have not been loaded yet: "
            f"{', '.join(missing)}; the next load of their source starts this DAG again"
        )
    return len(sources)
