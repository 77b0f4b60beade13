"""``scrollintel demo cost-history``: 90 days of synthetic task runs and cloud bills, rolled up, marked as demo.

Forecasts and anomalies need history a fresh platform does not have. This seeds, for each of the
last ``days`` UTC days, the platform's own DAGs and tasks (one ingestion DAG per source with a task
per resource, the dbt transform, the churn model's training, scoring and monitoring, the audit and
cost DAGs) with durations that follow a weekly pattern and a slow growth, a few retried tasks, and
two deliberate spikes (a training run that took six times as long, a day of heavy backfills);
plus daily AWS bills per team and DAG tag. Every row is ``demo = true`` (run ids ``demo__<day>``),
so the Cost & ROI page says it shows demo data, and :func:`clear` removes exactly these rows.
Then each day is rolled up and valued (ROI) as the daily DAG would, and budgets are evaluated for
the last day (Slack alerts when a Slack connection exists).

Deterministic for a given seed and end day.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from scrollintel.config.governance import Governance

log = logging.getLogger(__name__)

DEFAULT_DAYS = 90
DEFAULT_SEED = 18
RUN_PREFIX = "demo__"


@dataclass(frozen=True)
class DemoTask:
    """A task of the demo history: its DAG, owner, queue and typical minutes."""

    dag_id: str
    task_id: str
    owner: str
    queue: str
    minutes: float


def demo_tasks(governance: Governance) -> list[DemoTask]:
    """The platform's DAGs and tasks as the demo history runs them."""
    tasks = [
        DemoTask(f"ingest_{name}", resource.name, source.owner, "default", 6.0 + 4.0 * (len(resource.name) % 3))
        for name, source in sorted(governance.sources.items())
        for resource in source.resources
    ]
    tasks += [
        DemoTask("transform_warehouse", model, "analytics", "default", minutes)
        for model, minutes in (("staging", 12.0), ("marts", 25.0), ("dbt_test", 8.0))
    ]
    tasks += [
        DemoTask("ml_churn_train", "train", "ml", "gpu", 95.0),
        DemoTask("ml_churn_train", "evaluate", "ml", "ml", 20.0),
        DemoTask("ml_churn_score", "score", "ml", "ml", 15.0),
        DemoTask("ml_churn_monitor", "monitor", "ml", "ml", 10.0),
        DemoTask("audit_anchor", "anchor", "compliance", "default", 2.0),
        DemoTask("audit_import_airflow_log", "import_event_log", "compliance", "default", 30.0),
        DemoTask("platform_health", "check", "data-platform", "default", 20.0),
        DemoTask("cost_rollup", "rollup", "finance", "default", 3.0),
    ]
    return tasks


#: Daily AWS bills per (team tag, dag tag), in the rates' currency: object storage, RDS, transfer.
CLOUD_LINES = (
    ("data-platform", "", 95.0),
    ("data-platform", "ingest_shop", 18.0),
    ("analytics", "transform_warehouse", 32.0),
    ("ml", "ml_churn_train", 55.0),
    ("ml", "", 12.0),
    ("compliance", "audit_anchor", 4.0),
    ("finance", "", 7.0),
)


