"""The cost rollup on a real, migrated warehouse: sources, attribution, idempotence, ROI and budget alerts.

Outside services speak their own HTTP APIs on loopback: a stand-in for the three Airflow REST
endpoints the collector reads, moto's server for AWS Cost Explorer (results configured through
moto's own API), the demo Slack workspace behind the ``slack_api_default`` connection.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from scrollintel.config import load_governance
from scrollintel.cost import budgets, roi, rollup, sources
from scrollintel.warehouse import connect, warehouse_dataset_name, warehouse_namespace

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
USER, PASSWORD = "svc-cost", "pw-for-tests"
TOKEN = "xoxb-cost-test-token"
SECRET = "cost-test-signing-secret-0123456789"
WRITES = ["marts.orders_daily", "marts.revenue", "marts.customers"]


def _ti(dag_id: str, task_id: str, minutes: float, *, queue: str = "default", tries: int = 1) -> dict[str, Any]:
    start = T0 + timedelta(minutes=len(task_id))
    return {
        "dag_id": dag_id,
        "dag_run_id": f"scheduled__{DAY}",
        "task_id": task_id,
        "map_index": -1,
        "try_number": tries,
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(minutes=minutes)).isoformat(),
        "duration": minutes * 60,
        "state": "success",
        "pool": "default_pool",
        "queue": queue,
        "executor": "LocalExecutor",
    }


TASK_INSTANCES = [
    _ti("transform_warehouse", "marts", 60),  # writes three datasets: a third each
    _ti("ingest_shop", "orders", 30, tries=2),  # retried: the failed try costs too
    _ti("ml_churn_train", "train", 120, queue="gpu"),
    _ti("unowned_dag", "work", 7),  # owner not a team: the platform team pays
    {**_ti("ingest_shop", "payments", 10), "end_date": None},  # still running: not counted
]
FAILED_TRY = {**_ti("ingest_shop", "orders", 12), "try_number": 1, "state": "failed"}
OWNERS = {"transform_warehouse": ["analytics"], "ingest_shop": ["data-platform"], "ml_churn_train": ["ml"]}


class FakeAirflow(ThreadingHTTPServer):
    """``POST /auth/token``, ``GET /api/v2/dags``, task instances and a task's tries, over real HTTP."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, payload: object) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if (body.get("username"), body.get("password")) != (USER, PASSWORD):
                    self._send(401, {"detail": "Invalid credentials"})
                    return
                self._send(201, {"access_token": "token-1"})

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != "Bearer token-1":
                    self._send(401, {"detail": "Not authenticated"})
                    return
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                fake.queries.append({"path": [parts.path], **query})
                offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", ["50"])[0])
                if parts.path == "/api/v2/dags":
                    dags = [{"dag_id": key, "owners": value} for key, value in OWNERS.items()]
                    self._send(200, {"dags": dags[offset : offset + limit], "total_entries": len(dags)})
                elif parts.path == "/api/v2/dags/~/dagRuns/~/taskInstances":
                    page = TASK_INSTANCES[offset : offset + limit]
                    self._send(200, {"task_instances": page, "total_entries": len(TASK_INSTANCES)})
                elif parts.path.endswith("/ingest_shop/dagRuns/scheduled__2026-11-20/taskInstances/orders/-1/tries"):
                    self._send(200, {"task_instances": [FAILED_TRY, TASK_INSTANCES[1]], "total_entries": 2})
                else:
                    self._send(404, {"detail": "Not found"})

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def airflow_api() -> Iterator[str]:
    server = FakeAirflow()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _seed_lineage(url: str) -> None:
    """The lineage store knows that ``transform_warehouse.marts`` writes three mart tables."""
    now = datetime.now(UTC)
    namespace = warehouse_namespace()
    job = uuid.uuid4()
    with connect(url) as conn:
        for name in (namespace, "airflow"):
            conn.execute(
                "INSERT INTO governance.lineage_namespace (name, created_at, updated_at) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (name, now, now),
            )
        conn.execute(
            "INSERT INTO governance.lineage_job (id, namespace, name, created_at, updated_at) "
            "VALUES (%s, 'airflow', 'transform_warehouse.marts', %s, %s)",
            (job, now, now),
        )
        for dataset in WRITES:
            schema, table = dataset.split(".")
            dataset_id = uuid.uuid4()
            conn.execute(
                "INSERT INTO governance.lineage_dataset (id, namespace, name, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (dataset_id, namespace, warehouse_dataset_name(schema, table), now, now),
            )
            conn.execute(
                "INSERT INTO governance.lineage_job_output (dataset_id, job_id, first_seen_at, last_seen_at) "
                "VALUES (%s, %s, %s, %s)",
                (dataset_id, job, now, now),
            )


