"""Owners of lineage nodes from the governance config and dbt model YAML (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrollintel.lineage.governance import OwnerDirectory, dbt_model_owners, owner_directory

pytestmark = pytest.mark.unit

WAREHOUSE = "postgres://warehouse:5432"


@pytest.fixture
def directory() -> OwnerDirectory:
    return OwnerDirectory(
        teams={"data-platform": ("Data Platform", "#data-platform"), "analytics": ("Analytics", "#analytics")},
        source_owners={"shop": "data-platform"},
        transform_owner="analytics",
        dbt_owners={"orders": "finance"},
    )


def owners(found: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(owner.team, owner.reason) for owner in found]


def test_raw_tables_belong_to_their_source_owner(directory: OwnerDirectory) -> None:
    found = directory.for_dataset(WAREHOUSE, "warehouse.raw.shop__customers", {})

    assert owners(found) == [("data-platform", "governance/sources/shop.yaml owner")]
    assert found[0].as_dict()["slackChannel"] == "#data-platform"


def test_models_belong_to_their_dbt_owner_else_to_the_transform_team(directory: OwnerDirectory) -> None:
    assert owners(directory.for_dataset(WAREHOUSE, "warehouse.marts.orders", {})) == [
        ("finance", "dbt model orders meta.owner")
    ]
    assert owners(directory.for_dataset(WAREHOUSE, "warehouse.staging.stg_shop__customers", {})) == [
        ("analytics", "governance/teams.yaml owners.transform (dbt models)")
    ]


def test_source_system_tables_belong_to_the_source_their_ingestion_job_reads(directory: OwnerDirectory) -> None:
    found = directory.for_dataset("postgres://shop:5432", "shop.public.customers", {}, ["ingest_shop.load_customers"])
    unknown = directory.for_dataset("s3://elsewhere", "file.csv", {}, ["some_dag.task"])

    assert owners(found) == [("data-platform", "source system of governance/sources/shop.yaml")]
    assert unknown == []


def test_an_ownership_facet_wins(directory: OwnerDirectory) -> None:
    facets = {"ownership": {"owners": [{"name": "team:analytics"}, {"name": "someone@else"}]}}

    found = directory.for_dataset(WAREHOUSE, "warehouse.raw.shop__customers", facets)

    assert [o.team for o in found] == ["analytics", "someone@else"]
    assert found[1].name is None


def test_jobs_belong_to_the_dag_owner_or_to_their_source(directory: OwnerDirectory) -> None:
    dag_owner = directory.for_job(
        "transform_warehouse.dbt.orders_run", {"ownership": {"owners": [{"name": "analytics"}]}}
    )
    ingest = directory.for_job("ingest_shop.load_orders", {})

    assert owners(dag_owner) == [("analytics", "DAG owner (ownership facet)")]
    assert owners(ingest) == [("data-platform", "governance/sources/shop.yaml owner")]


def test_dbt_model_owners_come_from_meta_or_config_meta(tmp_path: Path) -> None:
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "orders.yml").write_text(
        "version: 2\nmodels:\n  - name: orders\n    meta: {owner: finance}\n  - name: plain\n"
        "  - name: revenue\n    config:\n      meta:\n        owner: analytics\n"
    )
    (tmp_path / "broken.yml").write_text("models: [\n")

    assert dbt_model_owners(tmp_path) == {"orders": "finance", "revenue": "analytics"}


def test_the_repository_config_names_the_source_owners() -> None:
    directory = owner_directory()

    assert directory.source_owners["shop"] == "data-platform"
    assert directory.transform_owner == "analytics"
