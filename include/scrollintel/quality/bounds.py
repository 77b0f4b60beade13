"""Bounds decided at run time: volume against recent history, freshness against a reference instant.

**Volume.** An ``expect_table_row_count_to_be_between`` with ``meta.scrollintel.volume`` gets
``min_value``/``max_value`` from the row counts the dataset had in its most recent *successful*
gate runs (``governance.quality_run.row_count``, newest first, at most ``history`` of them):
``floor(median x (1 - max_drop))`` to ``ceil(median x (1 + max_growth))``. With fewer than
``min_history`` such runs (a new dataset) the suite's own static kwargs apply. Only successful
runs count, so a bad load never becomes the baseline the next run is judged against.

**Freshness.** An ``expect_column_max_to_be_between`` with ``meta.scrollintel.freshness`` gets
``min_value = reference - max_age_hours``, written in the column's own type (a date column gets a
date, a ``timestamptz`` column an ISO instant with offset). The reference is the gate's *as-of*
(``reference: as_of``, the default) or the wall clock (``reference: now``). The as-of is the
instant the data describes: the same one dbt's ``scrollintel_as_of`` var pins (the demo data is
observed at 2026-01-01, so its orders end on 2025-12-31 whatever today's date); in production,
where the as-of is unset, it is now. Load times (``_loaded_at``) are checked against now.

Each computed bound is explained in the expectation's ``meta.bounds`` (kept in the stored
kwargs, the result file and the data docs), e.g. "median of the last 5 successful runs: 6000".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scrollintel.quality.suites import ExpectationSpec, FreshnessRule, Suite, VolumeRule


@dataclass(frozen=True)
class Reference:
    """The instants freshness is measured against."""

    as_of: datetime
    now: datetime

    def pick(self, name: str) -> datetime:
        """``as_of`` or ``now``."""
        return self.now if name == "now" else self.as_of


def volume_kwargs(rule: VolumeRule, written: Mapping[str, Any], history: Sequence[int]) -> tuple[dict[str, Any], str]:
    """Row count bounds from ``history`` (newest first); the written kwargs when history is too short."""
    recent = [int(count) for count in history[: rule.history]]
    if len(recent) < rule.min_history:
        note = (
            f"static bounds: {len(recent)} successful run(s) on record, "
            f"{rule.min_history} needed to judge volume against history"
        )
        return dict(written), note
    median = statistics.median(recent)
    kwargs = {
        **written,
        "min_value": math.floor(median * (1 - rule.max_drop)),
        "max_value": math.ceil(median * (1 + rule.max_growth)),
    }
    note = (
        f"median of the last {len(recent)} successful runs: {median:g} rows; "
        f"allowed -{rule.max_drop:.0%} / +{rule.max_growth:.0%}"
    )
    return kwargs, note


def freshness_kwargs(
    rule: FreshnessRule, written: Mapping[str, Any], column_type: str | None, reference: Reference
) -> tuple[dict[str, Any], str]:
    """``min_value`` = reference - max age, in the column's type (``date`` or a timestamp)."""
    instant = reference.pick(rule.reference).astimezone(UTC)
    oldest = instant - timedelta(hours=rule.max_age_hours)
    if column_type == "date":
        bound: str = oldest.date().isoformat()
    elif column_type == "timestamp without time zone":
        bound = oldest.replace(tzinfo=None).isoformat()
    else:
        bound = oldest.isoformat()
    note = f"newest value at most {rule.max_age_hours:g} h before {rule.reference} = {instant.isoformat()}"
    return {**written, "min_value": bound}, note


def resolve_expectation(
    spec: ExpectationSpec, *, history: Sequence[int], column_types: Mapping[str, str], reference: Reference
) -> dict[str, Any]:
    """The GX expectation dict of ``spec`` with its run-time bounds filled in."""
    rules = spec.rules
    if rules.volume is not None:
        kwargs, note = volume_kwargs(rules.volume, spec.kwargs, history)
        return spec.as_gx(kwargs, note)
    if rules.freshness is not None:
        column = str(spec.kwargs["column"])
        kwargs, note = freshness_kwargs(rules.freshness, spec.kwargs, column_types.get(column), reference)
        return spec.as_gx(kwargs, note)
    return spec.as_gx()


def resolve_suite(
    suite: Suite, *, history: Sequence[int], column_types: Mapping[str, str], reference: Reference
) -> list[dict[str, Any]]:
    """Every expectation of ``suite`` as GX reads it, bounds filled in."""
    return [
        resolve_expectation(spec, history=history, column_types=column_types, reference=reference)
        for spec in suite.expectations
    ]
