"""Daily cost facts: usage priced by ``governance/budgets.yaml`` rates and attributed to DAG, team and dataset.

A day's facts are computed from what :mod:`scrollintel.cost.sources` collected for that day and
replace the day's previous facts in one transaction (``DELETE`` + ``COPY``): re-running a day
gives the same rows, never more. The attribution rule is ADR 0014:

- **DAG**: the task try's DAG (cloud bills: their ``dag`` tag; storage and query time: none);
- **team**: the DAG's owner when it is a team of ``teams.yaml``, else the team answering for the
  ``platform`` area (storage: the dataset's owner; query time: ``platform``; cloud: the ``team`` tag);
- **dataset**: a task's cost is split in equal shares over the datasets its lineage job
  (``<dag_id>.<task_id>``) writes (an ingestion task the lineage store has not seen yet: the raw
  table it loads by construction); a task writing none keeps its cost with no dataset. Amounts
  are rounded to 6 decimals and the last share takes the remainder, so shares sum exactly to the
  task's cost and no view loses or doubles a cent.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ConfigError

if TYPE_CHECKING:
    from scrollintel.config.budgets import Rates
    from scrollintel.config.governance import Governance

log = logging.getLogger(__name__)

QUANTUM = Decimal("0.000001")
SECONDS_PER_HOUR = Decimal(3600)
BYTES_PER_GB = Decimal(1_000_000_000)
DAYS_PER_MONTH = Decimal(30)
MS_PER_HOUR = Decimal(3_600_000)
FACT_COLUMNS = (
    "day",
    "kind",
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "team",
    "dataset",
    "share",
    "usage",
    "unit",
    "amount",
    "currency",
    "demo",
    "db_role",
)


@dataclass(frozen=True)
class TaskTry:
    """One Airflow task try as collected (``governance.cost_task_runs``)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    duration_s: float
    queue: str | None
    owner: str | None
    demo: bool = False


@dataclass(frozen=True)
class Fact:
    """One row of ``governance.cost_facts``."""

    day: date
    kind: str
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int | None
    try_number: int | None
    team: str
    dataset: str | None
    share: float
    usage: float
    unit: str
    amount: Decimal
    currency: str
    demo: bool = False
    db_role: str | None = None
    """The database role whose query time this is (``query`` facts only)."""


@dataclass(frozen=True)
class Attribution:
    """What the rollup needs besides usage: rates, who owns what, and which datasets each task writes."""

    rates: Rates
    teams: frozenset[str]
    fallback_team: str
    outputs: Mapping[tuple[str, str], Sequence[str]]
    """``(dag_id, task_id)`` -> datasets the task writes (sorted, distinct)."""
    dataset_owners: Mapping[str, str]
    """Dataset -> owning team, for storage (missing: the fallback team)."""

    def team_of(self, owner: str | None) -> str:
        """The DAG owner when it is a declared team (first of a comma list), else the fallback team."""
        for name in (owner or "").split(","):
            if name.strip() in self.teams:
                return name.strip()
        return self.fallback_team


def quantize(amount: Decimal) -> Decimal:
    """``amount`` at the facts' precision (6 decimals, banker's rounding)."""
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def split(amount: Decimal, parts: int) -> list[Decimal]:
    """``amount`` in ``parts`` equal shares at 6 decimals; the last takes the remainder (sum is exact)."""
    if parts <= 1:
        return [amount]
    each = quantize(amount / parts)
    return [each] * (parts - 1) + [amount - each * (parts - 1)]


def price_task(task: TaskTry, rates: Rates) -> Decimal:
    """A task try's cost: hours x its queue's hourly slot price, at 6 decimals."""
    return quantize(Decimal(str(task.duration_s)) / SECONDS_PER_HOUR * rates.hourly(task.queue))


def compute_facts(day: date, tasks: Iterable[TaskTry], attribution: Attribution) -> Iterator[Fact]:
    """Priced, attributed facts of the task tries that ended on ``day``."""
    rates = attribution.rates
    hourly: dict[str | None, Decimal] = {}
    for task in tasks:
        price = hourly.get(task.queue)
        if price is None:
            price = hourly[task.queue] = rates.hourly(task.queue)
        amount = quantize(Decimal(str(task.duration_s)) / SECONDS_PER_HOUR * price)
        team = attribution.team_of(task.owner)
        datasets: Sequence[str | None] = attribution.outputs.get((task.dag_id, task.task_id)) or [None]
        share = 1.0 / len(datasets)
        hours = task.duration_s / 3600.0
        for dataset, part in zip(datasets, split(amount, len(datasets)), strict=True):
            yield Fact(
                day,
                "compute",
                task.dag_id,
                task.run_id,
                task.task_id,
                task.map_index,
                task.try_number,
                team,
                dataset,
                share,
                hours * share,
                "slot-hour",
                part,
                rates.currency,
                task.demo,
            )


