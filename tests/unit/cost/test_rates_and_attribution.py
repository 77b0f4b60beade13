"""Rates in budgets.yaml (validated, named errors) and the rollup's pricing and splitting arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrollintel.config import load_governance, validate_governance
from scrollintel.cost.rollup import Attribution, TaskTry, compute_facts, split
from tests.unit.conftest import REPO_GOVERNANCE

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 20)


def problems(directory: Path) -> list[str]:
    return [str(problem) for problem in validate_governance(directory)]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("default_queue: default", "default_queue: large",
         "governance/budgets.yaml:rates: default_queue 'large' is not one of the queues ['default', 'gpu', 'ml']"),
        ("cpu_hour: 0.045", "cpu_hour: -1",
         "governance/budgets.yaml:rates.cpu_hour: input should be greater than or equal to 0"),
        ("ml: {cpus: 4, memory_gb: 16}", "ml: {cpus: 0, memory_gb: 16}",
         "governance/budgets.yaml:rates.queues.ml.cpus: input should be greater than 0"),
        ("  currency: EUR\n  cpu_hour", "  currency: USD\n  cpu_hour",
         "budgets[0] (team 'data-platform') is in EUR but rates are in USD"),
    ],
)  # fmt: skip
def test_bad_rates_are_named(gov: Path, old: str, new: str, message: str) -> None:
    edit(gov / "budgets.yaml", old, new)
    found = problems(gov)
    assert len(found) == 1 and message in found[0], found


def test_queue_sizes_and_overrides_price_a_slot_hour() -> None:
    rates = load_governance(REPO_GOVERNANCE).budgets.rates
    assert rates is not None
    assert rates.hourly("default") == Decimal("0.045") + 2 * Decimal("0.005")
    assert rates.hourly("gpu") == 8 * Decimal("0.35") + 32 * Decimal("0.005")  # its own CPU price
    assert rates.hourly("no-such-queue") == rates.hourly(None) == rates.hourly("default")


@given(st.decimals(min_value=0, max_value=10_000, places=6), st.integers(min_value=1, max_value=40))
def test_a_split_sums_back_exactly(amount: Decimal, parts: int) -> None:
    shares = split(amount, parts)
    assert len(shares) == parts and sum(shares) == amount
    assert max(shares) - min(shares) <= Decimal("0.000001") * parts


def test_facts_split_over_written_datasets_and_fall_back_to_the_platform_team() -> None:
    rates = load_governance(REPO_GOVERNANCE).budgets.rates
    assert rates is not None
    attribution = Attribution(
        rates=rates,
        teams=frozenset({"analytics", "data-platform"}),
        fallback_team="data-platform",
        outputs={("t", "marts"): ["marts.a", "marts.b", "marts.c"]},
        dataset_owners={},
    )
    tasks = [
        TaskTry("t", "r1", "marts", -1, 1, 3600.0, "default", "analytics"),
        TaskTry("x", "r1", "other", -1, 2, 1800.0, None, "someone,else"),
    ]
    facts = list(compute_facts(DAY, tasks, attribution))
    assert [(f.dataset, f.team) for f in facts] == [
        ("marts.a", "analytics"), ("marts.b", "analytics"), ("marts.c", "analytics"), (None, "data-platform"),
    ]  # fmt: skip
    assert sum(f.amount for f in facts[:3]) == Decimal("0.055")
    assert facts[3].amount == Decimal("0.0275") and facts[3].try_number == 2
