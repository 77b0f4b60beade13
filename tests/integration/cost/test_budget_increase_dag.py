"""The ``cost_budget_increase`` DAG in a real Airflow run: a bad field fails the run, naming it; nobody is asked.

The DAG file of the repository is run with ``dag.test(run_conf=...)`` in a child process with its own
Airflow home and SQLite metadata database (a copy of the session's migrated one); the metadata
database is then read for the task states. (The path through the approval gate is a deferred task
waiting for a person: the e2e approval flow covers gates; the outcomes are tested on a real warehouse
in ``test_budget_increases.py``.)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scrollintel.settings import project_root

pytestmark = pytest.mark.integration

TIMEOUT_S = 600
RUNNER = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
    assert not bag.import_errors, bag.import_errors
    print("RUN-STATE", bag.dags["cost_budget_increase"].test(run_conf=json.loads(sys.argv[2])).state)
    """
)


#: One bad field is enough here: the run is the same for every field (each field's message is tested
#: without Airflow in tests/unit/cost/test_budget_increases.py); a run costs about 35 s.
CONF = {"team": "analytics", "month": "2026-13", "amount": "500", "reason": "backfill"}
MESSAGE = "params.month: '2026-13' is not a month (YYYY-MM"


def test_a_bad_field_fails_the_run_naming_it_and_nothing_is_asked(
    airflow_metadata_template: Path, tmp_path: Path
) -> None:
    runner = tmp_path / "run_dag.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "SCROLLINTEL_HOME": str(tmp_path / "home"),
    }
    shutil.copyfile(airflow_metadata_template, tmp_path / "airflow.db")
    dag_file = project_root() / "dags" / "cost_budget_increase.py"
    done = subprocess.run(
        [sys.executable, str(runner), str(dag_file), json.dumps(CONF)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    log = done.stdout + done.stderr
    assert "RUN-STATE failed" in done.stdout, log[-4000:]
    assert f"AirflowFailException: {MESSAGE}" in log, log[-4000:]
    with sqlite3.connect(tmp_path / "airflow.db") as meta:
        states = dict(
            meta.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'cost_budget_increase'").fetchall()
        )
        asked = meta.execute("SELECT count(*) FROM hitl_detail").fetchone()
    assert states["validate_request"] == "failed"
    assert states.get("approve_increase") in (None, "upstream_failed"), states
    assert states["close_rejected"] == "upstream_failed"  # the leaf fails too: the run is red, not green
    assert asked == (0,)  # nobody was asked to approve anything