@pytest.fixture(scope="module")
def moto_ce() -> Iterator[str]:
    """moto's server on a loopback port, answering Cost Explorer with known results; yields its URL."""
    import requests
    from moto.server import ThreadedMotoServer

    from tests.integration.approvals.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    period = {"Start": DAY.isoformat(), "End": (DAY + timedelta(days=1)).isoformat()}

    def group(team: str, dag_id: str, amount: str) -> dict[str, Any]:
        metrics = {"UnblendedCost": {"Amount": amount, "Unit": "EUR"}}
        return {"Keys": [f"team${team}", f"dag${dag_id}"], "Metrics": metrics}

    results = {
        "results": [
            {
                "ResultsByTime": [
                    {
                        "TimePeriod": period,
                        "Total": {},
                        "Groups": [
                            group("analytics", "transform_warehouse", "12.5"),
                            group("ml", "ml_churn_train", "40.25"),
                            group("", "", "3.125"),  # untagged resources: the platform team
                        ],
                        "Estimated": False,
                    }
                ],
                "DimensionValueAttributes": [],
            }
        ]
    }
    response = requests.post(f"{url}/moto-api/static/ce/cost-and-usage-results", json=results, timeout=10)
    assert response.status_code == 201
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def slack(ledger_env: Any) -> Iterator[tuple[str, Any]]:
    """The demo Slack workspace served on loopback, reached through the ``slack_api_default`` connection."""
    from scrollintel.demo.slack_workspace import create_slack_workspace
    from tests.integration.approvals.conftest import free_port, serve

    port = free_port()
    app = create_slack_workspace(bot_token=TOKEN, signing_secret=SECRET, public_url=f"http://127.0.0.1:{port}")
    with serve(app, port) as url, pytest.MonkeyPatch.context() as patch:
        connection = {"conn_type": "slack", "password": TOKEN, "extra": {"base_url": f"{url}/api/"}}
        patch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(connection))
        yield url, app.state.workspace


@pytest.fixture(scope="module")
def rolled(
    new_cost_db: Any, as_runtime: Any, airflow_api: str, moto_ce: str, ledger_env: Any
) -> Iterator[dict[str, Any]]:
    """One warehouse after collecting every source for DAY and rolling it up once, as the runtime role."""
    from scrollintel.audit.airflow_log import AirflowApi, ApiCredentials

    admin = new_cost_db()
    _seed_lineage(admin)
    url = as_runtime(admin)
    api = AirflowApi(ApiCredentials(airflow_api, USER, PASSWORD))
    collected = sources.collect_task_runs(url, DAY, api)
    snapshot = sources.snapshot_warehouse(url, DAY)
    with pytest.MonkeyPatch.context() as patch:
        aws = {"conn_type": "aws", "login": "testing", "password": "testing",
               "extra": {"endpoint_url": moto_ce, "region_name": "us-east-1"}}  # fmt: skip
        patch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(aws))
        cloud = sources.collect_cloud(url, DAY)
    result = rollup.rollup_day(url, DAY)
    yield {"url": url, "collected": collected, "snapshot": snapshot, "cloud": cloud, "result": result}


def _sums(url: str, column: str) -> dict[Any, Decimal]:
    with connect(url) as conn:
        rows = conn.execute(
            f"SELECT {column}, sum(amount) FROM governance.cost_facts WHERE day = %s GROUP BY 1", (DAY,)
        ).fetchall()
    return {key: Decimal(value) for key, value in rows}


