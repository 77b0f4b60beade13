"""The expectation suites in expectations/: readable, and naming columns the demo tables have."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scrollintel.demo import shop
from scrollintel.ingest import quality
from scrollintel.quality.errors import QualityGateFailed
from scrollintel.quality.suites import load_suite
from scrollintel.settings import project_root

pytestmark = pytest.mark.unit

SUITES = sorted((project_root() / "expectations").glob("raw.shop__*.json"))


def _shop_columns(table: str) -> set[str]:
    block = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", shop._CREATE_TABLES, re.S)
    assert block, table
    return {line.split()[0] for line in block.group(1).strip().splitlines() if line.strip() and line[4].islower()}


def test_the_shop_customers_and_orders_suites_exist() -> None:
    names = {path.name for path in SUITES}
    assert {"raw.shop__customers.json", "raw.shop__orders.json"} <= names


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_suites_name_real_columns(path: Path) -> None:
    suite = load_suite(path)
    assert suite.document.name == path.stem
    table = path.stem.removeprefix("raw.shop__")
    columns = _shop_columns(table)
    batch = suite.batch_expectations()
    assert batch, "a batch gate needs expectations that hold for any subset of rows"
    for expectation in batch:
        assert expectation["type"].startswith("expect_")
        assert expectation["kwargs"]["column"] in columns
    # table-scoped checks (volume, freshness, cross-table) are the quality checkpoint's, not the batch gate's
    named = [e.kwargs["column"] for e in suite.expectations if "column" in e.kwargs]
    assert set(named) <= columns


def test_a_broken_suite_fails_loudly(tmp_path: Path) -> None:
    broken = tmp_path / "expectations" / "raw.x__y.json"
    broken.parent.mkdir()
    broken.write_text("{not json", encoding="utf-8")
    # the suite is read before the warehouse is: no database is needed to fail
    with pytest.raises(QualityGateFailed, match=r"expectation suite .*raw\.x__y\.json is invalid:\n.*not valid JSON"):
        quality.validate_batch("postgresql://unused/warehouse", "raw.x__y", "r1", suite_root=tmp_path)
    broken.write_text(json.dumps({"name": "raw.x__y"}), encoding="utf-8")
    with pytest.raises(QualityGateFailed, match=r"raw\.x__y\.json:expectations: Field required"):
        quality.validate_batch("postgresql://unused/warehouse", "raw.x__y", "r1", suite_root=tmp_path)


def test_result_paths_are_safe_file_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp_path))
    path = quality.results_path("raw.shop__orders", "scheduled__2026-01-01T00:00:00+00:00")
    assert path == tmp_path / "quality/ingest/raw.shop__orders/scheduled__2026-01-01T00_00_00_00_00.json"
