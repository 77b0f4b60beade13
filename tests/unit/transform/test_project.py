"""The dbt manifest: where it lives, what it says, and the errors when it is missing or disagrees with governance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scrollintel.transform import project
from scrollintel.transform.dagspec import mart_asset, mart_asset_uri, transform_spec
from scrollintel.transform.errors import ManifestBuildFailed, ManifestNotFound, TransformConfigError
from scrollintel.transform.project import RawSource

pytestmark = pytest.mark.unit


def _source(name: str, table: str, identifier: str, package: str = "scrollintel", schema: str = "raw") -> Any:
    return {
        f"source.{package}.{name}.{table}": {
            "package_name": package,
            "schema": schema,
            "source_name": name,
            "name": table,
            "identifier": identifier,
        }
    }


def _model(name: str, schema: str) -> Any:
    return {
        f"model.scrollintel.{name}": {
            "resource_type": "model",
            "package_name": "scrollintel",
            "schema": schema,
            "name": name,
        }
    }


MANIFEST = {
    "sources": {
        **_source("shop", "orders", "shop__orders"),
        **_source("shop", "customers", "shop__customers"),
        **_source("other", "thing", "other__thing", package="a_dbt_package"),
        **_source("ref", "countries", "countries", schema="reference"),
    },
    "nodes": {**_model("stg_shop__orders", "staging"), **_model("orders", "marts"), **_model("customers", "marts")},
}


def _write(tmp_path: Path, manifest: Any) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def test_state_dir_defaults_to_the_platform_state_and_can_be_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(project.ENV_DBT_STATE_DIR, raising=False)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "home"))
    assert project.manifest_path() == tmp_path / "home" / "dbt" / "manifest.json"
    monkeypatch.setenv(project.ENV_DBT_STATE_DIR, str(tmp_path / "elsewhere"))
    assert project.manifest_path() == tmp_path / "elsewhere" / "manifest.json"


def test_a_missing_manifest_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestNotFound) as missing:
        project.require_manifest(tmp_path / "manifest.json")
    assert str(missing.value).startswith(
        f"dbt manifest not found at {tmp_path / 'manifest.json'}: the transform_warehouse DAG is rendered from it. "
        "Build it with `scrollintel transform manifest`"
    )


def test_raw_sources_and_marts_come_from_the_project_nodes_only() -> None:
    assert project.raw_sources(MANIFEST) == [RawSource("shop", "customers"), RawSource("shop", "orders")]
    assert project.mart_models(MANIFEST) == ["customers", "orders"]


def test_a_raw_source_not_named_like_ingestion_tables_is_refused() -> None:
    manifest = {"sources": _source("shop", "legacy", "legacy_orders")}
    with pytest.raises(TransformConfigError) as refused:
        project.raw_sources(manifest)
    assert str(refused.value) == (
        "dbt source source.scrollintel.shop.legacy reads raw.legacy_orders, which is not named <source>__<resource> "
        "like the tables ingestion lands"
    )


def test_the_spec_takes_owner_and_tag_from_governance(tmp_path: Path) -> None:
    spec = transform_spec(_write(tmp_path, MANIFEST))
    assert spec.raw_sources == (RawSource("shop", "customers"), RawSource("shop", "orders"))
    assert spec.marts == ("customers", "orders")
    assert spec.owner == "analytics"  # teams.yaml owners.transform
    assert spec.tags == ["transform", "restricted"]  # shop.yaml declares card numbers and IBANs
    assert spec.mart_datasets == ["marts.customers", "marts.orders"]
    (shop,) = spec.schedule().objects  # one source: all of its tables
    assert [asset.uri for asset in shop.objects] == [
        "x-scrollintel://warehouse/raw/shop__customers",
        "x-scrollintel://warehouse/raw/shop__orders",
    ]
    assert "`raw.shop__orders`" in spec.doc_md() and mart_asset_uri("orders") in spec.doc_md()


def test_marts_are_assets_named_and_grouped_like_the_raw_ones() -> None:
    asset = mart_asset("daily_revenue")
    assert (asset.name, asset.uri, asset.group) == (
        "marts.daily_revenue",
        "x-scrollintel://warehouse/marts/daily_revenue",
        "marts",
    )


def test_a_dbt_source_no_governance_source_declares_is_refused(tmp_path: Path) -> None:
    manifest = {"sources": {**MANIFEST["sources"], **_source("shop", "returns", "shop__returns")}, "nodes": {}}
    with pytest.raises(TransformConfigError) as refused:
        transform_spec(_write(tmp_path, manifest))
    assert str(refused.value) == (
        "dbt source shop.returns reads raw.shop__returns, which no governance/sources/shop.yaml declares: ingestion "
        "never loads it, so it cannot start the transform DAG (declare it there or remove the dbt source)"
    )


def test_a_manifest_without_raw_sources_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TransformConfigError, match="declares no source in the raw schema"):
        transform_spec(_write(tmp_path, {"sources": {}, "nodes": {}}))


def test_a_project_dbt_cannot_parse_fails_the_build_naming_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "repo" / "dbt"
    (broken / "models").mkdir(parents=True)
    (broken / "dbt_project.yml").write_text(
        'name: scrollintel\nversion: "1.0.0"\nconfig-version: 2\nprofile: scrollintel\n', encoding="utf-8"
    )
    (broken / "models" / "bad.sql").write_text("select {{ ref('no_such_model') }}", encoding="utf-8")
    monkeypatch.setenv("SCROLLINTEL_PROJECT_ROOT", str(tmp_path / "repo"))
    with pytest.raises(ManifestBuildFailed) as failed:
        project.build_manifest(tmp_path / "state")
    message = str(failed.value)
    assert message.startswith(f"dbt parse of {broken} failed")
    assert f"(dbt log: {tmp_path / 'state' / 'logs' / 'dbt.log'})" in message
    assert not (tmp_path / "state" / "manifest.json").exists()
