"""A dataset's attributed cost as the lineage explorer's side panel reads it (``/api/lineage/cost``).

On a warehouse seeded by ``scrollintel demo cost-history`` and rolled up: the figure is the Cost &
ROI page's own per-dataset total for the same 30 days, and a dataset without facts says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from scrollintel.cost.query import NO_COST
from scrollintel.lineage.nodes import dataset_node_id, job_node_id
from scrollintel.warehouse import warehouse_dataset_name, warehouse_namespace
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import lineage_store_url, warehouse_url

pytestmark = pytest.mark.integration

API = f"{URL_PREFIX}/api/lineage/cost"
END = date(2026, 11, 20)
ORDERS = dataset_node_id(warehouse_namespace(), warehouse_dataset_name("raw", "shop__orders"))


@pytest.fixture(scope="module")
def seeded(new_cost_db: Callable[[], str], ledger_env: Any) -> str:
    from scrollintel.demo.cost_history import seed_cost_history

    url = new_cost_db()
    assert seed_cost_history(url, days=40, end=END, alerts=False).facts > 0
    return url


@pytest.fixture
def client(
    seeded: str, web_app: Any, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> Iterator[Any]:
    web_app.dependency_overrides[lineage_store_url] = lambda: seeded
    web_app.dependency_overrides[warehouse_url] = lambda: seeded
    yield client_factory(cookie=make_token())
    web_app.dependency_overrides.pop(lineage_store_url, None)
    web_app.dependency_overrides.pop(warehouse_url, None)


def test_a_dataset_costs_what_the_cost_page_attributes_to_it(client: Any) -> None:
    response = client.get(API, params={"nodeId": ORDERS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["nodeId"], body["dataset"], body["as_of"], body["demo"], body["notice"]) == (
        ORDERS,
        "raw.shop__orders",
        END.isoformat(),
        True,
        None,
    )
    recent, month = body["periods"]
    assert (recent["label"], recent["start"], month["label"], month["start"]) == (
        "last 30 days",
        "2026-10-22",
        "month to date",
        "2026-11-01",
    )
    page = client.get(f"{URL_PREFIX}/api/cost", params={"days": 30, "end": END.isoformat()}).json()
    expected = next(Decimal(item["amount"]) for item in page["by_dataset"] if item["key"] == "raw.shop__orders")
    assert Decimal(recent["amount"]) == expected > 0
    assert sum(Decimal(value) for value in recent["by_kind"].values()) == expected
    november = client.get(f"{URL_PREFIX}/api/cost", params={"days": 20, "end": END.isoformat()}).json()
    assert Decimal(month["amount"]) == next(
        Decimal(item["amount"]) for item in november["by_dataset"] if item["key"] == "raw.shop__orders"
    )


def test_a_dataset_without_cost_says_so_instead_of_zero(client: Any) -> None:
    unknown = dataset_node_id(warehouse_namespace(), warehouse_dataset_name("marts", "never_built"))
    body = client.get(API, params={"nodeId": unknown}).json()
    assert body["notice"] == NO_COST == "no cost attributed yet"
    assert [period["amount"] for period in body["periods"]] == [None, None]


@pytest.mark.parametrize(
    ("node_id", "message"),
    [
        (job_node_id("airflow", "ingest_shop.orders"), "is not a dataset: cost is attributed to datasets"),
        ("orders", "nodeId 'orders' must start with 'dataset:', 'job:' or 'datasetField:'"),
    ],
)
def test_a_node_that_is_no_dataset_gets_a_clear_400(client: Any, node_id: str, message: str) -> None:
    response = client.get(API, params={"nodeId": node_id})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_before_any_rollup_no_cost_is_attributed(
    new_cost_db: Callable[[], str], web_app: Any, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    url = new_cost_db()
    web_app.dependency_overrides[lineage_store_url] = lambda: url
    try:
        body = client_factory(cookie=make_token()).get(API, params={"nodeId": ORDERS}).json()
        assert body["notice"] == f"{NO_COST} (no cost rollup has run)" and body["periods"] == []
        assert client_factory().get(API, params={"nodeId": ORDERS}).status_code == 401  # no token, no figures
    finally:
        web_app.dependency_overrides.pop(lineage_store_url, None)