def test_sources_are_collected_through_their_apis(rolled: dict[str, Any]) -> None:
    # four finished task instances, one of them with an earlier failed try; the running one is not counted
    assert rolled["collected"] == 5
    assert rolled["cloud"] == 3
    assert rolled["snapshot"].tables > 10
    assert rolled["snapshot"].query_time == "available"  # the test server preloads pg_stat_statements
    with connect(rolled["url"]) as conn:
        tries = conn.execute(
            "SELECT try_number, state, duration_s FROM governance.cost_task_runs "
            "WHERE dag_id = 'ingest_shop' ORDER BY try_number"
        ).fetchall()
    assert tries == [(1, "failed", 720.0), (2, "success", 1800.0)]
    with connect(rolled["url"]) as conn:
        query = conn.execute(
            "SELECT count(*), bool_and(db_role IS NOT NULL AND dag_id IS NULL), sum(usage) FROM governance.cost_facts "
            "WHERE kind = 'query'"
        ).fetchone()
    assert query is not None and query[0] >= 1 and query[1] and query[2] > 0  # this session's own statements


def test_compute_is_priced_by_the_queue_rates(rolled: dict[str, Any]) -> None:
    rates = load_governance().budgets.rates
    assert rates is not None
    by_dag = _sums(rolled["url"], "dag_id || ':' || kind")
    # one hour of a gpu slot: 8 CPUs at its own 0.35/h + 32 GB at 0.005/h, plus two hours of it
    assert by_dag["ml_churn_train:compute"] == Decimal("2") * (8 * Decimal("0.35") + 32 * Decimal("0.005"))
    default_hour = rates.hourly("default")
    assert by_dag["ingest_shop:compute"] == default_hour * Decimal("0.7")  # 12 + 30 minutes
    assert by_dag["transform_warehouse:compute"] == default_hour
    assert by_dag["transform_warehouse:cloud"] == Decimal("12.5")


def test_attribution_sums_back_to_the_total_in_every_view(rolled: dict[str, Any]) -> None:
    total = rolled["result"].total
    assert total > 0
    for view in ("dag_id", "team", "dataset", "kind"):
        assert sum(_sums(rolled["url"], view).values()) == total, view
    with connect(rolled["url"]) as conn:
        shares = conn.execute(
            "SELECT dataset, share, amount FROM governance.cost_facts "
            "WHERE day = %s AND dag_id = 'transform_warehouse' AND kind = 'compute' ORDER BY dataset",
            (DAY,),
        ).fetchall()
    # one hour split over the three datasets the lineage store says the task writes
    assert [row[0] for row in shares] == sorted(WRITES)
    assert all(abs(row[1] - 1 / 3) < 1e-9 for row in shares)
    assert sum(Decimal(row[2]) for row in shares) == load_governance().budgets.rates.hourly("default")  # type: ignore[union-attr]


def test_teams_come_from_owners_tags_and_dataset_owners(rolled: dict[str, Any]) -> None:
    with connect(rolled["url"]) as conn:
        teams = dict(
            conn.execute(
                "SELECT coalesce(dag_id, kind), min(team) FROM governance.cost_facts WHERE day = %s "
                "AND kind IN ('compute', 'cloud') GROUP BY 1",
                (DAY,),
            ).fetchall()
        )
        ingest_dataset = conn.execute(
            "SELECT DISTINCT dataset FROM governance.cost_facts WHERE dag_id = 'ingest_shop' AND kind = 'compute'"
        ).fetchall()
    assert teams["unowned_dag"] == "data-platform"  # not a team of teams.yaml: the platform owner
    assert teams["ml_churn_train"] == "ml"
    assert teams["cloud"] == "data-platform"  # the untagged cloud line
    # no lineage yet for ingestion: the raw table the task loads by construction
    assert ingest_dataset == [("raw.shop__orders",)]


