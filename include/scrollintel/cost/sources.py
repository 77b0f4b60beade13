"""Usage collected once a day for the cost rollup: Airflow task tries, warehouse storage and query time, cloud bills.

**Airflow task tries** come from Airflow's REST API (``GET /api/v2/dags/~/dagRuns/~/taskInstances``
filtered on ``end_date``, earlier tries from ``.../tries``; DAG owners from ``GET /api/v2/dags``),
read by the cost rollup's own service user, from the ``airflow_cost_api`` connection (outside
Airflow ``SCROLLINTEL_AIRFLOW_COST_API_USER`` / ``..._PASSWORD``): its role reads DAGs, DAG runs
and task instances, and nothing else (the audit import's user reads the audit log). They are
upserted into ``governance.cost_task_runs``: collecting a day twice changes nothing.

**Warehouse**: ``pg_total_relation_size`` of every table of the warehouse schemas, one snapshot a
day; cumulative ``pg_stat_statements`` totals per role, one snapshot a day, when the extension is
installed and its library preloaded (the embedded server preloads it); otherwise
:func:`snapshot_warehouse` says "not available" and why, and query time is simply not priced.

**Cloud bills**: AWS Cost Explorer ``get_cost_and_usage`` (daily ``UnblendedCost`` grouped by the
cost-allocation tags ``team`` and ``dag``) through the amazon provider's ``AwsBaseHook`` and the
``aws_default`` connection (``endpoint_url`` in its extra points it elsewhere, as tests do).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ScrollIntelError

if TYPE_CHECKING:
    from scrollintel.audit.airflow_log import AirflowApi

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_TASK_INSTANCES = 200_000
#: Warehouse schemas whose tables are priced for storage.
STORAGE_SCHEMAS = ("raw", "raw_quarantine", "staging", "marts", "governance")
AWS_CONN_ID = "aws_default"
#: The cost rollup's service user: the Airflow connection with its login, and the environment
#: variables that hold it outside Airflow.
API_CONN_ID = "airflow_cost_api"
ENV_API_USER = "SCROLLINTEL_AIRFLOW_COST_API_USER"
ENV_API_PASSWORD = "SCROLLINTEL_AIRFLOW_COST_API_PASSWORD"  # noqa: S105 - the variable's name, not a secret
#: What its role may read (the launcher's ScrollIntelCostReader grants exactly these).
API_READS = ("DAGs", "DAG Runs", "Task Instances")
TAG_TEAM = "team"
TAG_DAG = "dag"
METRIC = "UnblendedCost"
NOT_AVAILABLE = "not available"


class CostSourceError(ScrollIntelError):
    """A cost source answered something the collector cannot use; the message names the source and field."""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day ``[day 00:00, next day 00:00)``."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


# -- Airflow task tries -----------------------------------------------------------------------------


def _time(value: object, field: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise CostSourceError(f"Airflow task instance: {field} {str(value)[:40]!r} is not a timestamp") from err


def _pages(api: AirflowApi, path: str, key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    offset = 0
    while offset < MAX_TASK_INSTANCES:
        page = api.get(path, {**params, "limit": PAGE_SIZE, "offset": offset})
        items = page.get(key) or []
        yield from items
        if len(items) < PAGE_SIZE:
            return
        offset += len(items)


def dag_owners(api: AirflowApi) -> dict[str, str]:
    """DAG id -> its owners as Airflow lists them (comma-joined)."""
    return {
        str(item["dag_id"]): ",".join(str(owner) for owner in item.get("owners") or [])
        for item in _pages(api, "/api/v2/dags", "dags", {})
    }


def _row(item: Mapping[str, Any], owner: str | None) -> tuple[Any, ...] | None:
    """A ``cost_task_runs`` row for one finished task try; None while it has not run or not ended."""
    if not item.get("start_date") or not item.get("end_date"):
        return None
    start, end = _time(item["start_date"], "start_date"), _time(item["end_date"], "end_date")
    duration = item.get("duration")
    seconds = float(duration) if isinstance(duration, (int, float)) else (end - start).total_seconds()
    map_index = item.get("map_index")
    return (
        str(item["dag_id"]),
        str(item.get("dag_run_id") or item.get("run_id")),
        str(item["task_id"]),
        int(map_index) if map_index is not None else -1,
        int(item.get("try_number") or 1),
        start,
        end,
        max(seconds, 0.0),
        item.get("state"),
        item.get("pool"),
        item.get("queue"),
        item.get("executor"),
        owner,
    )


def task_tries_from_api(api: AirflowApi, day: date) -> list[tuple[Any, ...]]:
    """Rows of every task try that ended on ``day`` (UTC), earlier tries of retried tasks included."""
    from urllib.parse import quote

    start, end = day_bounds(day)
    owners = dag_owners(api)
    params = {"end_date_gte": start.isoformat(), "end_date_lte": end.isoformat(), "order_by": "end_date"}
    rows: list[tuple[Any, ...]] = []
    for item in _pages(api, "/api/v2/dags/~/dagRuns/~/taskInstances", "task_instances", params):
        tries = [item]
        if int(item.get("try_number") or 1) > 1:
            path = "/api/v2/dags/{}/dagRuns/{}/taskInstances/{}/{}/tries".format(
                *(quote(str(part), safe="") for part in (item["dag_id"], item["dag_run_id"], item["task_id"])),
                int(item["map_index"]) if item.get("map_index") is not None else -1,
            )
            tries = list(_pages(api, path, "task_instances", {}))
        for one in tries:
            row = _row({**item, **one}, owners.get(str(item["dag_id"])))
            if row is not None and start <= row[6] < end:
                rows.append(row)
    return rows


UPSERT_TASK_RUNS = """
INSERT INTO governance.cost_task_runs
  (dag_id, run_id, task_id, map_index, try_number, start_date, end_date, duration_s, state, pool, queue,
   executor, owner, demo)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET
  start_date = excluded.start_date, end_date = excluded.end_date, duration_s = excluded.duration_s,
  state = excluded.state, pool = excluded.pool, queue = excluded.queue, executor = excluded.executor,
  owner = excluded.owner, demo = excluded.demo, collected_at = now()
