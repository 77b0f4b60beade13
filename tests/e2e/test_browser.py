"""A person's first visit, in headless Chromium: log in, open every governance page in the UI.

Screenshots are saved under test-results/screenshots/ (git-ignored) for a person to look at.
Chromium comes from the OS (Debian's `chromium` package; `.ci/run` installs it). Playwright
drives it through `executable_path`; it never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scrollintel.settings import project_root
from scrollintel.web.pages import PAGES
from tests.e2e.conftest import RunningPlatform

CHROMIUM = os.environ.get("SCROLLINTEL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = project_root() / "test-results" / "screenshots"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="BROWSER TEST NOT RUN: no Chromium (install Debian's chromium package or set SCROLLINTEL_CHROMIUM)",
    ),
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_from_menu(page: Any, title: str, path: str, attempts: int = 3) -> None:
    """As a person would: the Plugins menu, its Governance group, then the page.

    The menu opens with an animation; a click that lands while it is still moving is retried
    (closing the menu first) rather than failing the test on timing.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, attempts + 1):
        page.get_by_role("button", name="Plugins").click()
        page.get_by_role("menuitem", name="Governance").hover()
        item = page.get_by_role("menuitem", name=title, exact=True)
        item.wait_for(state="visible", timeout=10_000)
        item.click()
        try:
            page.wait_for_url(f"**{path}", timeout=10_000, wait_until="commit")
            return
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.keyboard.press("Escape")


def _seed_quality_history(days: int = 14) -> int:
    """Gate outcomes for the Quality page's trend, when the platform has recorded none yet.

    At this point of the session no quality gate has run (the dbt DAG waits for the raw Assets
    of the ingestion DAGs), so two weeks of outcomes are written with the gates' own writer
    (:func:`scrollintel.quality.store.record_gate_run`), as run ids ``e2e-seed__...`` outside
    Airflow. Real gate runs are tested in tests/integration/quality. Returns the rows written.
    """
    import uuid
    from datetime import UTC, datetime, timedelta

    from scrollintel import db
    from scrollintel.quality import store
    from scrollintel.quality.outcome import DatasetOutcome, ExpectationOutcome, GateContext

    url = db.warehouse_url()
    with store.connect(url) as conn:
        if conn.execute("SELECT count(*) FROM governance.quality_run").fetchone()[0]:  # type: ignore[index]
            return 0
        now = datetime.now(UTC)
        written = 0
        for day in range(days, -1, -1):
            at = now - timedelta(days=day)
            outcomes = []
            for dataset in ("marts.customers", "marts.orders", "raw.shop__orders"):
                failed = dataset == "marts.orders" and day in (9, 3, 0)
                results = [
                    ExpectationOutcome(
                        position=0,
                        expectation_type="expect_column_values_to_be_unique",
                        kwargs={"column": "order_id"},
                        column="order_id",
                        success=not failed,
                        unexpected_count=10 if failed else 0,
                        element_count=6005 if failed else 6000,
                    )
                ]
                outcomes.append(
                    DatasetOutcome(
                        dataset=dataset,
                        suite_path=f"expectations/{dataset}.json",
                        success=not failed,
                        row_count=6000,
                        results=results,
                        result_path=f"e2e-seed/{dataset}.json",
                        started_at=at,
                        finished_at=at,
                    )
                )
            context = GateContext(run_id=f"e2e-seed__{at:%Y-%m-%d}")
            store.record_gate_run(conn, gate_run_id=str(uuid.uuid4()), context=context, as_of=at, datasets=outcomes)
            written += len(outcomes)
    return written


@contextmanager
def _seeded_history_removed_afterwards() -> Iterator[None]:
    """Delete the ``e2e-seed__`` gate runs when the test is done (their results go with them).

    They are pictures for the trend chart, not history: left in, the next real gate would judge
    the demo marts' volume against their made-up row counts and fail.
    """
    from scrollintel import db
    from scrollintel.quality import store

    try:
        yield
    finally:
        with store.connect(db.owner_url("warehouse")) as conn:  # the runtime role may only append
            conn.execute("DELETE FROM governance.quality_run WHERE run_id LIKE 'e2e-seed%'")


def _seed_cost_history() -> None:
    """30 days of demo task runs, rolled up, valued and checked against budgets, as a person would ask
    (`scrollintel demo cost-history`): the Cost & ROI page's charts have something to show."""
    import subprocess
    import sys

    done = subprocess.run(
        [str(Path(sys.executable).parent / "scrollintel"), "demo", "cost-history", "--days", "30", "--no-alerts"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_login_and_every_nav_page(platform: RunningPlatform) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _seed_quality_history()
    _seed_cost_history()
    with sync_playwright() as playwright, _seeded_history_removed_afterwards():
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(platform.url + "/")
            page.wait_for_url("**/auth/login/**", timeout=30_000)  # the UI sends anonymous visitors to log in
            page.fill("input[name=username]", platform.user)
            page.fill("input[name=password]", platform.password)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(platform.url + "/", timeout=30_000)
            page.wait_for_load_state("networkidle")
            expect(page.get_by_text("Dag Processor")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(SCREENSHOTS / "00-home.png"))

            for number, governance_page in enumerate(PAGES, start=1):
                open_from_menu(page, governance_page.title, f"/plugin/scrollintel-{governance_page.slug}")
                frame = page.frame_locator("iframe").first
                expect(frame.locator("h1")).to_have_text(governance_page.title, timeout=30_000)
                expect(frame.locator(".si-user")).to_contain_text(platform.user)
                if governance_page.slug == "quality":
                    expect(frame.locator("svg.si-trend rect").first).to_be_visible(timeout=30_000)
                if governance_page.slug == "cost":  # the demo history: charts, budgets, ROI
                    expect(frame.locator("svg.si-bars").first).to_be_visible(timeout=30_000)
                    expect(frame.get_by_text("Demo data.").first).to_be_visible()
                if governance_page.slug == "model":  # no model trained on the e2e platform: the empty state
                    expect(frame.get_by_text("train the first model").first).to_be_visible(timeout=30_000)
                page.screenshot(path=str(SCREENSHOTS / f"{number:02d}-{governance_page.slug}.png"))
        finally:
            browser.close()
    saved = sorted(path.name for path in Path(SCREENSHOTS).glob("*.png"))
    assert len(saved) >= 1 + len(PAGES), saved
