"""The suites in expectations/ and the checks every suite file goes through before a gate runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scrollintel.quality.errors import SuiteError
from scrollintel.quality.suites import (
    all_suite_paths,
    check_dataset_name,
    check_with_gx,
    load_suite,
    load_suites,
    suites_dir,
)
from tests.marts import MART_DATASETS

pytestmark = pytest.mark.unit

SUITES = all_suite_paths()
MARTS = MART_DATASETS
UNIQUENESS = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
RANGES = {"expect_column_values_to_be_between", "expect_column_values_to_be_in_set"}
DISTRIBUTIONS = {"expect_column_mean_to_be_between", "expect_column_median_to_be_between"}


def _kinds(path: Path) -> set[str]:
    return {spec.type for spec in load_suite(path).expectations}


def test_every_mart_and_the_key_raw_tables_have_a_suite() -> None:
    names = {path.stem for path in SUITES}
    assert set(MARTS) <= names
    assert {"raw.shop__customers", "raw.shop__orders", "raw.shop__order_items", "raw.marketing__events"} <= names


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_every_suite_is_valid_for_gx(path: Path) -> None:
    suite = load_suite(path)

    check_with_gx(suite)

    assert suite.dataset == path.stem == suite.document.name
    assert suite.document.meta.get("description"), "say what the suite guards"


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_every_suite_checks_volume_nulls_keys_ranges_and_distributions(path: Path) -> None:
    suite = load_suite(path)
    kinds = _kinds(path)

    assert any(spec.rules.volume for spec in suite.expectations), "volume against recent history"
    assert "expect_column_values_to_not_be_null" in kinds
    assert kinds & UNIQUENESS
    assert kinds & RANGES
    if path.stem.startswith("marts.") or path.stem in ("raw.shop__orders", "raw.shop__order_items"):
        assert kinds & DISTRIBUTIONS


@pytest.mark.parametrize("dataset", MARTS)
def test_every_mart_has_freshness_and_all_but_the_root_have_referential_integrity(dataset: str) -> None:
    suite = load_suite(suites_dir() / f"{dataset}.json")

    assert any(spec.rules.freshness for spec in suite.expectations)
    if dataset != "marts.customers":  # the root of the marts' references
        references = [spec for spec in suite.expectations if spec.type == "unexpected_rows_expectation"]
        assert references and all("{batch}" in spec.kwargs["unexpected_rows_query"] for spec in references)
        assert all(spec.description for spec in references), "name what a reference check means"


def test_the_batch_gate_gets_only_row_level_expectations() -> None:
    suite = load_suite(suites_dir() / "raw.shop__orders.json")

    batch = suite.batch_expectations()

    assert {item["type"] for item in batch} <= {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
    }
    assert len(batch) < len(suite.expectations)


# -- bad suite files: the error names the file and the key ----------------------------------------


def _write(tmp_path: Path, document: Any, name: str = "marts.things") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def _suite(*expectations: dict[str, Any], name: str = "marts.things") -> dict[str, Any]:
    return {"name": name, "expectations": list(expectations)}


NOT_NULL = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            '{"name": "marts.things",\n "expectations": [,]}',
            r"marts\.things\.json:2: expectation suite is not valid JSON",
        ),
        ("[1, 2]", r"marts\.things\.json: expectation suite must be a JSON object"),
        ({"name": "marts.things"}, r"marts\.things\.json:expectations: Field required"),
        (_suite(), r"marts\.things\.json:expectations: List should have at least 1 item"),
        ({**_suite(NOT_NULL), "owner": "x"}, r"marts\.things\.json:owner: Extra inputs are not permitted"),
        (_suite(NOT_NULL, name="marts.other"), r"marts\.things\.json:name: the suite is named 'marts\.other'"),
        (
            _suite(NOT_NULL, {"type": "Expect Nothing", "kwargs": {}}),
            r"marts\.things\.json:expectations\[1\]\.type: String should match pattern",
        ),
        (
            _suite({"type": "expect_column_values_to_not_be_null", "kwarg": {"column": "id"}}),
            r"marts\.things\.json:expectations\[0\]\.kwarg: Extra inputs are not permitted",
        ),
        (
            _suite(
                {
                    "type": "expect_table_row_count_to_be_between",
                    "kwargs": {},
                    "meta": {"scrollintel": {"volume": {"max_drop": 1.5}}},
                }
            ),
            r"marts\.things\.json:expectations\[0\]\.meta\.scrollintel\.volume\.max_drop: "
            r"Input should be less than 1 \(got 1\.5\)",
        ),
        (
            _suite({**NOT_NULL, "meta": {"scrollintel": {"volume": {}}}}),
            r"marts\.things\.json:expectations\[0\]: Value error, meta\.scrollintel\.volume only applies to "
            r"expect_table_row_count_to_be_between",
        ),
        (
            _suite(
                {
                    "type": "expect_column_max_to_be_between",
                    "kwargs": {},
                    "meta": {"scrollintel": {"freshness": {"max_age_hours": 24}}},
                }
            ),
            r"expectations\[0\]: Value error, meta\.scrollintel\.freshness needs kwargs\.column",
        ),
        (
            _suite({**NOT_NULL, "meta": {"scrollintel": {"scope": "everything"}}}),
            r"expectations\[0\]\.meta\.scrollintel\.scope: Input should be 'any' or 'table'",
        ),
        (
            _suite(
                {
                    "type": "expect_column_quantile_values_to_be_between",
                    "kwargs": {"column": "x", "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[0, 1]]}},
                }
            ),
            r"expectations\[0\]: Value error, expect_column_quantile_values_to_be_between is not supported: .*"
            r"use expect_column_median_to_be_between",
        ),
        (
            _suite({"type": "unexpected_rows_expectation", "kwargs": {"unexpected_rows_query": "SELECT 1"}}),
            r"expectations\[0\]: Value error, unexpected_rows_query must select FROM \{batch\}",
        ),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-expectations",
        "empty-expectations",
        "unknown-top-key",
        "wrong-name",
        "bad-type",
        "misspelt-kwargs",
        "volume-out-of-range",
        "volume-on-wrong-type",
        "freshness-without-column",
        "unknown-scope",
        "unsupported-type",
        "query-without-batch",
    ],
)
def test_a_bad_suite_file_names_the_file_and_key(tmp_path: Path, document: Any, message: str) -> None:
    path = _write(tmp_path, document)

    with pytest.raises(SuiteError, match=message):
        load_suite(path)


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        (
            {"type": "expect_nothing_at_all", "kwargs": {"column": "id"}},
            r"marts\.things\.json:expectations\[1\]\.type: expect_nothing_at_all not found "
            r"\('expect_nothing_at_all' is not a GX 1\.x expectation\)",
        ),
        (
            {"type": "expect_column_values_to_not_be_null", "kwargs": {}},
            r"marts\.things\.json:expectations\[1\]\.kwargs\.column: field required "
            r"\(expect_column_values_to_not_be_null\)",
        ),
        (
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id", "colum": "x"}},
            r"expectations\[1\]\.kwargs\.colum: extra fields not permitted",
        ),
    ],
    ids=["unknown-type", "missing-column", "misspelt-keyword"],
)
def test_what_only_gx_knows_is_checked_before_a_run(tmp_path: Path, expectation: dict[str, Any], message: str) -> None:
    suite = load_suite(_write(tmp_path, _suite(NOT_NULL, expectation)))

    with pytest.raises(SuiteError, match=message):
        check_with_gx(suite)


def test_a_missing_suite_or_a_bad_dataset_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "expectations").mkdir()

    with pytest.raises(SuiteError, match=r"no expectation suite for marts\.orders: expected .*marts\.orders\.json"):
        load_suites(["marts.orders"], root=tmp_path)
    with pytest.raises(SuiteError, match=r"datasets listed more than once: marts\.orders"):
        load_suites(["marts.orders", "marts.customers", "marts.orders"])
    for bad in ("orders", "marts.Orders", "marts.orders; drop table x", "../etc.passwd"):
        with pytest.raises(SuiteError, match=r"expected <schema>\.<table> in lower case"):
            check_dataset_name(bad)
