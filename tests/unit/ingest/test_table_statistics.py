"""When a source table's statistics still describe it: autovacuum's own re-analyze margin."""

from __future__ import annotations

import pytest

from scrollintel.ingest.connectors.base import TableStatistics

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("changed", "rows", "fresh"),
    [
        (0, 1_000, True),
        (150, 1_000, True),  # 50 + 10 % of 1,000
        (151, 1_000, False),
        (50, 0, True),  # a tiny table: the 50 rows of slack
        (51, 0, False),
        (100_000, 1_000_000, True),
        (100_051, 1_000_000, False),
    ],
)
def test_statistics_stay_fresh_within_autovacuums_re_analyze_margin(changed: int, rows: int, fresh: bool) -> None:
    assert TableStatistics.within_margin(changed, rows) is fresh


def test_statistics_describe_a_copy_with_about_the_rows_they_counted() -> None:
    stats = TableStatistics(rows=300_000.0, columns={})

    assert stats.describes(300_000) and stats.describes(270_000) and stats.describes(330_050)
    assert not stats.describes(269_000) and not stats.describes(331_000)
