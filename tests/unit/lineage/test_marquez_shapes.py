"""Pure pieces of the Marquez shapes: run state, run args and job version ids (no database)."""

from __future__ import annotations

import pytest

from scrollintel.lineage import marquez
from scrollintel.lineage.nodes import job_version_uuid

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("stored", "answered"),
    [
        ("NEW", "RUNNING"),
        ("RUNNING", "RUNNING"),
        ("COMPLETED", "COMPLETED"),
        ("FAILED", "FAILED"),
        ("ABORTED", "ABORTED"),
    ],
)
def test_a_run_known_only_from_other_events_is_running(stored: str, answered: str) -> None:
    assert marquez.run_state(stored) == answered


def test_run_args_hold_nominal_times_and_the_parent_run_as_marquez_writes_them() -> None:
    facets = {
        "nominalTime": {"nominalStartTime": "2026-01-01T06:00:00Z", "nominalEndTime": "2026-01-01T07:00:00Z"},
        "parent": {"run": {"runId": "r-1"}, "job": {"namespace": "scrollintel", "name": "ingest_shop"}},
        "other": {"x": 1},
    }

    assert marquez.run_args(facets) == {
        "nominal_start_time": "2026-01-01T06:00:00Z",
        "nominal_end_time": "2026-01-01T07:00:00Z",
        "run_id": "r-1",
        "name": "ingest_shop",
        "namespace": "scrollintel",
    }


def test_run_args_ignore_facets_that_do_not_have_the_specs_shape() -> None:
    assert marquez.run_args({"nominalTime": "yesterday", "parent": {"run": 1, "job": {"name": 2}}}) == {}


def test_a_job_version_depends_on_its_datasets_not_their_order_or_repetition() -> None:
    a, b = ("postgres://warehouse:5432", "raw.a"), ("postgres://warehouse:5432", "raw.b")

    first = job_version_uuid("scrollintel", "job", [a, b], [b])
    assert first == job_version_uuid("scrollintel", "job", [b, a, a], [b])
    assert first != job_version_uuid("scrollintel", "job", [a], [b])
    assert first != job_version_uuid("scrollintel", "job", [a, b], [])
    assert first != job_version_uuid("scrollintel", "other", [a, b], [b])
    assert job_version_uuid("scrollintel", "job", [a], []) != job_version_uuid("scrollintel", "job", [], [a])
