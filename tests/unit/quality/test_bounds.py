"""Bounds decided at run time: volume against history, freshness against the as-of; the as-of itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scrollintel.exceptions import ConfigError
from scrollintel.quality.bounds import Reference, freshness_kwargs, resolve_expectation, volume_kwargs
from scrollintel.quality.runner import resolve_as_of
from scrollintel.quality.suites import ExpectationSpec, FreshnessRule, VolumeRule

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
REFERENCE = Reference(as_of=AS_OF, now=NOW)


def test_volume_bounds_come_from_the_median_of_recent_successful_runs() -> None:
    rule = VolumeRule(history=5, min_history=3, max_drop=0.5, max_growth=1.0)

    kwargs, note = volume_kwargs(rule, {"min_value": 1}, [6100, 5900, 6000, 100_000, 10, 7000, 1])

    # newest five only: median of 6100, 5900, 6000, 100000, 10 is 6000
    assert kwargs == {"min_value": 3000, "max_value": 12000}
    assert note == "median of the last 5 successful runs: 6000 rows; allowed -50% / +100%"


def test_too_little_history_keeps_the_written_bounds() -> None:
    kwargs, note = volume_kwargs(VolumeRule(min_history=3), {"min_value": 1}, [6000, 6000])

    assert kwargs == {"min_value": 1}
    assert note == "static bounds: 2 successful run(s) on record, 3 needed to judge volume against history"


@pytest.mark.parametrize(
    ("column_type", "bound"),
    [
        ("date", "2025-12-29"),
        ("timestamp with time zone", "2025-12-29T00:00:00+00:00"),
        ("timestamp without time zone", "2025-12-29T00:00:00"),
        (None, "2025-12-29T00:00:00+00:00"),
    ],
)
def test_freshness_bound_is_written_in_the_columns_type(column_type: str | None, bound: str) -> None:
    kwargs, note = freshness_kwargs(FreshnessRule(max_age_hours=72), {"column": "day"}, column_type, REFERENCE)

    assert kwargs == {"column": "day", "min_value": bound}
    assert note == "newest value at most 72 h before as_of = 2026-01-01T00:00:00+00:00"


def test_freshness_against_the_wall_clock() -> None:
    kwargs, _note = freshness_kwargs(
        FreshnessRule(max_age_hours=1.5, reference="now"), {"column": "t"}, "timestamp with time zone", REFERENCE
    )

    assert kwargs["min_value"] == "2026-11-22T11:00:00+00:00"


def test_other_expectations_pass_through_unchanged() -> None:
    spec = ExpectationSpec(type="expect_column_values_to_be_unique", kwargs={"column": "id"}, description="keys")

    assert resolve_expectation(spec, history=[1, 2, 3], column_types={}, reference=REFERENCE) == {
        "type": "expect_column_values_to_be_unique",
        "kwargs": {"column": "id"},
        "description": "keys",
    }


def test_resolved_expectations_explain_their_bounds_in_meta() -> None:
    spec = ExpectationSpec.model_validate(
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": 1},
            "meta": {"scrollintel": {"volume": {"history": 3, "min_history": 3}}},
        }
    )

    resolved = resolve_expectation(spec, history=[10, 20, 30], column_types={}, reference=REFERENCE)

    assert resolved["kwargs"] == {"min_value": 10, "max_value": 40}
    assert resolved["meta"]["bounds"].startswith("median of the last 3 successful runs: 20 rows")
    assert resolved["meta"]["scrollintel"]["volume"]["history"] == 3


def test_the_as_of_is_given_or_from_the_environment_or_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCROLLINTEL_AS_OF", raising=False)
    assert resolve_as_of("2026-01-01") == AS_OF
    assert resolve_as_of("2026-01-01T01:00:00+01:00") == AS_OF
    assert resolve_as_of("2026-01-01T00:00:00Z") == AS_OF
    assert resolve_as_of(datetime(2026, 1, 1)) == AS_OF  # naive means UTC
    before = datetime.now(UTC)
    assert before <= resolve_as_of(None) <= datetime.now(UTC)
    monkeypatch.setenv("SCROLLINTEL_AS_OF", "2026-01-01")
    assert resolve_as_of("") == AS_OF


def test_a_bad_as_of_names_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_AS_OF", "new year")

    with pytest.raises(ConfigError, match=r"SCROLLINTEL_AS_OF='new year' is not an ISO date or date-time"):
        resolve_as_of(None)
    with pytest.raises(ConfigError, match=r"as_of='01/01/2026' is not an ISO date"):
        resolve_as_of("01/01/2026")
