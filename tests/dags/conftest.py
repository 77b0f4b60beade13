"""Report DAG parse times in the test summary."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.dags.test_dag_integrity import PARSE_TIMES

    if not PARSE_TIMES:
        return
    terminalreporter.section("DAG parse times (DagBag)")
    for name, seconds, dags, tasks in sorted(PARSE_TIMES, key=lambda row: -row[1]):
        terminalreporter.write_line(f"{name:40} {seconds * 1000:8.1f} ms  {dags} DAG(s)  {tasks} task(s)")
