"""Before dbt: is there anything to build, and is this the run to build it?

- **Raw tables there at all.** On a fresh platform the first source to finish loading starts the
  transform DAG while the others have not landed yet; building then would fail on tables that do
  not exist. The run is skipped instead, naming the missing tables: the next load of their source
  starts the DAG again. A table that exists is never judged here (its freshness and content are
  the gates' job).
- **Runs coalesce.** Each source load queues a run (one at a time runs). dbt rebuilds every model
  from the whole raw tables, so a run with a later one queued behind it would only build what
  that one rebuilds a minute later: it is skipped, and three sources loading at once cost one
  build after the running one, not three.
"""

from __future__ import annotations

from collections.abc import Iterable

from scrollintel.transform.project import RawSource
from scrollintel.warehouse import connect


def missing_raw_tables(warehouse_url: str, sources: Iterable[RawSource]) -> list[str]:
    """The ``raw.<source>__<resource>`` tables of ``sources`` that do not exist in the warehouse, sorted."""
    tables = sorted(item.table for item in sources)
    with connect(warehouse_url) as conn:
        rows = conn.execute(
            "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL", (tables,)
        ).fetchall()
    return sorted(name for (name,) in rows)


def skip_when_superseded(dag_id: str, queued_runs: int) -> None:
    """Skip the task (and so the run) when ``queued_runs`` later runs of ``dag_id`` wait behind it.

    With one active run at a time, every queued run was queued after this one started and
    reads the raw tables as they are then, which includes everything this run would read.
    """
    if queued_runs > 0:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(
            f"{queued_runs} later run(s) of {dag_id} are queued and rebuild from the same raw tables; "
            "this one is skipped so the marts are built once"
        )


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
