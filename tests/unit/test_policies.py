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


#: (name, DAG arguments, the rule's message or None for a DAG that loads): parsed together, in one process.
CASES = [
    ("good_dag", {"tags": ["platform", "internal"]}, None),
    (
        "bad_owner",
        {"tags": ["platform", "internal"], "owner": "airflow"},
        "[rule owner] task bad_owner.hello has owner 'airflow', which is not a team in governance/teams.yaml",
    ),
    (
        "bad_tag",
        {"tags": ["platform", "internal", "misc"]},
        "[rule approved-tags] DAG 'bad_tag' has tags not in governance/dag_policy.yaml: misc",
    ),
    (
        "no_classification",
        {"tags": ["platform"]},
        "[rule classification-tag] DAG 'no_classification' needs exactly one data classification tag "
        "(public | internal | confidential | restricted); it has 0",
    ),
    (
        "two_classifications",
        {"tags": ["platform", "internal", "restricted"]},
        "[rule classification-tag] DAG 'two_classifications' needs exactly one data classification tag "
        "(public | internal | confidential | restricted); it has 2: internal, restricted",
    ),
    ("no_tags", {"tags": []}, "[rule tags] DAG 'no_tags' has no tags"),
    ("no_doc", {"tags": ["platform", "internal"], "doc": " "}, "[rule doc_md] DAG 'no_doc' has no doc_md"),
]


def _dag_file(name: str, *, tags: list[str], owner: str = "data-platform", doc: str = "Why.") -> str:
    return textwrap.dedent(GOOD_DAG.format(name=name, tags=tags, owner=owner, doc=doc))


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every case's DAG file parsed in one fresh process, as Airflow's dag-processor does (policies load at start-up).

    In-process, a DagBag that imported other DAG files earlier in the test session (cosmos' DAG)
    can leave Airflow's policy hooks without ours; a child process sees what production sees.
    """
    folder = tmp_path_factory.mktemp("policy-dags")
    for name, kwargs, _ in CASES:
        (folder / f"{name}.py").write_text(_dag_file(name, **kwargs))  # type: ignore[arg-type]
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(folder)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    errors = {Path(path).stem: error for path, error in result["import_errors"].items()}
    return SimpleNamespace(dags=set(result["dags"]), import_errors=errors)


def test_compliant_dag_loads(parsed: Any) -> None:
    assert "good_dag" not in parsed.import_errors
    assert "good_dag" in parsed.dags


@pytest.mark.parametrize(("name", "message"), [(name, message) for name, _, message in CASES if message])
def test_violating_dag_fails_to_load_with_the_rule(parsed: Any, name: str, message: str) -> None:
    assert name not in parsed.dags
    assert message in parsed.import_errors[name]
    assert set(parsed.import_errors) == {case for case, _, rule in CASES if rule}  # one error per bad file, no other
