"""Run the ``transform_warehouse`` DAG once with ``dag.test()`` and print what happened (one JSON line).

Started as a child process by test_transform_dag.py, with its own Airflow home and metadata
database and the platform's connections in the environment; never imported by pytest.
"""

from __future__ import annotations

import json
import sys

#: Starts the line with the outcome (Airflow logs to stdout too).
RESULT_PREFIX = "TRANSFORM_DAG_RESULT "


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
    print(RESULT_PREFIX + json.dumps({"run_state": str(run.state), "tasks": states, "asset_events": published}))


if __name__ == "__main__":
    main(sys.argv[1])
