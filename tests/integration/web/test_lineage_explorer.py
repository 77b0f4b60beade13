"""The Lineage explorer in headless Chromium, on a real lineage store holding the demo shop's lineage.

The governance app (as the plugin mounts it, Airflow's own auth) is served by uvicorn on a free
loopback port against a migrated warehouse database into which the demo pipeline's OpenLineage
events were ingested through the store (source tables -> raw -> staging -> marts, with column
lineage and PII tags). The browser signs in with Airflow's ``_token`` cookie, as the Airflow UI's
iframe does. Screenshots are saved under test-results/screenshots/ (git-ignored) for a person to
look at. Chromium comes from the OS (Debian's ``chromium`` package); Playwright drives it through
``executable_path`` and never downloads a browser.

Every test fails on any console error or warning, a failed request, or an uncaught exception:
the page runs under the app's strict CSP (same-origin scripts only, no eval, no inline styles).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel import migrate
from scrollintel.settings import project_root
from scrollintel.web import URL_PREFIX
from tests.integration.web.lineage_demo import DemoLineage, build_demo_lineage, seed_quality, seed_store

if TYPE_CHECKING:
    from fastapi import FastAPI

CHROMIUM = os.environ.get("SCROLLINTEL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = project_root() / "test-results" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="BROWSER TEST NOT RUN: no Chromium (install Debian's chromium package or set SCROLLINTEL_CHROMIUM)",
    ),
]


@pytest.fixture(scope="module")
def demo() -> DemoLineage:
    return build_demo_lineage()


@pytest.fixture(scope="module")
def store_url(pg_server: Any, demo: DemoLineage) -> Iterator[str]:
    """A migrated warehouse whose lineage store holds the demo pipeline's events (and one quality gate run)."""
    from scrollintel.lineage.store import dispose_engines

    url = pg_server.create_database()
    migrate.upgrade(url)
    seed_store(url, demo)
    seed_quality(url)
    seed_cost(url)
    yield url
    dispose_engines()


#: The orders mart's attributed cost: two days of the transform DAG's compute and its storage, in November.
COST_FACTS = [
    ("2026-11-19", "compute", "transform_warehouse", "analytics", "marts.orders", "1.250000"),
    ("2026-11-20", "compute", "transform_warehouse", "analytics", "marts.orders", "2.500000"),
    ("2026-11-20", "storage", None, "analytics", "marts.orders", "0.004200"),
    ("2026-10-25", "compute", "transform_warehouse", "analytics", "marts.orders", "10.000000"),  # not this month
    ("2026-11-20", "compute", "ingest_shop", "data-platform", "raw.shop__orders", "0.800000"),
]


def seed_cost(url: str) -> None:
    """Cost facts as the rollup writes them: the orders mart has some, ``marts.daily_revenue`` none."""
    from scrollintel.warehouse import connect

    with connect(url) as conn:
        for day, kind, dag_id, team, dataset, amount in COST_FACTS:
            conn.execute(
                "INSERT INTO governance.cost_facts (day, kind, dag_id, team, dataset, usage, unit, amount, currency) "
                "VALUES (%s, %s, %s, %s, %s, 1, 'hour', %s, 'EUR')",
                (day, kind, dag_id, team, dataset, amount),
            )