WHERE (cost_task_runs.start_date, cost_task_runs.end_date, cost_task_runs.duration_s, cost_task_runs.state,
       cost_task_runs.queue, cost_task_runs.owner, cost_task_runs.demo)
  IS DISTINCT FROM (excluded.start_date, excluded.end_date, excluded.duration_s, excluded.state,
       excluded.queue, excluded.owner, excluded.demo)
"""


def store_task_runs(conn: Any, rows: list[tuple[Any, ...]], *, demo: bool = False) -> int:
    """Upsert task tries (13-tuples as :func:`task_tries_from_api` makes them); returns how many."""
    with conn.cursor() as cur:
        cur.executemany(UPSERT_TASK_RUNS, [(*row, demo) for row in rows])
    return len(rows)


def collect_task_runs(url: str, day: date, api: AirflowApi | None = None) -> int:
    """Read ``day``'s task tries from Airflow's REST API into ``governance.cost_task_runs``."""
    from scrollintel.audit.airflow_log import AirflowApi, ServiceAccount, api_credentials
    from scrollintel.warehouse import connect

    own = api is None
    account = ServiceAccount(API_CONN_ID, ENV_API_USER, ENV_API_PASSWORD, ", ".join(API_READS))
    api = api or AirflowApi(api_credentials(account))
    try:
        rows = task_tries_from_api(api, day)
    finally:
        if own:
            api.close()
    with connect(url) as conn:
        return store_task_runs(conn, rows)


# -- warehouse ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarehouseSnapshot:
    """What one warehouse snapshot stored; ``query_time`` is ``not available: <why>`` without pg_stat_statements."""

    tables: int
    bytes: int
    roles: int
    query_time: str


def query_stats_status(conn: Any) -> str | None:
    """None when pg_stat_statements can be read here, else why not (in words)."""
    import psycopg

    row = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()
    if not row or not row[0]:
        return f"{NOT_AVAILABLE}: the pg_stat_statements extension is not installed in this database"
    try:
        with conn.transaction():
            conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1").fetchall()
    except psycopg.Error as err:
        return f"{NOT_AVAILABLE}: {str(err).strip().splitlines()[0]}"
    return None


def snapshot_warehouse(url: str, day: date) -> WarehouseSnapshot:
    """Store ``day``'s storage per table and (when available) cumulative query time per role; replaces the day's."""
    from scrollintel.warehouse import connect

    with connect(url) as conn:
        conn.execute("DELETE FROM governance.cost_storage_snapshots WHERE day = %s", (day,))
        conn.execute(
            """
            INSERT INTO governance.cost_storage_snapshots (day, schema_name, table_name, bytes)
            SELECT %s, n.nspname, c.relname, pg_total_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%s) AND NOT c.relispartition
            """,
            (day, list(STORAGE_SCHEMAS)),
        )
        tables, size = conn.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM governance.cost_storage_snapshots WHERE day = %s", (day,)
        ).fetchone() or (0, 0)
        status = query_stats_status(conn)
        roles = 0
        if status is None:
            conn.execute("DELETE FROM governance.cost_query_snapshots WHERE day = %s", (day,))
            roles = conn.execute(
                """
                INSERT INTO governance.cost_query_snapshots (day, role_name, calls, total_exec_ms)
                SELECT %s, r.rolname, sum(s.calls), sum(s.total_exec_time)
                FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                GROUP BY r.rolname
                """,
                (day,),
            ).rowcount
    return WarehouseSnapshot(int(tables), int(size), int(roles), status or "available")


def storage_on(conn: Any, day: date) -> list[tuple[str, int]]:
    """``(<schema>.<table>, bytes)`` of ``day``'s storage snapshot."""
    rows = conn.execute(
        "SELECT schema_name || '.' || table_name, bytes FROM governance.cost_storage_snapshots WHERE day = %s "
        "ORDER BY 1",
        (day,),
    ).fetchall()
    return [(str(name), int(size)) for name, size in rows]


