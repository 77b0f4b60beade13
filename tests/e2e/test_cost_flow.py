"""Cost on the running platform: the daily rollup prices the platform's own task runs.

The `cost_rollup` DAG reads the day's task tries through Airflow's REST API as the cost service
user (its role reads DAGs, DAG runs and task instances only), prices them by the rates of
`governance/budgets.yaml` and attributes them; the Cost & ROI page's API shows the figures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest

from scrollintel import db
from scrollintel.config import load_governance
from scrollintel.platform import launcher
from tests.e2e.conftest import RunningPlatform, wait_for_json

pytestmark = pytest.mark.e2e

PRICED_DAG = "platform_health"


def _finished(client: object, dag_id: str, run_id: str) -> dict[str, object]:
    return wait_for_json(
        client,  # type: ignore[arg-type]
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}",
        lambda run: run.get("state") in ("success", "failed"),
        timeout=300,
    )


def _hourly_price(queue: str) -> Decimal:
    """One hour of a slot of ``queue`` as governance/budgets.yaml prices it."""
    rates = load_governance().budgets.rates
    assert rates is not None
    size = rates.queues[queue]
    cpu_hour = rates.cpu_hour if size.cpu_hour is None else size.cpu_hour
    gb_hour = rates.gb_hour if size.gb_hour is None else size.gb_hour
    return Decimal(str(size.cpus)) * cpu_hour + Decimal(str(size.memory_gb)) * gb_hour


def test_the_daily_rollup_prices_the_platforms_own_task_runs(platform: RunningPlatform) -> None:
    with platform.client() as client:
        # the platform's own run of the health DAG at start-up (an ordinary run of one of its DAGs)
        runs = wait_for_json(
            client,
            f"/api/v2/dags/{PRICED_DAG}/dagRuns?state=success&order_by=-end_date&limit=1",
            lambda answer: answer.get("total_entries", 0) > 0,
            timeout=300,
        )
        done = runs["dag_runs"][0]  # type: ignore[index]
        run_id = str(done["dag_run_id"])
        day = datetime.fromisoformat(str(done["end_date"])).astimezone(UTC).date()
        # the day the health run ended, so far (a scheduled run rolls up the day before its date)
        rollup = client.post(
            "/api/v2/dags/cost_rollup/dagRuns", json={"logical_date": None, "conf": {"day": day.isoformat()}}
        )
        assert rollup.status_code == 200, rollup.text
        final = _finished(client, "cost_rollup", str(rollup.json()["dag_run_id"]))
        assert final["state"] == "success", final
        report = client.get("/scrollintel/api/cost", params={"days": 1, "end": day.isoformat()})
        assert report.status_code == 200, report.text

    tries, priced = _health_tries_and_facts(day, run_id)
    assert tries, "the cost service user read the health run's task tries through the REST API"
    assert set(priced) == set(tries)  # every try priced, nothing else
    for task_try, (queue, seconds) in tries.items():
        expected = Decimal(str(seconds)) / 3600 * _hourly_price(queue)
        assert abs(priced[task_try] - expected) < Decimal("0.000001"), (task_try, priced[task_try], expected)
    figures = report.json()
    by_dag = {item["key"]: Decimal(str(item["amount"])) for item in figures["by_dag"]}
    assert by_dag[PRICED_DAG] >= sum(priced.values()) > 0
    assert Decimal(str(figures["total"])) >= sum(by_dag.values()) - Decimal("0.01")


TaskTry = tuple[str, int, int]


def _health_tries_and_facts(day: date, run_id: str) -> tuple[dict[TaskTry, tuple[str, float]], dict[TaskTry, Decimal]]:
    """The health run's task tries as collected (queue, seconds) and what the rollup priced each at."""
    with psycopg.connect(db.libpq_url(db.admin_url("warehouse"))) as conn:
        tries = {
            (task, map_index, attempt): (queue, float(seconds))
            for task, map_index, attempt, queue, seconds in conn.execute(
                "SELECT task_id, map_index, try_number, queue, duration_s FROM governance.cost_task_runs "
                "WHERE dag_id = %s AND run_id = %s AND NOT demo",
                (PRICED_DAG, run_id),
            )
        }
        priced = {
            (task, map_index, attempt): Decimal(amount)
            for task, map_index, attempt, amount in conn.execute(
                "SELECT task_id, map_index, try_number, sum(amount) FROM governance.cost_facts "
                "WHERE day = %s AND kind = 'compute' AND dag_id = %s AND run_id = %s "
                "GROUP BY task_id, map_index, try_number",
                (day, PRICED_DAG, run_id),
            )
        }
    return tries, priced


def test_the_cost_service_user_reads_task_runs_and_not_the_audit_log(platform: RunningPlatform) -> None:
    import httpx

    from scrollintel.cost import sources

    env = launcher.child_env(launcher.layout())
    login = {"username": env[sources.ENV_API_USER], "password": env[sources.ENV_API_PASSWORD]}
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        token = client.post("/auth/token", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        reads = client.get("/api/v2/dags/~/dagRuns/~/taskInstances", params={"limit": 1}, headers=headers)
        audit_log = client.get("/api/v2/eventLogs", params={"limit": 1}, headers=headers)
        trigger = client.post(f"/api/v2/dags/{PRICED_DAG}/dagRuns", json={"logical_date": None}, headers=headers)
    assert (reads.status_code, audit_log.status_code, trigger.status_code) == (200, 403, 403)