@pytest.fixture(scope="module")
def base_url(web_app: FastAPI, store_url: str) -> Iterator[str]:
    """The app mounted at its prefix, served by uvicorn on a free loopback port, reading ``store_url``."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from scrollintel.web.deps import lineage_store_url

    web_app.dependency_overrides[lineage_store_url] = lambda: store_url
    # The Airflow UI serves its own favicon; without one the browser logs a 404 on every page.
    app = Starlette(
        routes=[Route("/favicon.ico", lambda request: Response(status_code=204)), Mount(URL_PREFIX, app=web_app)]
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="lineage-explorer-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    web_app.dependency_overrides.pop(lineage_store_url, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Session:
    """A signed-in page and everything it complained about."""

    page: Any
    problems: list[str] = field(default_factory=list)

    def settled(self) -> None:
        """Wait until the explorer has drawn and no request of it is running."""
        self.page.locator("#si-lineage[data-view]:not([aria-busy])").wait_for(state="attached", timeout=TIMEOUT_MS)

    def listed(self) -> list[str]:
        """The drawn nodes, as the accessible list describes them."""
        return [text.strip() for text in self.page.locator("#si-graph-list li").all_text_contents()]

    def choose(self, label: str) -> None:
        """Select the node whose list entry starts with ``label`` (the keyboard path to a node)."""
        self.page.locator("details.si-lineage__list summary").click()
        self.page.locator("#si-graph-list button", has_text=label).first.click()
        self.page.locator("details.si-lineage__list summary").click()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"lineage-{name}.png"))


@pytest.fixture
def session(browser: Any, base_url: str, make_token: Callable[..., str]) -> Iterator[Session]:
    """A fresh browser context carrying Airflow's ``_token`` cookie, as the UI's iframe does."""
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    context.add_cookies([{"name": "_token", "value": make_token(), "url": base_url}])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    current = Session(page)
    page.on(
        "console",
        lambda message: (
            current.problems.append(f"console {message.type}: {message.text} {message.location}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: current.problems.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: current.problems.append(f"request failed: {request.url}"))
    page.on(
        "response",
        lambda response: (
            current.problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None
        ),
    )
    yield current
    context.close()
    assert current.problems == [], "the page complained:\n" + "\n".join(current.problems)


def test_explorer_shows_the_demo_pipeline_from_source_to_marts(
    session: Session, base_url: str, demo: DemoLineage
) -> None:
    page = session.page

    page.goto(f"{base_url}{URL_PREFIX}/lineage")
    session.settled()

    # The start node is the most connected dataset with lineage on both sides: the orders mart.
    listed = "\n".join(session.listed())
    for short in (
        "shop.orders",  # source table in the shop database
        "raw.shop__orders",
        "stg_shop__orders",
        "shop.payments",
        "raw.shop__payments",
        "stg_shop__payments",
        "marts.order_items",
        "marts.orders",
        "marts.customers",
        "marts.daily_revenue",
    ):
        assert f"dataset {demo.datasets[short].name}" in listed, f"{short} not drawn:\n{listed}"
    assert "job transform_warehouse.dbt.orders.run · last run completed" in listed
    assert "job transform_warehouse.dbt.daily_revenue.run · last run failed" in listed
    assert "dataset warehouse.raw.shop__payments · PII in 2 columns" in listed
    # Payment card numbers and IBANs reach staging only masked.
    assert "dataset warehouse.staging.stg_shop__payments · PII anonymised" in listed
    assert int(page.locator("#si-lineage").get_attribute("data-edges") or 0) >= 20

    # The side panel opens on the start node: owners from the governance config, the latest quality gate.
    side = page.locator("#si-lineage-side")
    side.locator("h2", has_text="warehouse.marts.orders").wait_for()
    facts = side.locator("dl").inner_text()
    assert "Owners\nAnalytics" in facts, facts
    assert "Quality\npassed" in facts, facts
    assert "Last written\ncompleted" in facts, facts
    session.screenshot("01-demo-pipeline")

    session.choose("dataset warehouse.marts.daily_revenue")
    side.locator("h2", has_text="warehouse.marts.daily_revenue").wait_for()
    assert "Quality\nfailed" in side.locator("dl").inner_text()


def test_expanding_a_node_adds_its_next_hop(session: Session, base_url: str, demo: DemoLineage) -> None:
    page = session.page
    start = demo.node_id("raw.shop__customers")

    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={start}&depth=1")
    session.settled()
    before = session.listed()
    assert any(item.startswith("dataset warehouse.staging.stg_shop__customers") for item in before), before
    assert not any("marts.customers" in item for item in before), before

    session.choose("dataset warehouse.staging.stg_shop__customers")
    page.locator("#si-lineage-side h2", has_text="warehouse.staging.stg_shop__customers").wait_for()
    page.get_by_role("button", name="Downstream →").click()
    page.locator("#si-lineage-status", has_text="Added").wait_for()
    session.settled()

    after = session.listed()
    assert any(item.startswith("dataset warehouse.marts.customers") for item in after), after
    assert any(item.startswith("job transform_warehouse.dbt.customers.run") for item in after), after
    assert len(after) > len(before)
    session.screenshot("02-expanded")


def test_double_clicking_a_node_expands_it(session: Session, base_url: str, demo: DemoLineage) -> None:
    """A 5-node chain (source, ingest, raw, dbt, staging) is drawn centred on its middle node: the raw table."""
    page = session.page
    raw = demo.node_id("raw.shop__customers")
    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={raw}&depth=1")
    session.settled()
    assert page.locator("#si-lineage").get_attribute("data-nodes") == "5"
    box = page.locator("#si-graph").bounding_box()
    assert box is not None

    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    # Its one-hop neighbourhood is already drawn: the expansion finds nothing new, and says so.
    page.locator("#si-lineage-status", has_text="Nothing more of warehouse.raw.shop__customers").wait_for()
    session.settled()
    assert page.locator("#si-lineage").get_attribute("data-nodes") == "5"


def test_column_view_shows_pii_and_masking(session: Session, base_url: str, demo: DemoLineage) -> None:
    page = session.page
    staging = demo.node_id("stg_shop__customers")

    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={staging}&depth=2")
    session.settled()
    page.get_by_role("button", name="Columns", exact=True).first.click()
    page.locator("#si-lineage[data-view=columns]").wait_for(state="attached")
    session.settled()

    listed = "\n".join(session.listed())
    assert "column warehouse.raw.shop__customers.email · PII" in listed
    assert "column warehouse.staging.stg_shop__customers.email · PII anonymised" in listed
    assert "column shop.public.customers.email" in listed  # the source column the e-mail comes from
    session.choose("column warehouse.staging.stg_shop__customers.email")
    side = page.locator("#si-lineage-side")
    side.get_by_text("email · masked").first.wait_for()
    assert "warehouse.raw.shop__customers.email" in side.inner_text()
    session.screenshot("03-columns")


def test_search_opens_a_node_and_deep_links_to_it(session: Session, base_url: str, demo: DemoLineage) -> None:
    page = session.page

    page.goto(f"{base_url}{URL_PREFIX}/lineage")
    session.settled()
    page.locator("#si-lineage-q").fill("daily_rev")
    option = page.locator("#si-lineage-results [data-node-id]", has_text="warehouse.marts.daily_revenue")
    option.wait_for()
    session.screenshot("04-search")
    option.click()
    page.wait_for_url("**nodeId=dataset*daily_revenue*")
    session.settled()
    page.locator("#si-lineage-side h2", has_text="warehouse.marts.daily_revenue").wait_for()

    page.reload()
    session.settled()
    page.locator("#si-lineage-side h2", has_text="warehouse.marts.daily_revenue").wait_for()
    assert page.locator("#si-lineage-depth").input_value() == "3"


def test_impact_exports_download_csv_and_json(session: Session, base_url: str, demo: DemoLineage) -> None:
    page = session.page
    raw = demo.node_id("raw.shop__orders")

    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={raw}&depth=1")
    session.settled()
    link = page.locator('[data-export="csv"]')
    assert link.get_attribute("aria-disabled") == "false"
    with page.expect_download() as download_info:
        link.click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(encoding="utf-8"))))
    impacted = {row["name"] for row in rows}
    assert {
        "warehouse.staging.stg_shop__orders",
        "warehouse.marts.orders",
        "warehouse.marts.customers",
        "warehouse.marts.daily_revenue",
    } <= impacted

    answer = page.request.get(base_url + (page.locator('[data-export="json"]').get_attribute("href") or ""))
    assert answer.ok
    assert answer.json()["nodeId"] == raw
    page.get_by_role("button", name="Show impact").click()
    owners = page.locator("#si-lineage-side").get_by_text("Owners to tell")
    owners.wait_for()
    owners.scroll_into_view_if_needed()
    assert "4 datasets, 4 jobs downstream" in page.locator(".si-lineage__impact").inner_text()
    session.screenshot("05-impact")


def test_pii_trace_follows_personal_data_until_it_is_masked(session: Session, base_url: str, demo: DemoLineage) -> None:
    page = session.page
    raw = demo.node_id("raw.shop__customers")

    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={raw}&depth=1")
    session.settled()
    page.get_by_role("button", name="Trace personal data").click()
    side = page.locator("#si-lineage-side")
    side.get_by_role("heading", name="Comes from").wait_for()
    side.get_by_role("heading", name="Comes from").scroll_into_view_if_needed()
    text = side.inner_text()
    assert "shop.public.customers" in text
    assert "Anonymised in" in text and "warehouse.staging.stg_shop__customers" in text
    session.screenshot("06-pii")


def test_a_link_to_an_unknown_node_says_so(session: Session, base_url: str) -> None:
    page = session.page
    missing = "dataset:postgres://warehouse:5432:warehouse.marts.no_such_table"

    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={missing}")

    status = page.locator("#si-lineage-status.si-lineage__status--bad")
    status.wait_for()
    assert f"Could not load the lineage of {missing}" in status.inner_text()
    assert "(HTTP 404)" in status.inner_text()
    # The API's 404 is the expected answer here; the browser logs it, nothing else may complain.
    expected = [p for p in session.problems if "404" in p and "/api/v1/lineage" in p]
    assert len(expected) == 2, session.problems  # the response, and the browser's console line for it
    session.problems[:] = [p for p in session.problems if p not in expected]


def test_a_dataset_shows_its_attributed_cost_and_one_without_says_so(
    session: Session, base_url: str, demo: DemoLineage
) -> None:
    page = session.page
    page.goto(f"{base_url}{URL_PREFIX}/lineage?nodeId={demo.node_id('marts.orders')}&depth=2")
    session.settled()
    side = page.locator("#si-lineage-side")
    side.locator("h2", has_text="warehouse.marts.orders").wait_for()
    cost = side.locator(".si-lineage__cost")
    cost.locator("[data-cost='month to date']").wait_for()
    # 30 days to 2026-11-20 (the last day rolled up): 10 + 1.25 + 2.50 + 0.0042; November: 3.7542
    assert cost.locator("[data-cost='last 30 days']").inner_text() == "13.75 EUR"
    assert cost.locator("[data-cost='month to date']").inner_text() == "3.75 EUR"
    text = cost.inner_text()
    assert "Attributed cost" in text and "Up to 2026-11-20 (UTC)" in text
    assert cost.get_by_role("link", name="Cost & ROI").get_attribute("href") == f"{URL_PREFIX}/cost"
    cost.scroll_into_view_if_needed()
    session.screenshot("07-cost")

    session.choose("dataset warehouse.marts.daily_revenue")
    side.locator("h2", has_text="warehouse.marts.daily_revenue").wait_for()
    none = side.locator(".si-lineage__cost [data-cost='none']")
    none.wait_for()
    assert none.inner_text() == "no cost attributed yet."
    assert "0.00" not in side.locator(".si-lineage__cost").inner_text()