def query_time_on(conn: Any, day: date) -> list[tuple[str, float]]:
    """``(role, ms)`` executed on ``day``: its snapshot minus the previous one (a statistics reset counts from 0)."""
    rows = conn.execute(
        """
        SELECT cur.role_name,
               CASE WHEN prev.total_exec_ms IS NULL OR cur.total_exec_ms < prev.total_exec_ms
                    THEN cur.total_exec_ms ELSE cur.total_exec_ms - prev.total_exec_ms END
        FROM governance.cost_query_snapshots cur
        LEFT JOIN LATERAL (
            SELECT p.total_exec_ms FROM governance.cost_query_snapshots p
            WHERE p.role_name = cur.role_name AND p.day < cur.day ORDER BY p.day DESC LIMIT 1
        ) prev ON TRUE
        WHERE cur.day = %s ORDER BY 1
        """,
        (day,),
    ).fetchall()
    return [(str(role), float(ms)) for role, ms in rows]


# -- AWS Cost Explorer --------------------------------------------------------------------------------


def _tag_value(key: str) -> str:
    """``team$analytics`` -> ``analytics``; an untagged resource (``team$``) -> ``""``."""
    return key.split("$", 1)[1] if "$" in key else key


def cloud_bills(client: Any, day: date) -> list[tuple[str, str, Decimal, str]]:
    """``(team, dag, amount, currency)`` of ``day`` from ``get_cost_and_usage`` grouped by the tags, all pages."""
    request: dict[str, Any] = {
        "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
        "Granularity": "DAILY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "TAG", "Key": TAG_TEAM}, {"Type": "TAG", "Key": TAG_DAG}],
    }
    totals: dict[tuple[str, str, str], Decimal] = {}
    while True:
        response = client.get_cost_and_usage(**request)
        for period in response.get("ResultsByTime") or []:
            if period.get("TimePeriod", {}).get("Start") != day.isoformat():
                continue
            for group in period.get("Groups") or []:
                keys = list(group.get("Keys") or [])
                if len(keys) != 2:
                    raise CostSourceError(f"AWS Cost Explorer: a group of {day} has keys {keys}, expected team and dag")
                metric = (group.get("Metrics") or {}).get(METRIC)
                if not metric:
                    raise CostSourceError(f"AWS Cost Explorer: group {keys} of {day} has no {METRIC}")
                key = (_tag_value(keys[0]), _tag_value(keys[1]), str(metric.get("Unit") or "USD"))
                totals[key] = totals.get(key, Decimal(0)) + Decimal(str(metric.get("Amount") or "0"))
        token = response.get("NextPageToken")
        if not token:
            break
        request["NextPageToken"] = token
    return [(team, dag_id, amount, unit) for (team, dag_id, unit), amount in sorted(totals.items())]


def ce_client(conn_id: str = AWS_CONN_ID) -> Any:
    """A Cost Explorer client through the amazon provider's hook (credentials and endpoint from the connection)."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=conn_id, client_type="ce").get_conn()


def collect_cloud(url: str, day: date, client: Any = None) -> int:
    """Replace ``day``'s Cost Explorer lines in ``governance.cost_cloud``; returns how many."""
    from scrollintel.warehouse import connect

    bills = cloud_bills(client if client is not None else ce_client(), day)
    with connect(url) as conn:
        conn.execute("DELETE FROM governance.cost_cloud WHERE day = %s", (day,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO governance.cost_cloud (day, team, dag_id, amount, currency) VALUES (%s, %s, %s, %s, %s)",
                [(day, team, dag_id, amount, unit) for team, dag_id, amount, unit in bills],
            )
    return len(bills)


def cloud_on(conn: Any, day: date) -> list[tuple[str, str, Decimal, str, bool]]:
    """``day``'s stored Cost Explorer lines ``(team, dag, amount, currency, demo)``."""
    rows = conn.execute(
        "SELECT team, dag_id, amount, currency, demo FROM governance.cost_cloud WHERE day = %s ORDER BY 1, 2",
        (day,),
    ).fetchall()
    return [(str(team), str(dag), Decimal(amount), str(unit), bool(demo)) for team, dag, amount, unit, demo in rows]
