"""Print, as one JSON line, the OpenLineage run id of every task instance of a DAG run in Airflow's metadata DB.

Run by test_coverage.py with the same Airflow environment as ``airflow dags test``; the ids are
computed the way Airflow's OpenLineage provider computes them for the events it sends.
"""

from __future__ import annotations

import json
import sys

RESULT_PREFIX = "EXPECTED_RUNS "


def main(dag_id: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        runs = session.execute(select(DagRun).where(DagRun.dag_id == dag_id)).scalars().all()
        result = []
        for run in runs:
            date = run.logical_date or run.run_after
            instances = session.execute(
                select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
            ).scalars()
            for ti in instances:
                result.append(
                    {
                        "task": f"{ti.task_id}[{ti.map_index}]",
                        "state": str(ti.state),
                        "run_id": str(
                            OpenLineageAdapter.build_task_instance_run_id(
                                dag_id=dag_id,
                                task_id=ti.task_id,
                                try_number=ti.try_number,
                                logical_date=date,
                                map_index=ti.map_index,
                            )
                        ),
                    }
                )
            dag_run_id = OpenLineageAdapter.build_dag_run_id(
                dag_id=dag_id, logical_date=date, clear_number=getattr(run, "clear_number", 0)
            )
    print(RESULT_PREFIX + json.dumps({"tasks": result, "dag_run": str(dag_run_id), "dag_state": str(runs[-1].state)}))


if __name__ == "__main__":
    main(sys.argv[1])
