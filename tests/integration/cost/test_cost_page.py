"""The Cost & ROI page, its JSON API and downloads on a real warehouse seeded by ``scrollintel demo cost-history``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url
from scrollintel.web.routes.cost import DEMO_NOTICE, EMPTY_NOTICE

pytestmark = pytest.mark.integration

PAGE = f"{URL_PREFIX}/cost"
API = f"{URL_PREFIX}/api/cost"
END = date(2026, 11, 20)
DAYS = 30


@pytest.fixture(scope="module")
def seeded(new_cost_db: Callable[[], str], ledger_env: Any) -> str:
    """A warehouse with 30 days of demo history rolled up and valued (no budget alerts)."""
    from scrollintel.demo.cost_history import seed_cost_history

    url = new_cost_db()
    result = seed_cost_history(url, days=DAYS, end=END, alerts=False)
    assert result.facts > 0
    return url


@pytest.fixture
def browser(
    seeded: str, web_app: Any, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> Iterator[Any]:
    web_app.dependency_overrides[warehouse_url] = lambda: seeded
    yield client_factory(cookie=make_token())
    web_app.dependency_overrides.pop(warehouse_url, None)


def test_the_page_shows_figures_charts_budgets_and_roi_marked_as_demo(browser: Any) -> None:
    response = browser.get(PAGE, params={"days": 30})
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert "Demo data." in html and DEMO_NOTICE.split(":")[0] in html
    assert "2026-10-22 to 2026-11-20" in html
    assert html.count("<svg") >= 3 + 5  # daily, team, DAG, dataset charts and one budget chart per team
    for text in ("Cost per DAG", "ml_churn_train", "raw.shop__orders", "Budgets and month-end forecast (November 2026)",
                 "order-reporting", "successful runs", "pg_stat_statements available", "Anomalies"):  # fmt: skip
        assert text in html, text
    assert EMPTY_NOTICE not in html


def test_every_view_sums_to_the_total(browser: Any) -> None:
    data = browser.get(API, params={"days": DAYS, "end": END.isoformat()}).json()
    total = Decimal(data["total"])
    assert total > 0
    for view in ("by_kind", "by_team", "by_dag", "by_dataset"):
        assert sum(Decimal(item["amount"]) for item in data[view]) == total, view
    assert sum(Decimal(point["amount"]) for point in data["daily"]) == total
    assert data["demo"] is True
    # the seeded spike: one day of six-hour training shows up as an anomaly of the DAG
    assert any(item["name"] == "ml_churn_train" and item["z"] > 3.5 for item in data["anomalies"])
    ml = next(item for item in data["budgets"] if item["team"] == "ml")
    assert ml["lower"] <= ml["expected"] <= ml["upper"] and ml["method"] == "ets"
    roi = {line["value_id"]: line for line in data["roi"]}
    orders = roi["order-reporting"]
    assert orders["inputs"]["successful_runs"] == DAYS  # one ingest_shop run a day writes both tables
    assert Decimal(orders["value"]) == Decimal("2.50") * DAYS
    assert Decimal(orders["roi"]) == (
        (Decimal(orders["value"]) - Decimal(orders["cost"])) / Decimal(orders["cost"])
    ).quantize(Decimal("0.0001"))


def test_exports_open(browser: Any) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    params = {"days": 30, "end": END.isoformat()}
    data = browser.get(API, params=params).json()

    response = browser.get(f"{API}/export.csv", params={**params, "table": "teams"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sum(Decimal(row["amount"]) for row in rows) == Decimal(data["total"])

    response = browser.get(f"{API}/export.xlsx", params=params)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["summary", "daily", "teams", "dags", "datasets", "budgets", "roi", "anomalies"]
    dags = list(book["dags"].iter_rows(values_only=True))
    assert dags[0] == ("dag_id", "amount", "share", "currency")
    assert {row[0] for row in dags[1:]} >= {"ml_churn_train", "transform_warehouse"}

    response = browser.get(f"{API}/summary.pdf", params=params)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "executive summary" in text and "Includes demo data" in text
    assert f"{float(data['total']):,.2f} EUR" in text
    assert "order-reporting" in text


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (API, {"end": "yesterday"}, "Query parameter 'end': 'yesterday' is not a date (YYYY-MM-DD)"),
        (API, {"days": "0"}, "days"),
        (f"{API}/export.csv", {"table": "salaries"}, "table"),
    ],
)
def test_bad_parameters_get_a_clear_422(browser: Any, path: str, params: dict[str, str], message: str) -> None:
    response = browser.get(path, params=params)
    assert response.status_code == 422
    assert message in response.text


def test_before_any_rollup_the_page_says_how_to_get_figures(
    new_cost_db: Callable[[], str], web_app: Any, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    url = new_cost_db()
    web_app.dependency_overrides[warehouse_url] = lambda: url
    try:
        client = client_factory(cookie=make_token())
        html = client.get(PAGE).text
        assert "No cost data yet" in html and "scrollintel demo cost-history" in html
        assert client.get(API).json()["notice"] == EMPTY_NOTICE
        assert client.get(f"{API}/summary.pdf").status_code == 404
        assert client_factory().get(API).status_code == 401  # no token, no figures
    finally:
        web_app.dependency_overrides.pop(warehouse_url, None)
