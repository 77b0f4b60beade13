"""``governance/roi.yaml``: business value credited against cost."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from scrollintel.config.fields import Currency, Dataset, GovernanceModel, Id, Text


class AppliesTo(GovernanceModel):
    """What a value definition is credited to: DAG runs and/or datasets."""

    dags: list[Id] = Field(default_factory=list)
    datasets: list[Dataset] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> AppliesTo:
        if not self.dags and not self.datasets:
            raise ValueError("name at least one DAG id or dataset")
        return self


class ValueDefinition(GovernanceModel):
    """Business value credited against cost: per run, per row, or a SQL metric times an amount."""

    id: Id
    team: Id
    description: Text
    kind: Literal["fixed_per_run", "per_row", "metric_sql"]
    amount: Decimal = Field(gt=0)
    currency: Currency
    applies_to: AppliesTo
    sql: str | None = None

    @model_validator(mode="after")
    def _sql_matches_kind(self) -> ValueDefinition:
        if self.kind == "metric_sql":
            if not self.sql:
                raise ValueError("kind 'metric_sql' needs a 'sql' query returning one number")
            if not re.match(r"(?is)\s*(select|with)\b", self.sql):
                raise ValueError("'sql' must be a single SELECT (or WITH ... SELECT) query")
        elif self.sql is not None:
            raise ValueError(f"'sql' is only used with kind 'metric_sql', not {self.kind!r}")
        return self


class RoiConfig(GovernanceModel):
    """governance/roi.yaml."""

    values: list[ValueDefinition] = Field(min_length=1)
