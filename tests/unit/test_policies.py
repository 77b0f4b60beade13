"""The cluster policy: a DAG that breaks a governance rule fails to load, naming the rule."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.unit

GOOD_DAG = """
from __future__ import annotations
from airflow.sdk import dag, task
from scrollintel.dag_defaults import START_DATE, default_args

@dag(schedule=None, start_date=START_DATE, catchup=False, tags={tags}, doc_md={doc!r},
     default_args=default_args({owner!r}))
def {name}():
    @task
    def hello() -> None:
        pass
    hello()

{name}()
"""


_PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": sorted(bag.dags), "import_errors": bag.import_errors}))
"""


def _load(tmp_path: Path, name: str, *, tags: list[str], owner: str = "data-platform", doc: str = "Why.") -> Any:
    """Parse the DAG file in a fresh process, as Airflow's dag-processor does (policies load at start-up).

    In-process, a DagBag that imported other DAG files earlier in the test session (cosmos' DAG)
    can leave Airflow's policy hooks without ours; a child process sees what production sees.
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(GOOD_DAG.format(name=name, tags=tags, owner=owner, doc=doc)))
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(tmp_path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return SimpleNamespace(dags=set(result["dags"]), import_errors=result["import_errors"])


def test_compliant_dag_loads(tmp_path: Path) -> None:
    bag = _load(tmp_path, "good_dag", tags=["platform", "internal"])
    assert bag.import_errors == {}  # type: ignore[attr-defined]
    assert "good_dag" in bag.dags  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"tags": ["platform", "internal"], "owner": "airflow"},
            "[rule owner] task bad_dag.hello has owner 'airflow', which is not a team in governance/teams.yaml",
        ),
        (
            {"tags": ["platform", "internal", "misc"]},
            "[rule approved-tags] DAG 'bad_dag' has tags not in governance/dag_policy.yaml: misc",
        ),
        (
            {"tags": ["platform"]},
            "[rule classification-tag] DAG 'bad_dag' needs exactly one data classification tag "
            "(public | internal | confidential | restricted); it has 0",
        ),
        (
            {"tags": ["platform", "internal", "restricted"]},
            "[rule classification-tag] DAG 'bad_dag' needs exactly one data classification tag "
            "(public | internal | confidential | restricted); it has 2: internal, restricted",
        ),
        ({"tags": []}, "[rule tags] DAG 'bad_dag' has no tags"),
        ({"tags": ["platform", "internal"], "doc": " "}, "[rule doc_md] DAG 'bad_dag' has no doc_md"),
    ],
)
def test_violating_dag_fails_to_load_with_the_rule(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    bag = _load(tmp_path, "bad_dag", **kwargs)  # type: ignore[arg-type]
    assert "bad_dag" not in bag.dags  # type: ignore[attr-defined]
    errors = list(bag.import_errors.values())  # type: ignore[attr-defined]
    assert len(errors) == 1
    assert message in errors[0]