def storage_facts(day: date, tables: Iterable[tuple[str, int]], attribution: Attribution) -> Iterator[Fact]:
    """One fact per warehouse table ``(dataset, bytes)``: a day of its storage at the GB-month rate."""
    rates = attribution.rates
    per_byte_day = rates.storage_gb_month / DAYS_PER_MONTH / BYTES_PER_GB
    for dataset, size in tables:
        team = attribution.dataset_owners.get(dataset, attribution.fallback_team)
        yield Fact(
            day, "storage", None, None, None, None, None, team, dataset, 1.0, size / 1e9, "GB-day",
            quantize(Decimal(size) * per_byte_day), rates.currency,
        )  # fmt: skip


def query_facts(day: date, roles: Iterable[tuple[str, float]], attribution: Attribution) -> Iterator[Fact]:
    """One fact per database role ``(role, milliseconds executed that day)`` at the query rate."""
    rates = attribution.rates
    for role, ms in roles:
        if ms <= 0:
            continue
        yield Fact(
            day, "query", None, None, None, None, None, attribution.fallback_team, None, 1.0, ms / 3_600_000,
            "query-hour", quantize(Decimal(str(ms)) / MS_PER_HOUR * rates.query_cpu_hour), rates.currency,
            db_role=role,
        )  # fmt: skip


def cloud_facts(
    day: date, bills: Iterable[tuple[str, str, Decimal, str, bool]], attribution: Attribution
) -> Iterator[Fact]:
    """One fact per Cost Explorer line ``(team tag, dag tag, amount, currency, demo)``."""
    for team, dag_id, amount, currency, demo in bills:
        if currency != attribution.rates.currency:
            raise ConfigError(
                f"AWS Cost Explorer reports {currency} for {day}, budgets.yaml rates are in "
                f"{attribution.rates.currency}: convert, or set rates.currency to {currency}"
            )
        owner = team if team in attribution.teams else attribution.fallback_team
        yield Fact(
            day, "cloud", dag_id or None, None, None, None, None, owner, None, 1.0, float(amount), currency,
            quantize(amount), currency, demo,
        )  # fmt: skip


# -- the database side ----------------------------------------------------------------------------


def dataset_key(namespace: str, name: str) -> str:
    """``<schema>.<table>`` for a warehouse table (as roi.yaml names it), else ``<namespace>/<name>``."""
    from scrollintel.warehouse import WAREHOUSE_DATABASE, warehouse_namespace

    parts = name.split(".")
    if namespace == warehouse_namespace() and len(parts) == 3 and parts[0] == WAREHOUSE_DATABASE:
        return f"{parts[1]}.{parts[2]}"
    return f"{namespace}/{name}"


def lineage_outputs(conn: Any) -> dict[tuple[str, str], list[str]]:
    """``(dag_id, task_id)`` -> datasets written, from the lineage store (jobs named ``<dag_id>.<task_id>``)."""
    rows = conn.execute(
        """
        SELECT j.name, d.namespace, d.name
        FROM governance.lineage_job_output o
        JOIN governance.lineage_job j ON j.id = o.job_id
        JOIN governance.lineage_dataset d ON d.id = o.dataset_id
        WHERE position('.' IN j.name) > 0
        """
    ).fetchall()
    outputs: dict[tuple[str, str], set[str]] = {}
    for job, namespace, name in rows:
        dag_id, _, task_id = str(job).partition(".")
        outputs.setdefault((dag_id, task_id), set()).add(dataset_key(namespace, name))
    return {key: sorted(value) for key, value in outputs.items()}


def declared_outputs(governance: Governance) -> dict[tuple[str, str], list[str]]:
    """What ingestion writes by construction: ``ingest_<source>.<resource>`` loads ``raw.<source>__<resource>``.

    Used for tasks the lineage store has not seen (yet); what lineage records wins.
    """
    from scrollintel.warehouse import raw_table

    return {
        (f"ingest_{name}", resource.name): [raw_table(name, resource.name)]
        for name, source in governance.sources.items()
        for resource in source.resources
    }


def dataset_owner(governance: Governance, dataset: str) -> str:
    """The team owning a warehouse table: its source's owner (raw), ``transform`` (staging/marts), else ``platform``."""
    owners = governance.teams.owners
    schema, _, table = dataset.partition(".")
    if schema.startswith("raw") and "__" in table:
        source = governance.sources.get(table.split("__", 1)[0])
        if source is not None:
            return str(source.owner)
    if schema in ("staging", "marts"):
        return owners.transform
    return owners.platform


