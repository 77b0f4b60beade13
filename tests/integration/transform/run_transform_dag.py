"""Run the ``transform_warehouse`` DAG once with ``dag.test()`` and write what happened (JSON) to a file.

Started as a child process by test_transform_dag.py, with its own Airflow home and metadata
database and the platform's connections in the environment; never imported by pytest.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

#: The file the outcome is written to. Not stdout: Airflow's loggers write there from other threads
#: (OpenLineage's), and one of their lines once landed inside the printed result.
RESULT_FILE_ENV = "SCROLLINTEL_TEST_RESULT_FILE"


def main(dag_file: str) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    bag = DagBag(dag_folder=dag_file)
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    run = bag.dags["transform_warehouse"].test()
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
        events = session.execute(
            select(AssetModel.uri).join(AssetEvent, AssetEvent.asset_id == AssetModel.id).order_by(AssetModel.uri)
        ).scalars()
        published = list(events)
    result = {"run_state": str(run.state), "tasks": states, "asset_events": published}
    Path(os.environ[RESULT_FILE_ENV]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
