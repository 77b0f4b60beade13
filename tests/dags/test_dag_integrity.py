"""DAG integrity: every DAG file imports, follows the house rules and parses fast.

The DagBag is built once for the module, with the cluster policy active (as in Airflow).
Parse time per file is printed in the test summary (`DAG parse times`).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

DAGS_DIR = project_root() / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
PARSE_BUDGET_S = 1.0
#: Factory files (STYLE: "factories only for repeated shapes") -> the prefix of every DAG id they build.
FACTORY_FILES = {"ingest_sources.py": "ingest_"}
#: The DAG file rendered by cosmos, whose parse time the summary reports on its own.
COSMOS_DAG_FILE = "transform_warehouse.py"
MS = timedelta(milliseconds=1)

PARSE_TIMES: list[tuple[str, float, int, int]] = []


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import COSMOS_PARSE_TIMES

    imports = "cosmos already imported" if "cosmos.converter" in sys.modules else "imports cosmos"
    bag = DagBag(dag_folder=str(DAGS_DIR))
    for stat in bag.dagbag_stats:
        PARSE_TIMES.append((Path(stat.file).name, stat.duration.total_seconds(), stat.dag_num, stat.task_num))
        if Path(stat.file).name == COSMOS_DAG_FILE:
            COSMOS_PARSE_TIMES.append((f"with the other DAG files ({imports})", stat.duration / MS, stat.task_num))
    return bag


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}, "\n".join(f"{f}: {e}" for f, e in dagbag.import_errors.items())


def test_every_file_defines_one_dag_named_after_it(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert DAG_FILES, "no DAG files found"
    by_file: dict[str, list[str]] = {}
    for dag in dagbag.dags.values():
        by_file.setdefault(Path(dag.fileloc).name, []).append(dag.dag_id)
    for path in DAG_FILES:
        if path.name in FACTORY_FILES:
            prefix = FACTORY_FILES[path.name]
            built = by_file.get(path.name, [])
            assert built, f"{path.name} (a DAG factory) built no DAG"
            assert all(name.startswith(prefix) for name in built), f"{path.name}: DAG ids must start with {prefix!r}"
            continue
        assert by_file.get(path.name) == [path.stem], (
            f"{path.name} must define exactly one DAG with dag_id {path.stem!r}"
        )


def test_house_rules(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag in dagbag.dags.values():
        assert dag.catchup is False, f"{dag.dag_id}: catchup must be False unless backfill is meant"
        assert dag.start_date is not None and dag.start_date.tzinfo is not None, f"{dag.dag_id}: tz-aware start_date"
        assert dag.doc_md and dag.doc_md.strip(), f"{dag.dag_id}: doc_md says why the DAG exists"
        assert dag.tags, f"{dag.dag_id}: tags"
        for task in dag.tasks:
            assert task.owner != "airflow", f"{dag.dag_id}.{task.task_id}: owner must be a team"
            assert task.execution_timeout is not None and task.execution_timeout <= timedelta(hours=6), (
                f"{dag.dag_id}.{task.task_id}: execution_timeout"
            )
            assert task.retries is not None, f"{dag.dag_id}.{task.task_id}: retries"


def test_parse_time_budget(dagbag) -> None:  # type: ignore[no-untyped-def]
    slow = [(name, seconds) for name, seconds, _, _ in PARSE_TIMES if seconds > PARSE_BUDGET_S]
    assert not slow, f"DAG files over the {PARSE_BUDGET_S}s parse budget: {slow}"
