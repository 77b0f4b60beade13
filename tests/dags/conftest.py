"""DAG tests: the dbt manifest the cosmos DAG is rendered from, and parse times in the test summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: (what, milliseconds, tasks) of the cosmos DAG's parses, reported in the summary.
COSMOS_PARSE_TIMES: list[tuple[str, float, int]] = []


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest(dbt_manifest: Path) -> Iterator[Path]:
    """The session's dbt manifest (tests/conftest.py), published where the DAG file looks for it."""
    from scrollintel.transform.project import ENV_DBT_STATE_DIR

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_DBT_STATE_DIR, str(dbt_manifest.parent))
        yield dbt_manifest


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.dags.test_dag_integrity import PARSE_TIMES

    if PARSE_TIMES:
        terminalreporter.section("DAG parse times (DagBag)")
        for name, seconds, dags, tasks in sorted(PARSE_TIMES, key=lambda row: -row[1]):
            terminalreporter.write_line(f"{name:40} {seconds * 1000:8.1f} ms  {dags} DAG(s)  {tasks} task(s)")
    if COSMOS_PARSE_TIMES:
        terminalreporter.section("cosmos DAG transform_warehouse parse time (LoadMode.DBT_MANIFEST)")
        for what, millis, tasks in COSMOS_PARSE_TIMES:
            terminalreporter.write_line(f"{what:60} {millis:8.1f} ms  {tasks} task(s)")
