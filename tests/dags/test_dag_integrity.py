"""DAG integrity: every DAG file imports, follows the house rules and parses fast.

The DagBag is built once for the module, with the cluster policy active (as in Airflow).
Parse time per file is printed in the test summary (`DAG parse times`). A fresh interpreter
parses the whole folder once more to prove no DAG file imports a heavy library at parse time.
"""

from __future__ import annotations

import os
import subprocess
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
#: Imported inside tasks only (STYLE: DAG files parse in milliseconds; the DAG processor re-parses them).
HEAVY = (
    "boto3",
    "evidently",
    "fairlearn",
    "mlflow",
    "numpy",
    "pandas",
    "pyarrow",
    "reportlab",
    "scipy",
    "shap",
    "skops",
    "sklearn",
    "statsmodels",
)
#: DAG files allowed a heavy import because their framework needs it at parse time (cosmos renders
#: the dbt project into tasks); every other file must stay clean.
HEAVY_AT_PARSE = {COSMOS_DAG_FILE}

PARSE_TIMES: list[tuple[str, float, int, int]] = []
#: Modules already imported when the module's DagBag was built.
PRELOADED: set[str] = set()


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import COSMOS_PARSE_TIMES

    PRELOADED.update(sys.modules)
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
    # The cosmos file's parse here includes importing cosmos itself (once per DAG processor, 1-2 s on a
    # busy machine); its parse with cosmos already imported is reported in the summary.
    slow = [
        (name, seconds)
        for name, seconds, _, _ in PARSE_TIMES
        if seconds > PARSE_BUDGET_S and not (name == COSMOS_DAG_FILE and "cosmos.converter" not in PRELOADED)
    ]
    assert not slow, f"DAG files over the {PARSE_BUDGET_S}s parse budget: {slow}"


def test_parsing_imports_no_heavy_library(tmp_path: Path) -> None:
    """As the DAG processor does, a fresh interpreter parses every DAG file: none imports pandas, MLflow, sklearn..."""
    files = [str(path) for path in DAG_FILES if path.name not in HEAVY_AT_PARSE]
    probe = (
        "import sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"for path in {files!r}:\n"
        "    bag = DagBag(dag_folder=path)\n"
        "    assert bag.import_errors == {}, bag.import_errors\n"
        f"    heavy = sorted({{name.split('.')[0] for name in sys.modules}} & set({HEAVY!r}))\n"
        "    print('HEAVY', path, heavy)\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CTX_")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**env, "AIRFLOW_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("HEAVY ")]
    assert len(lines) == len(files), done.stdout[-3000:]
    # files are parsed in turn, so the first line naming a module names the file that imported it
    assert all(line.endswith(" []") for line in lines), "\n".join(lines)


def test_a_worker_scaled_in_may_finish_the_longest_task_of_its_queue(dagbag) -> None:  # type: ignore[no-untyped-def]
    """helm/values.yaml: each Celery worker set's termination grace period outlasts its queue's longest task."""
    import yaml

    from scrollintel.platform.celery_service import DEFAULT_QUEUE

    values = yaml.safe_load((DAGS_DIR.parent / "helm" / "values.yaml").read_text())
    celery = values["workers"]["celery"]
    grace = {celery["queue"]: celery["terminationGracePeriodSeconds"]}
    for worker_set in celery.get("sets", []):
        grace[worker_set["queue"]] = worker_set.get("terminationGracePeriodSeconds", grace[celery["queue"]])
    longest: dict[str, float] = {}
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            queue = task.queue if task.queue in grace else DEFAULT_QUEUE
            seconds = task.execution_timeout.total_seconds() if task.execution_timeout else float("inf")
            longest[queue] = max(longest.get(queue, 0.0), seconds)
    assert set(longest) <= set(grace), f"queues without a worker set in helm/values.yaml: {set(longest) - set(grace)}"
    short = {queue: (grace[queue], seconds) for queue, seconds in longest.items() if grace[queue] < seconds}
    assert short == {}, "grace period (s) shorter than the queue's longest execution_timeout (s)"
    assert values["config"]["scheduler"]["task_instance_heartbeat_timeout"] <= 300  # no slower than Airflow's default
