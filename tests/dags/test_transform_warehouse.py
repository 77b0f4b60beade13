"""The cosmos DAG ``transform_warehouse``: rendered from the dbt manifest, on the raw Assets, publishing marts."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.policies import dag_violations
from scrollintel.settings import project_root
from scrollintel.transform.project import ENV_DBT_STATE_DIR
from scrollintel.warehouse import raw_asset_uri
from tests.dags.conftest import COSMOS_PARSE_TIMES
from tests.marts import MARTS

pytestmark = pytest.mark.unit

DAG_FILE = project_root() / "dags" / "transform_warehouse.py"


@pytest.fixture(scope="module")
def dag(dbt_manifest: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    imports = "cosmos already imported" if "cosmos.converter" in sys.modules else "imports cosmos"
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    (stat,) = bag.dagbag_stats
    COSMOS_PARSE_TIMES.append((f"alone ({imports})", stat.duration / timedelta(milliseconds=1), stat.task_num))
    return bag.dags["transform_warehouse"]


@pytest.fixture(scope="module")
def models(dbt_manifest: Path) -> list[str]:
    manifest = json.loads(dbt_manifest.read_text())
    return sorted(node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model")


def test_the_dag_passes_the_cluster_policy(dag: Any) -> None:
    assert dag_violations(dag) == []
    # reads raw payments (card numbers, IBANs declared in shop.yaml): the most sensitive source wins
    assert dag.tags == {"transform", "restricted"}
    owner = load_governance().teams.owners.transform
    assert {task.owner for task in dag.tasks} == {owner}
    assert "raw -> staging -> marts" in dag.doc_md


def test_every_model_is_a_task_group_running_the_model_then_its_tests(dag: Any, models: list[str]) -> None:
    assert len(models) == 18
    groups = dag.task_group_dict
    assert "dbt" in groups
    for model in models:
        assert f"dbt.{model}" in groups, model
        run, test = dag.get_task(f"dbt.{model}.run"), dag.get_task(f"dbt.{model}.test")
        assert run.downstream_task_ids == {test.task_id}
        assert type(run).__name__ == "DbtRunLocalOperator" and type(test).__name__ == "DbtTestLocalOperator"
        assert run.select.endswith(f".{model}") and test.select == model


def test_tests_reading_two_models_run_once_both_are_built(dag: Any) -> None:
    detached = [task for task in dag.tasks if task.task_id.startswith("dbt.relationships_")]
    assert len(detached) == 16  # every relationships test in the project
    check = dag.get_task("dbt.relationships_order_items_order_id__order_id__ref_orders__test")
    assert check.upstream_task_ids == {"dbt.order_items.test", "dbt.orders.test"}
    # and the per-model test task leaves it out (orders does not exist yet when order_items is tested)
    assert "relationships_order_items_order_id__order_id__ref_orders_" in dag.get_task("dbt.order_items.test").exclude
    # run + test per model, detached tests, the raw tables check and the gate
    assert len(dag.tasks) == 2 * 18 + len(detached) + 2


def test_dbt_starts_after_the_raw_tables_check(dag: Any) -> None:
    ready = dag.get_task("raw_tables_ready")
    assert ready.upstream_task_ids == set()
    # every model that reads raw tables directly (the staging models) waits for it
    assert {task_id for task_id in ready.downstream_task_ids} == {
        task.task_id for task in dag.tasks if task.task_id.startswith("dbt.stg_") and task.task_id.endswith(".run")
    }


def test_marts_wait_for_the_staging_models_they_read_and_their_tests(dag: Any) -> None:
    upstream = dag.get_task("dbt.customers.run").upstream_task_ids
    assert {"dbt.stg_shop__customers.test", "dbt.orders.test", "dbt.stg_shop__subscriptions.test"} <= upstream
    assert "dbt.stg_shop__orders.test" in dag.get_task("dbt.orders.run").upstream_task_ids


def test_schedule_is_one_load_of_any_source_the_dbt_sources_read(dag: Any) -> None:
    from airflow.sdk import AssetAll, AssetAny

    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert all(isinstance(part, AssetAll) for part in condition.objects)
    # the dbt project stages every raw table ingestion lands: one AND per source YAML, of all its tables
    expected = {
        frozenset(raw_asset_uri(source.name, item.name) for item in source.resources)
        for source in load_governance().sources.values()
    }
    assert {frozenset(asset.uri for asset in part.objects) for part in condition.objects} == expected
    names = {asset.name for part in condition.objects for asset in part.objects}
    assert "raw.shop__customers" in names and len(names) == 11


def test_the_quality_gate_runs_last_and_publishes_the_mart_assets(dag: Any) -> None:
    gate = dag.get_task("quality_gate")
    assert type(gate).__name__ == "QualityGateOperator"
    assert sorted(gate.datasets) == [f"marts.{name}" for name in MARTS]
    uris = sorted(outlet.uri for outlet in gate.outlets)
    assert uris == [f"x-scrollintel://warehouse/marts/{name}" for name in MARTS]
    assert gate.downstream_task_ids == set()
    # after every other task: the dbt group's last tasks directly, the rest through them
    assert gate.get_flat_relative_ids(upstream=True) == {task.task_id for task in dag.tasks} - {"quality_gate"}
    # nothing else publishes an Asset: the marts update only when the gate passes
    assert [task.task_id for task in dag.tasks if task.outlets and task is not gate] == []


def test_dbt_tasks_run_in_process_with_the_warehouse_profile_and_the_salt_interceptor(dag: Any) -> None:
    from cosmos.constants import InvocationMode

    from scrollintel.transform.session import inject_masking_salt

    for task in dag.tasks:
        if not task.task_id.startswith("dbt."):
            continue
        assert task.invocation_mode == InvocationMode.DBT_RUNNER
        assert task.profile_config.profile_mapping.conn_id == "postgres_warehouse"
        assert task.profile_config.profile_mapping.profile_args["schema"] == "staging"
        assert task.interceptors == [inject_masking_salt]
        assert task.emit_datasets is False
        assert "PGOPTIONS" not in (task.env or {})  # the salt is added at run time only
        assert task.install_deps is False


def test_missing_manifest_is_an_import_error_saying_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv(ENV_DBT_STATE_DIR, str(tmp_path))
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.dags == {}
    (error,) = bag.import_errors.values()
    assert f"dbt manifest not found at {tmp_path / 'manifest.json'}" in error
    assert "Build it with `scrollintel transform manifest`" in error