def synthetic_runs(
    tasks: list[DemoTask], end: date, days: int, seed: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``(task try rows, cloud rows)`` for the ``days`` days ending with ``end``."""
    rng = random.Random(seed)
    runs: list[tuple[Any, ...]] = []
    cloud: list[tuple[Any, ...]] = []
    first = end - timedelta(days=days - 1)
    heavy_day = end - timedelta(days=max(days // 3, 1))
    spike_day = end - timedelta(days=max(days // 9, 1))
    for offset in range(days):
        day = first + timedelta(days=offset)
        weekly = 0.7 if day.weekday() >= 5 else 1.0 + 0.08 * math.sin(day.weekday())
        growth = 1.0 + 0.25 * offset / max(days, 1)
        start_of_day = datetime.combine(day, time(1), tzinfo=UTC)
        for index, task in enumerate(tasks):
            minutes = task.minutes * weekly * growth * rng.lognormvariate(0, 0.12)
            if day == spike_day and task.task_id == "train":
                minutes *= 6
            if day == heavy_day and task.dag_id.startswith("ingest_"):
                minutes *= 4
            begin = start_of_day + timedelta(minutes=3 * index)
            run_id = f"{RUN_PREFIX}{day.isoformat()}"
            tries = 2 if rng.random() < 0.03 else 1
            for attempt in range(1, tries + 1):
                seconds = minutes * 60 * (0.4 if attempt < tries else 1.0)
                finish = begin + timedelta(seconds=seconds)
                state = "failed" if attempt < tries else "success"
                runs.append(
                    (task.dag_id, run_id, task.task_id, -1, attempt, begin, finish, seconds, state,
                     "default_pool", task.queue, "LocalExecutor", task.owner)
                )  # fmt: skip
                begin = finish + timedelta(seconds=60)
        for team, dag_id, amount in CLOUD_LINES:
            cloud.append((day, team, dag_id, Decimal(str(round(amount * growth * rng.uniform(0.9, 1.1), 4)))))
    return runs, cloud


def clear(conn: Any) -> None:
    """Remove the demo rows (task runs, cloud bills, and facts of demo rows); real data stays."""
    conn.execute("DELETE FROM governance.cost_facts WHERE demo")
    conn.execute("DELETE FROM governance.cost_task_runs WHERE demo")
    conn.execute("DELETE FROM governance.cost_cloud WHERE demo")


@dataclass(frozen=True)
class SeedResult:
    """What seeding did."""

    first: date
    last: date
    task_runs: int
    cloud_lines: int
    facts: int
    total: Decimal
    currency: str


def seed_cost_history(
    url: str, *, days: int = DEFAULT_DAYS, end: date | None = None, seed: int = DEFAULT_SEED, alerts: bool = True
) -> SeedResult:
    """Seed ``days`` days of demo usage ending ``end`` (default yesterday, UTC), roll each day up, value it."""
    from scrollintel.config import load_governance
    from scrollintel.cost import budgets, roi, rollup, sources
    from scrollintel.warehouse import connect

    governance = load_governance()
    if governance.budgets.rates is None:
        raise click.ClickException("governance/budgets.yaml: key 'rates' is missing; nothing can be priced")
    end = end or (datetime.now(UTC).date() - timedelta(days=1))
    runs, cloud = synthetic_runs(demo_tasks(governance), end, days, seed)
    currency = governance.budgets.rates.currency
    with connect(url) as conn:
        clear(conn)
        sources.store_task_runs(conn, runs, demo=True)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO governance.cost_cloud (day, team, dag_id, amount, currency, demo) "
                "VALUES (%s, %s, %s, %s, %s, true) ON CONFLICT (day, team, dag_id) DO UPDATE SET "
                "amount = excluded.amount, currency = excluded.currency, demo = true",
                [(*line, currency) for line in cloud],
            )
    first = end - timedelta(days=days - 1)
    done = rollup.rollup_range(url, first, end, governance)
    facts = sum(sum(item.facts.values()) for item in done)
    total = sum((item.total for item in done), Decimal(0))
    for item in done:
        roi.compute_roi(url, item.day, governance)
    if alerts:
        budgets.evaluate_budgets(url, end, governance)
    return SeedResult(first, end, len(runs), len(cloud), facts, total, currency)


@click.command("cost-history")
@click.option("--days", type=click.IntRange(7, 400), default=DEFAULT_DAYS, show_default=True, help="Days of history.")
@click.option("--end", "end_day", default=None, help="Last day seeded, YYYY-MM-DD (default: yesterday, UTC).")
@click.option("--seed", "seed_value", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option("--url", default=None, help="Warehouse URL (default: the platform's warehouse).")
@click.option("--no-alerts", is_flag=True, help="Do not evaluate budgets (no Slack alerts, no ledger entries).")
def cost_history_command(*, days: int, end_day: str | None, seed_value: int, url: str | None, no_alerts: bool) -> None:
    """Seed synthetic task runs and cloud bills (marked demo) and roll them up, for forecasts and anomalies."""
    from scrollintel.db import warehouse_url

    try:
        end = date.fromisoformat(end_day) if end_day else None
    except ValueError as err:
        raise click.BadParameter(f"{end_day!r} is not a date (YYYY-MM-DD)", param_hint="--end") from err
    result = seed_cost_history(url or warehouse_url(), days=days, end=end, seed=seed_value, alerts=not no_alerts)
    click.echo(
        f"demo cost history {result.first} .. {result.last}: {result.task_runs:,} task tries, "
        f"{result.cloud_lines:,} cloud lines, {result.facts:,} facts, total {result.total:,.2f} {result.currency}"
    )