def attribution_for(conn: Any, governance: Governance, datasets: Iterable[str] = ()) -> Attribution:
    """Rates, teams and lineage outputs as the rollup of ``governance`` needs them."""
    rates = governance.budgets.rates
    if rates is None:
        raise ConfigError("governance/budgets.yaml: key 'rates' is missing; cost cannot be priced without it")
    return Attribution(
        rates=rates,
        teams=governance.team_ids,
        fallback_team=governance.teams.owners.platform,
        outputs={**declared_outputs(governance), **lineage_outputs(conn)},
        dataset_owners={dataset: dataset_owner(governance, dataset) for dataset in datasets},
    )


def task_tries(conn: Any, day: date) -> list[TaskTry]:
    """Task tries that ended on ``day`` (UTC)."""
    from scrollintel.cost.sources import day_bounds

    start, end = day_bounds(day)
    rows = conn.execute(
        """
        SELECT dag_id, run_id, task_id, map_index, try_number, duration_s, queue, owner, demo
        FROM governance.cost_task_runs WHERE end_date >= %s AND end_date < %s
        """,
        (start, end),
    ).fetchall()
    return [TaskTry(*row) for row in rows]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _text(value: str | None) -> str:
    """A text value for COPY's text format (ids and names rarely need escaping: checked, not assumed)."""
    if value is None:
        return "\\N"
    return value if value.isprintable() and "\\" not in value else _escape(value)


def _int(value: int | None) -> str:
    return "\\N" if value is None else str(value)


def _line(fact: Fact) -> str:
    """One fact as a line of COPY text, in :data:`FACT_COLUMNS` order."""
    return (
        f"{fact.day}\t{fact.kind}\t{_text(fact.dag_id)}\t{_text(fact.run_id)}\t{_text(fact.task_id)}\t"
        f"{_int(fact.map_index)}\t{_int(fact.try_number)}\t{_text(fact.team)}\t{_text(fact.dataset)}\t"
        f"{fact.share!r}\t{fact.usage!r}\t{_text(fact.unit)}\t{fact.amount}\t{_text(fact.currency)}\t"
        f"{'t' if fact.demo else 'f'}\t{_text(fact.db_role)}\n"
    )


def write_day(conn: Any, day: date, facts: Iterable[Fact]) -> int:
    """Replace ``day``'s facts by ``facts`` (the caller's transaction); returns how many were written."""
    conn.execute("DELETE FROM governance.cost_facts WHERE day = %s", (day,))
    buffer = io.StringIO()
    count = 0
    for fact in facts:
        buffer.write(_line(fact))
        count += 1
    if count:
        with conn.cursor() as cur, cur.copy(f"COPY governance.cost_facts ({', '.join(FACT_COLUMNS)}) FROM STDIN") as cp:
            cp.write(buffer.getvalue())
    return count


@dataclass(frozen=True)
class DayRollup:
    """What rolling up one day wrote, per kind, and the day's total."""

    day: date
    facts: dict[str, int]
    total: Decimal
    currency: str


def rollup_day(url: str, day: date, governance: Governance | None = None) -> DayRollup:
    """Price and attribute everything collected for ``day`` and replace the day's facts (one transaction)."""
    return rollup_range(url, day, day, governance)[0]


def rollup_range(url: str, first: date, last: date, governance: Governance | None = None) -> list[DayRollup]:
    """:func:`rollup_day` for every day from ``first`` to ``last``, one transaction per day (a backfill).

    Rates, owners and lineage outputs are read once for the whole range.
    """
    from datetime import timedelta

    from scrollintel.config import load_governance
    from scrollintel.cost import sources
    from scrollintel.warehouse import connect

    governance = governance or load_governance()
    done: list[DayRollup] = []
    with connect(url) as conn:
        attribution = attribution_for(conn, governance)
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            storage = sources.storage_on(conn, day)
            owners = {dataset: dataset_owner(governance, dataset) for dataset, _ in storage}
            daily = replace(attribution, dataset_owners=owners)
            facts: list[Fact] = []
            counts: dict[str, int] = {}
            for kind, produced in (
                ("compute", compute_facts(day, task_tries(conn, day), daily)),
                ("storage", storage_facts(day, storage, daily)),
                ("query", query_facts(day, sources.query_time_on(conn, day), daily)),
                ("cloud", cloud_facts(day, sources.cloud_on(conn, day), daily)),
            ):
                batch = list(produced)
                counts[kind] = len(batch)
                facts.extend(batch)
            write_day(conn, day, facts)
            conn.commit()
            total = sum((fact.amount for fact in facts), Decimal(0))
            log.info("cost rollup %s: %s facts, total %s %s", day, counts, total, attribution.rates.currency)
            done.append(DayRollup(day, counts, total, attribution.rates.currency))
    return done
