"""Checks every connection the platform depends on and records the result."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from scrollintel.dag_defaults import START_DATE, default_args

DOC = """
### Platform health
Checks, every hour, that the platform can reach each system its configuration names: the
warehouse, the local object store, the MLflow tracking server and every source declared in
`governance/sources/*.yaml` (their Airflow connections). One mapped task per connection, so a
failing system is visible at a glance; results go to `governance.health_check` in the warehouse
and each run to the audit ledger. The run fails when any check fails, naming the connections and the reason.
"""


@dag(
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("data-platform", timeout_minutes=5),
    tags=["platform", "internal"],
    doc_md=DOC,
)
def platform_health() -> None:
    @task
    def list_connections() -> list[str]:
        from scrollintel.health import connection_ids_to_check
        from scrollintel.ml.tracking import MLFLOW_CONN_ID

        return connection_ids_to_check(extra=["fs_object_store", MLFLOW_CONN_ID])

    @task(map_index_template="{{ conn_id }}")
    def check(conn_id: str) -> dict[str, object]:
        from scrollintel.health import check_connection

        get_current_context()["conn_id"] = conn_id  # type: ignore[typeddict-unknown-key]  # the map index label
        return check_connection(conn_id).as_dict()

    @task
    def record(results: list[dict[str, object]]) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel import audit
        from scrollintel.db import connection_url
        from scrollintel.exceptions import GateFailed
        from scrollintel.health import CheckResult, record_results
        from scrollintel.warehouse import WAREHOUSE_CONN_ID

        checked = [CheckResult(**result) for result in results]  # type: ignore[arg-type]
        run_id = get_current_context()["run_id"]
        record_results(connection_url(WAREHOUSE_CONN_ID), run_id, checked)
        audit.record(
            "platform.health_checked",
            f"dag_run:platform_health/{run_id}",
            {"checks": len(checked), "failed": sorted(r.name for r in checked if not r.ok)},
            key=f"platform_health:{run_id}",
        )
        failed = [f"{r.name}: {r.detail}" for r in checked if not r.ok]
        if failed:
            error = GateFailed(f"{len(failed)} of {len(checked)} connections failed: " + "; ".join(failed))
            # The checks already ran: a retry of this task would report the same results again.
            raise AirflowFailException(str(error)) from error

    record(check.expand(conn_id=list_connections()))


platform_health()
