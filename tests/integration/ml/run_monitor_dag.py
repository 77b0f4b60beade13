"""Run the ``ml_churn_monitor`` DAG with ``dag.test()`` once per step and print what happened (one JSON line).

Started as a child process by test_monitoring_dag.py, with its own Airflow home and metadata database
and the warehouse connection in the environment; never imported by pytest. Each step may point
MLflow at another store and replace the mart's newest snapshot before its run (``monitoring_fixtures``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

#: Starts the line with the outcome (Airflow logs to stdout too).
#: The file the outcome is written to. Not stdout: Airflow's loggers write there from other threads
#: (OpenLineage's), and one of their lines can land inside a printed result.
RESULT_FILE_ENV = "SCROLLINTEL_TEST_RESULT_FILE"
DAG_ID = "ml_churn_monitor"


def main(dag_folder: str, steps_json: str) -> None:
    import psycopg
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from scrollintel.ml import tracking
    from tests.integration.ml.monitoring_fixtures import NEWEST, replace_snapshot, snapshot_frame

    bag = DagBag(dag_folder=dag_folder)
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    dag = bag.dags[DAG_ID]
    results: list[dict[str, Any]] = []
    for step in json.loads(steps_json):
        os.environ[tracking.TRACKING_URI_ENV] = step["tracking_uri"]
        if step.get("newest"):
            with psycopg.connect(os.environ["MONITOR_TEST_CONNINFO"], autocommit=True) as conn:
                replace_snapshot(conn, snapshot_frame(NEWEST, **step["newest"]))
        run = dag.test()
        with create_session() as session:
            states = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
            events = session.execute(
                select(AssetModel.uri, AssetEvent.extra)
                .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
                .where(AssetEvent.source_dag_id == DAG_ID, AssetEvent.source_run_id == run.run_id)
            ).all()
        results.append(
            {
                "step": step["name"],
                "run_id": run.run_id,
                "run_state": str(run.state),
                "tasks": states,
                "events": [{"uri": uri, "extra": extra} for uri, extra in events],
            }
        )
    Path(os.environ[RESULT_FILE_ENV]).write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
