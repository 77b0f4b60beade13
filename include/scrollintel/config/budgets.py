"""``governance/budgets.yaml``: each team's monthly budget, its alert thresholds, and the rates cost is priced at."""

from __future__ import annotations

import itertools
from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from scrollintel.config.fields import Currency, GovernanceModel, Id


class Budget(GovernanceModel):
    """A team's monthly spending budget and when to alert."""

    team: Id
    currency: Currency
    monthly_amount: Decimal = Field(gt=0)
    alert_thresholds: list[float] = Field(min_length=1)

    @field_validator("alert_thresholds")
    @classmethod
    def _ascending(cls, value: list[float]) -> list[float]:
        for threshold in value:
            if not 0 < threshold <= 10:
                raise ValueError(f"threshold {threshold} must be a fraction of the budget above 0 (1.0 = 100%)")
        if any(later <= earlier for earlier, later in itertools.pairwise(value)):
            raise ValueError(f"thresholds must be strictly ascending, got {value}")
        return value


class PodSize(GovernanceModel):
    """What a task slot of one queue reserves while it runs: CPUs and memory (a pod size or a worker slot)."""

    cpus: float = Field(gt=0, le=256)
    memory_gb: float = Field(gt=0, le=4096)
    cpu_hour: Decimal | None = Field(default=None, ge=0)
    """This queue's price per CPU-hour when it differs from the default (e.g. GPU or spot nodes)."""
    gb_hour: Decimal | None = Field(default=None, ge=0)
    """This queue's price per GB-hour of memory when it differs from the default."""


class Rates(GovernanceModel):
    """Prices of compute (per queue's pod size), warehouse storage and warehouse query time."""

    currency: Currency
    cpu_hour: Decimal = Field(ge=0)
    gb_hour: Decimal = Field(ge=0)
    queues: dict[str, PodSize] = Field(min_length=1)
    default_queue: str
    """The size of a task whose queue is not listed (Airflow's default queue is ``default``)."""
    storage_gb_month: Decimal = Field(ge=0)
    """Warehouse storage per GB and month (priced per day as 1/30 of it)."""
    query_cpu_hour: Decimal = Field(ge=0)
    """Warehouse query execution time (pg_stat_statements) per hour."""

    @model_validator(mode="after")
    def _default_listed(self) -> Rates:
        if self.default_queue not in self.queues:
            raise ValueError(f"default_queue {self.default_queue!r} is not one of the queues {sorted(self.queues)}")
        return self

    def size(self, queue: str | None) -> tuple[str, PodSize]:
        """The queue a task is priced as (its own when listed, else the default) and its size."""
        name = queue if queue in self.queues else self.default_queue
        return name, self.queues[name]

    def hourly(self, queue: str | None) -> Decimal:
        """Price of one hour of a task slot of ``queue``: CPUs x CPU-hour + memory x GB-hour."""
        _, size = self.size(queue)
        cpu = size.cpu_hour if size.cpu_hour is not None else self.cpu_hour
        mem = size.gb_hour if size.gb_hour is not None else self.gb_hour
        return Decimal(str(size.cpus)) * cpu + Decimal(str(size.memory_gb)) * mem


class BudgetsConfig(GovernanceModel):
    """governance/budgets.yaml."""

    budgets: list[Budget] = Field(min_length=1)
    rates: Rates | None = None

    @model_validator(mode="after")
    def _one_currency(self) -> BudgetsConfig:
        if self.rates is None:
            return self
        for index, budget in enumerate(self.budgets):
            if budget.currency != self.rates.currency:
                raise ValueError(
                    f"budgets[{index}] (team {budget.team!r}) is in {budget.currency} but rates are in "
                    f"{self.rates.currency}: cost is compared with budgets in one currency"
                )
        return self
