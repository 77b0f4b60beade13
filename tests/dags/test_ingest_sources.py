"""The ingestion DAG factory: one DAG per source YAML, each task publishing its raw table's Asset."""

from __future__ import annotations

import pytest

from scrollintel.config import load_governance
from scrollintel.settings import project_root
from scrollintel.warehouse import raw_asset_uri

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(project_root() / "dags" / "ingest_sources.py"))


def test_one_dag_per_source_yaml(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    sources = load_governance().sources
    assert sorted(dagbag.dags) == sorted(f"ingest_{name}" for name in sources)


def test_dag_shape_follows_the_yaml(dagbag) -> None:  # type: ignore[no-untyped-def]
    for name, source in load_governance().sources.items():
        dag = dagbag.dags[f"ingest_{name}"]
        assert dag.max_active_runs == 1
        resources = [item.name for item in source.resources]
        frozen = source.schema_policy == "freeze"
        gates = [f"{res}_schema_change" for res in resources] if frozen else []
        reruns = [f"{res}_approved_load" for res in resources] if frozen else []
        assert sorted(dag.task_ids) == sorted([*resources, *gates, *reruns])
        for task in dag.tasks:
            assert task.owner == source.owner
            resource = task.task_id.removesuffix("_schema_change").removesuffix("_approved_load")
            if task.task_id in gates:  # the approval publishes nothing; the rerun does
                assert task.outlets == [] and task.upstream_task_ids == {resource}
                assert task.downstream_task_ids == {f"{resource}_approved_load"}
                continue
            assert [outlet.uri for outlet in task.outlets] == [raw_asset_uri(name, resource)]
            assert [outlet.name for outlet in task.outlets] == [f"raw.{name}__{resource}"]
        assert f"raw.{name}__" in dag.doc_md


def test_classification_tags(dagbag) -> None:  # type: ignore[no-untyped-def]
    # shop declares card numbers and IBANs (restricted); the others default to confidential
    assert dagbag.dags["ingest_shop"].tags == {"ingestion", "restricted"}
    assert dagbag.dags["ingest_marketing"].tags == {"ingestion", "confidential"}
    assert dagbag.dags["ingest_stores"].tags == {"ingestion", "confidential"}


def test_schedules_come_from_the_yaml(dagbag) -> None:  # type: ignore[no-untyped-def]
    for name, source in load_governance().sources.items():
        dag = dagbag.dags[f"ingest_{name}"]
        expected = source.schedule
        assert getattr(dag.timetable, "summary", None) == expected or str(dag.schedule) == str(expected)
