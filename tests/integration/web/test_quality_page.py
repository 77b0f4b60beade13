"""The Quality page and its JSON API on a real, migrated warehouse: statuses, the trend, failures, links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from scrollintel.quality import store
from scrollintel.quality.outcome import DatasetOutcome, ExpectationOutcome, GateContext
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url
from scrollintel.web.routes.quality import EMPTY_NOTICE

pytestmark = pytest.mark.integration

PAGE = f"{URL_PREFIX}/quality"
API = f"{URL_PREFIX}/api/quality"
NOW = datetime.now(UTC)


def _passed(position: int, kind: str = "expect_column_values_to_not_be_null") -> ExpectationOutcome:
    return ExpectationOutcome(position=position, expectation_type=kind, kwargs={"column": "id"}, success=True)


def _outcome(dataset: str, at: datetime, failures: list[ExpectationOutcome] | None = None) -> DatasetOutcome:
    results = [_passed(0), _passed(1, "expect_column_values_to_be_unique"), *(failures or [])]
    return DatasetOutcome(
        dataset=dataset,
        suite_path=f"expectations/{dataset}.json",
        success=not failures,
        row_count=6005 if failures else 6000,
        results=results,
        result_path=f"/objects/quality/checkpoint/{dataset}/run.json",
        started_at=at - timedelta(seconds=5),
        finished_at=at,
        docs_path=f"validations/{dataset.replace('.', '/')}/run/t/page.html",
    )


DUPLICATES = ExpectationOutcome(
    position=2,
    expectation_type="expect_column_values_to_be_unique",
    kwargs={"column": "order_id"},
    success=False,
    column="order_id",
    unexpected_count=10,
    element_count=6005,
)
VOLUME = ExpectationOutcome(
    position=3,
    expectation_type="expect_table_row_count_to_be_between",
    kwargs={"min_value": 3000, "max_value": 12000},
    success=False,
    observed_value=600,
    description="volume within -50%/+100% of the median of the last 10 successful runs",
)


def _record(url: str, run_id: str, outcomes: list[DatasetOutcome]) -> None:
    import uuid

    context = GateContext(dag_id="transform_warehouse", run_id=run_id, task_id="quality_gate", try_number=1)
    with store.connect(url) as conn:
        store.record_gate_run(conn, gate_run_id=str(uuid.uuid4()), context=context, as_of=NOW, datasets=outcomes)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform's state folder (data docs) for the test."""
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def client(
    new_ledger_url: Callable[[], str],
    web_app: Any,
    client_factory: Callable[..., Any],
    make_token: Callable[..., str],
    state: Path,
) -> Iterator[tuple[Any, str]]:
    """A signed-in browser on a fresh migrated warehouse, and that warehouse's URL."""
    url = new_ledger_url()
    web_app.dependency_overrides[warehouse_url] = lambda: url
    yield client_factory(cookie=make_token()), url
    web_app.dependency_overrides.pop(warehouse_url, None)


def test_before_any_gate_the_page_lists_the_suites_as_not_run(client: tuple[Any, str]) -> None:
    browser, _url = client

    html = browser.get(PAGE).text
    data = browser.get(API).json()

    assert str(escape(EMPTY_NOTICE)) in html
    assert data["notice"] == EMPTY_NOTICE
    assert "si-trend" not in html  # no chart without a single run
    assert {row["dataset"] for row in data["datasets"]} >= {"marts.orders", "raw.shop__orders"}
    assert {row["state"] for row in data["datasets"]} == {"not_run"}
    assert "Not run yet" in html
    assert data["docs_href"] is None


def test_latest_status_trend_failures_and_links(client: tuple[Any, str], state: Path) -> None:
    browser, url = client
    yesterday, today = NOW - timedelta(days=1), NOW
    for day in range(4, 1, -1):
        _record(url, f"scheduled__d{day}", [_outcome("marts.orders", NOW - timedelta(days=day))])
    failed_and_passed = [_outcome("marts.orders", yesterday, [VOLUME]), _outcome("marts.customers", yesterday)]
    _record(url, "scheduled__d1", failed_and_passed)
    _record(url, "manual__2026-01-01T00:00:00+00:00", [_outcome("marts.orders", today, [DUPLICATES])])
    docs = state / "quality" / "data-docs"
    (docs / "validations" / "marts" / "orders" / "run" / "t").mkdir(parents=True)
    (docs / "validations" / "marts" / "orders" / "run" / "t" / "page.html").write_text("<p>docs</p>")
    (docs / "index.html").write_text("<p>index</p>")

    data = browser.get(API).json()
    html = browser.get(PAGE).text

    rows = {row["dataset"]: row for row in data["datasets"]}
    orders, customers = rows["marts.orders"], rows["marts.customers"]
    assert data["notice"] is None
    assert (orders["state"], orders["failed"], orders["evaluated"], orders["row_count"]) == ("failed", 1, 3, 6005)
    assert (orders["runs_in_window"], orders["failed_runs_in_window"]) == (5, 2)
    assert orders["failures"] == [
        {
            "expectation_type": "expect_column_values_to_be_unique",
            "column": "order_id",
            "description": None,
            "kwargs": {"column": "order_id"},
            "observed_value": None,
            "unexpected_count": 10,
            "element_count": 6005,
            "exception_message": None,
        }
    ]
    assert orders["airflow_run_href"] == "/dags/transform_warehouse/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00"
    assert orders["docs_href"] == f"{URL_PREFIX}/quality/docs/validations/marts/orders/run/t/page.html"
    assert customers["state"] == "passed" and customers["docs_href"] is None  # its page is not on disk
    assert rows["raw.shop__orders"]["state"] == "not_run"
    assert data["docs_href"] == f"{URL_PREFIX}/quality/docs/"
    trend = {point["day"]: point for point in data["trend"]}
    assert len(data["trend"]) == 30
    assert trend[yesterday.date().isoformat()] == {
        "day": yesterday.date().isoformat(),
        "runs": 2,
        "failed": 1,
        "failed_expectations": 1,
    }
    assert sum(point["runs"] for point in data["trend"]) == 6

    assert '<svg class="si-trend"' in html
    assert html.count('class="si-trend__bad"') == 2  # yesterday and today
    assert "1 of 2 datasets failing" in html
    assert "10 unexpected rows of 6,005" in html
    assert 'href="/dags/transform_warehouse/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00" target="_top"' in html
    assert "Failing run in Airflow" in html
    assert f'href="{URL_PREFIX}/quality/docs/">Open the data docs' in html
    # the docs page the row links to is served
    assert browser.get(orders["docs_href"]).text == "<p>docs</p>"
    # the docs listing: only pages that are on disk, newest first, with their runs
    listing = browser.get(f"{URL_PREFIX}/quality/docs/").text
    assert listing.count(f'href="{orders["docs_href"]}"') == 5  # the five marts.orders runs share one page here
    assert "marts.customers" not in listing


def test_the_failure_list_explains_a_volume_drop(client: tuple[Any, str]) -> None:
    browser, url = client
    _record(url, "scheduled__drop", [_outcome("marts.orders", NOW, [VOLUME])])

    html = browser.get(PAGE).text

    assert "expect_table_row_count_to_be_between" in html
    assert "observed 600; expected 3000 to 12000" in html
    assert "volume within -50%/+100% of the median of the last 10 successful runs" in html
