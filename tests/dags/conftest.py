"""DAG tests: the dbt manifest the cosmos DAG is rendered from, and parse times in the test summary."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: (what, milliseconds, tasks) of the cosmos DAG's parses, reported in the summary.
COSMOS_PARSE_TIMES: list[tuple[str, float, int]] = []


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The dbt manifest, built as `make run` builds it (``scrollintel transform manifest``, its own process)."""
    from scrollintel.transform.project import ENV_DBT_STATE_DIR

    state = tmp_path_factory.mktemp("dbt-state")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "scrollintel"), "transform", "manifest", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"building the dbt manifest failed:\n{result.stdout}\n{result.stderr}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_DBT_STATE_DIR, str(state))
        yield state / "manifest.json"


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
