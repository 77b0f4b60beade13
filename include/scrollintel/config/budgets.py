"""``governance/budgets.yaml``: each team's monthly budget and its alert thresholds."""

from __future__ import annotations

import itertools
from decimal import Decimal

from pydantic import Field, field_validator

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


class BudgetsConfig(GovernanceModel):
    """governance/budgets.yaml."""

    budgets: list[Budget] = Field(min_length=1)