def test_rerunning_a_day_replaces_its_facts(rolled: dict[str, Any]) -> None:
    url = rolled["url"]
    before = (_sums(url, "team"), _sums(url, "dataset"))
    with connect(url) as conn:
        count = conn.execute("SELECT count(*) FROM governance.cost_facts").fetchone()
    again = rollup.rollup_day(url, DAY)
    assert again.total == rolled["result"].total
    assert (_sums(url, "team"), _sums(url, "dataset")) == before
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM governance.cost_facts").fetchone() == count


def test_roi_is_value_against_attributed_cost_with_its_inputs(rolled: dict[str, Any]) -> None:
    lines = {line.value_id: line for line in roi.compute_roi(rolled["url"], DAY)}
    orders = lines["order-reporting"]  # 2.50 per successful run that wrote raw.shop__orders
    assert orders.inputs["successful_runs"] == 1
    assert orders.value == Decimal("2.50")
    assert orders.cost == _sums(rolled["url"], "dataset")["raw.shop__orders"]
    assert orders.roi == ((orders.value - orders.cost) / orders.cost).quantize(Decimal("0.0001"))
    churn = lines["churn-prevention"]  # its sql reads a table this warehouse does not have
    assert churn.value == 0
    assert "raw.shop__subscriptions" in churn.inputs["error"]
    assert churn.inputs["error"].startswith("governance/roi.yaml values[churn-prevention].sql")
    assert lines["stock-visibility"].roi is None  # nothing attributed: no ratio, never a division by zero


def test_one_alert_per_threshold_and_period_and_none_on_rerun(
    new_cost_db: Any, as_runtime: Any, slack: tuple[str, Any], ledger_env: Any
) -> None:
    url = as_runtime(new_cost_db())
    governance = load_governance()
    # the compliance team (budget 300, thresholds 80 % and 100 %) spends 250 in the month: 83 %
    rows = [
        ("audit_anchor", f"run_{day}", "anchor", -1, 1, T0.replace(day=day), T0.replace(day=day) + timedelta(hours=1),
         3600.0, "success", None, "default", None, "compliance")
        for day in (2, 3)
    ]  # fmt: skip
    with connect(url) as conn:
        sources.store_task_runs(conn, rows)
        conn.execute(
            "INSERT INTO governance.cost_cloud (day, team, dag_id, amount, currency) VALUES "
            "('2026-11-02', 'compliance', 'audit_anchor', 125, 'EUR'), "
            "('2026-11-03', 'compliance', 'audit_anchor', 125, 'EUR')"
        )
    for day in (date(2026, 11, 2), date(2026, 11, 3)):
        rollup.rollup_day(url, day, governance)
    _, workspace = slack
    channel = workspace.channel_id("#compliance")
    before = len(workspace.messages.get(channel, []))

    first = budgets.evaluate_budgets(url, date(2026, 11, 3), governance, ledger_url=url)
    # actual 250.11 >= 240 (80 %); the month-end forecast (27 more days like these) crosses both
    assert (first.new, first.notified) == (3, 3)
    again = budgets.evaluate_budgets(url, date(2026, 11, 3), governance, ledger_url=url)
    later = budgets.evaluate_budgets(url, date(2026, 11, 4), governance, ledger_url=url)
    assert (again.new, again.notified, later.new, later.notified) == (0, 0, 0, 0)
    assert again.crossed == first.crossed == 3

    messages = workspace.messages.get(channel, [])[before:]
    assert len(messages) == 3
    assert all("Budget alert for team *compliance* (2026-11)" in message.text for message in messages)
    with connect(url) as conn:
        alerts = conn.execute(
            "SELECT basis, threshold, notified FROM governance.cost_alerts ORDER BY basis, threshold"
        ).fetchall()
        ledger = conn.execute(
            "SELECT count(*) FROM governance.audit_entry WHERE action = %s", (budgets.LEDGER_ACTION,)
        ).fetchone()
    assert [(basis, float(threshold), notified) for basis, threshold, notified in alerts] == [
        ("actual", 0.8, True),
        ("forecast", 0.8, True),
        ("forecast", 1.0, True),
    ]
    assert ledger == (3,)
