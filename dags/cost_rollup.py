"""Daily cost rollup: prices the platform's task runs, warehouse and cloud bills, attributes them, checks budgets."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Cost rollup
Every day at 02:00 UTC, for the **previous UTC day** (a run with logical date D rolls up D - 1 day,
so `airflow dags backfill cost_rollup --start-date ...` re-does any past day). A manual run with
the param `day` (`YYYY-MM-DD`) rolls up that day instead: today's runs so far, after `make run`
and a first run of the demo DAGs (the next scheduled run replaces that day's facts):

1. `collect_task_runs`: the day's task tries from Airflow's REST API (the cost service user of the
   `airflow_cost_api` connection, whose role reads DAGs, DAG runs and task instances only) into
   `governance.cost_task_runs`;
2. `snapshot_warehouse`: storage per table (`pg_total_relation_size`) and query time per role
   (`pg_stat_statements`, or "not available" and why);
3. `collect_cloud`: AWS Cost Explorer per `team` / `dag` tag, when an `aws_default` connection exists;
4. `rollup`: priced by the rates of `governance/budgets.yaml`, attributed to DAG, team and dataset
   (ADR 0014); the day's facts in `governance.cost_facts` are replaced in one transaction;
5. `roi`: value per definition of `governance/roi.yaml` against its attributed cost;
6. `budgets`: month-end forecast and thresholds per team; a crossing is one Slack alert and one ledger
   entry per threshold and month, never repeated by a rerun.

Re-running a day replaces its facts: totals stay the same.
"""


def rollup_day_of() -> Any:
    """The UTC day a run rolls up: its ``day`` param when given, else the day before its logical date
    (its run-after time for manual runs)."""
    from datetime import date, timedelta

    context = get_current_context()
    asked = (context.get("params") or {}).get("day")
    if asked:
        try:
            return date.fromisoformat(str(asked))
        except ValueError:
            raise ValueError(f"cost_rollup param day: {str(asked)[:40]!r} is not a date (YYYY-MM-DD)") from None
    moment = context.get("logical_date") or context["dag_run"].run_after
    return (moment - timedelta(days=1)).date()


@dag(
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("finance", timeout_minutes=30),
    tags=["cost", "internal"],
    doc_md=DOC,
    params={
        "day": Param(
            None,
            type=["null", "string"],
            format="date",
            description="The UTC day to roll up (YYYY-MM-DD); empty: the day before the logical date.",
        )
    },
)
def cost_rollup() -> None:
    @task
    def collect_task_runs() -> int:
        """The day's Airflow task tries, through the REST API."""
        from scrollintel.cost import sources
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        return sources.collect_task_runs(connection_url(WAREHOUSE_CONN_ID), rollup_day_of())

    @task
    def snapshot_warehouse() -> dict[str, Any]:
        """Storage per table and query time per role."""
        from scrollintel.cost import sources
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        snap = sources.snapshot_warehouse(connection_url(WAREHOUSE_CONN_ID), rollup_day_of())
        return {"tables": snap.tables, "bytes": snap.bytes, "roles": snap.roles, "query_time": snap.query_time}

    @task
    def collect_cloud() -> str:
        """AWS Cost Explorer bills per tag, when AWS is configured."""
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        from scrollintel.cost import sources
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        try:
            BaseHook.get_connection(sources.AWS_CONN_ID)
        except AirflowNotFoundException:
            return f"not configured: no {sources.AWS_CONN_ID!r} connection, cloud bills not collected"
        count = sources.collect_cloud(connection_url(WAREHOUSE_CONN_ID), rollup_day_of())
        return f"{count} Cost Explorer line(s)"

    @task
    def rollup() -> dict[str, Any]:
        """Price and attribute the day; replace its facts."""
        from scrollintel.cost.rollup import rollup_day
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        result = rollup_day(connection_url(WAREHOUSE_CONN_ID), rollup_day_of())
        return {"day": result.day.isoformat(), "facts": result.facts, "total": str(result.total)}

    @task
    def roi() -> int:
        """Value against attributed cost per roi.yaml definition."""
        from scrollintel.cost.roi import compute_roi
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        return len(compute_roi(connection_url(WAREHOUSE_CONN_ID), rollup_day_of()))

    @task
    def budgets() -> dict[str, int]:
        """Forecast and thresholds per team; one alert per crossing."""
        from scrollintel.cost.budgets import evaluate_budgets
        from scrollintel.db import connection_url
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        result = evaluate_budgets(connection_url(WAREHOUSE_CONN_ID), rollup_day_of())
        return {"crossed": result.crossed, "new": result.new, "notified": result.notified}

    facts = rollup()
    [collect_task_runs(), snapshot_warehouse(), collect_cloud()] >> facts
    facts >> [roi(), budgets()]


cost_rollup()
