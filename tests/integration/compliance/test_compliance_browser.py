"""The Compliance page in headless Chromium on the seeded house: find, every copy, erasure, approval, re-scan.

The "Done when" story of the page, short of a running platform: the governance app (as the plugin
mounts it, Airflow's own auth) is served by uvicorn on a loopback port against the seeded house
(subject D in raw, quarantine, staging hashed, marts, a score and landing files; see conftest). The
browser signs in with Airflow's ``_token`` cookie as an Op. Where the platform's api-server would
start the ``compliance_erasure`` run, the test records the trigger and then does the run's work
in-process as the DAG's tasks do (:func:`~scrollintel.compliance.workflow.plan`, then
:func:`~scrollintel.compliance.workflow.execute` with the ``erasure`` gate's granted decision), as
the subject request tests do. Screenshots go to test-results/screenshots/ (git-ignored).

Every test fails on any console error or warning, a failed request, or an uncaught exception.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.approvals.outcome import GateDecision
from scrollintel.compliance import workflow
from scrollintel.settings import project_root
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url
from scrollintel.web.routes.compliance import erasure_trigger
from tests.integration.approvals.conftest import serve
from tests.integration.compliance.conftest import ComplianceHouse

if TYPE_CHECKING:
    from fastapi import FastAPI

CHROMIUM = os.environ.get("SCROLLINTEL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = project_root() / "test-results" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
TIMEOUT_MS = 30_000
APPROVER = "co-officer"
TEST_SIGNING_KEY = "ZmFrZS10ZXN0LWtleS1mb3Itc2Nyb2xsaW50ZWwtMDE="

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="BROWSER TEST NOT RUN: no Chromium (install Debian's chromium package or set SCROLLINTEL_CHROMIUM)",
    ),
]


@pytest.fixture(scope="module")
def started() -> list[tuple[uuid.UUID, str]]:
    """The ``compliance_erasure`` runs the page asked for: ``(request_id, username)``."""
    return []


@pytest.fixture(scope="module")
def base_url(
    web_app: FastAPI,
    house: ComplianceHouse,
    started: list[tuple[uuid.UUID, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The app at its prefix on a loopback port, reading the seeded house and its object store."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    def trigger(request_id: uuid.UUID, username: str) -> str:
        started.append((request_id, username))
        return f"manual__browser_{len(started)}"

    with pytest.MonkeyPatch.context() as env:
        env.setenv("SCROLLINTEL_HOME", str(tmp_path_factory.mktemp("compliance-browser-home")))
        env.setenv("SCROLLINTEL_OBJECT_STORE", str(house.files_root))
        env.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
        web_app.dependency_overrides[warehouse_url] = lambda: house.url
        web_app.dependency_overrides[erasure_trigger] = lambda: trigger
        # The Airflow UI serves its own favicon; without one the browser logs a 404 on every page.
        app = Starlette(
            routes=[Route("/favicon.ico", lambda request: Response(status_code=204)), Mount(URL_PREFIX, app=web_app)]
        )
        try:
            with serve(app) as url:
                yield url
        finally:
            web_app.dependency_overrides.pop(warehouse_url, None)
            web_app.dependency_overrides.pop(erasure_trigger, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def visited() -> list[str]:
    """Every address the page's browser went to."""
    return []


@pytest.fixture
def page(browser: Any, base_url: str, make_token: Callable[..., str], visited: list[str]) -> Iterator[Any]:
    """A signed-in Op's page (compliance:subject and compliance:evidence); fails the test on any complaint."""
    context = browser.new_context(viewport={"width": 1440, "height": 1100}, accept_downloads=True)
    context.add_cookies([{"name": "_token", "value": make_token(username="co-op", role="op"), "url": base_url}])
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None
        ),
    )
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    tab.on("response", lambda response: problems.append(f"HTTP {response.status}") if response.status >= 400 else None)
    tab.on("framenavigated", lambda frame: visited.append(frame.url))
    downloads: set[str] = set()
    tab.on("download", lambda download: downloads.add(download.url))
    yield tab
    context.close()
    # a form post answered with a file is a download: Chromium aborts its navigation, which is no failure
    problems = [problem for problem in problems if problem.removeprefix("request failed: ") not in downloads]
    assert problems == [], "the page complained:\n" + "\n".join(problems)


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"compliance-{name}.png"), full_page=True)


def test_find_erase_approve_and_the_re_scan_comes_back_empty(
    page: Any, base_url: str, house: ComplianceHouse, started: list[tuple[uuid.UUID, str]], visited: list[str]
) -> None:
    who = house.d
    page.goto(f"{base_url}{URL_PREFIX}/compliance")
    page.get_by_label("E-mail").fill(who.email)
    page.get_by_role("button", name="Find every copy").click()

    found = page.locator("table.si-compliance-found")
    found.wait_for()
    targets = [text.strip() for text in found.locator("tbody tr td:nth-child(2)").all_text_contents()]
    for target in (
        "raw.shop__customers",
        "raw.shop__orders",
        "raw.shop__payments",
        "raw_quarantine.shop__customers",
        "staging.stg_shop__customers",
        "marts.customers",
        "marts.orders",
        "marts.churn_scores",
        "marts.crm_contacts",
        "landing/crm/contacts.csv",
        "landing/crm/events.jsonl",
    ):
        assert target in targets, target
    hashed = found.locator("tr", has_text="marts.crm_contacts").locator("td:nth-child(4)").inner_text()
    assert hashed == "email (hashed)"
    shot(page, "01-found")

    page.get_by_role("button", name="Request erasure (Art. 17)").click()
    page.locator("#request-status").wait_for()
    assert page.locator("#request-status").inner_text() == "awaiting approval"
    assert "waits for the erasure approval" in page.locator(".si-flash").inner_text()
    assert page.locator("table.si-compliance-plan tbody tr").count() >= len(targets) - 1
    assert "not run yet" in page.locator("#request-rescan").inner_text()
    (request_id, requester), *_ = started
    assert requester == "co-op"
    assert str(request_id) in page.url
    shot(page, "02-awaiting-approval")

    # the compliance_erasure run: plan_erasure, then the erasure gate approved by a steward, execute_erasure
    workflow.plan(
        house.url, request_id, files_root=house.files_root, dag_run_id="manual__browser_1", ledger_url=house.url
    )
    granted = GateDecision("granted", APPROVER)
    workflow.execute(house.url, request_id, granted, files_root=house.files_root, ledger_url=house.url)

    page.reload()
    assert page.locator("#request-status").inner_text() == "executed"
    assert page.locator("#request-rescan").inner_text() == "0 rows left where deletion was planned"
    ledger = [text.strip() for text in page.locator("table.si-compliance-ledger td:nth-child(2)").all_text_contents()]
    assert ledger[0] == "compliance.subject_request_opened"
    assert ledger[-2:] == ["compliance.erasure_executed", "compliance.erasure_verified"]
    assert APPROVER in page.locator("table.si-compliance-ledger").inner_text()
    shot(page, "03-erased")

    # a new find: nothing left but what the plan keeps with a legal basis
    page.goto(f"{base_url}{URL_PREFIX}/compliance")
    page.get_by_label("Customer id").fill(str(who.customer_id))
    page.get_by_role("button", name="Find every copy").click()
    page.locator("#found-heading").wait_for()
    left = [
        text.strip() for text in page.locator("table.si-compliance-found tbody td:nth-child(2)").all_text_contents()
    ]
    assert not {"marts.crm_contacts", "marts.churn_scores", "landing/crm/contacts.csv"} & set(left)
    # the subject never appeared in an address the browser went to
    assert visited and not [url for url in visited if who.email in url or who.email.split("@")[0] in url]


def test_the_page_with_requests_and_the_art30_record_and_an_evidence_pack_download(
    page: Any, base_url: str, house: ComplianceHouse, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from scrollintel.compliance import evidence, record
    from scrollintel.config import load_governance

    # what the compliance_record DAG keeps in the object store
    record.generate(load_governance(), house.files_root / "compliance" / "art30", generated_at="now")
    page.goto(f"{base_url}{URL_PREFIX}/compliance")
    rows = page.locator("table.si-compliance-requests tbody tr")
    assert rows.count() >= 1
    assert "0 rows left where deletion was planned" in page.locator("table.si-compliance-requests").inner_text()
    shot(page, "00-page")

    with page.expect_download() as xlsx:
        page.get_by_role("link", name="Download XLSX").click()
    sheet = tmp_path / "record.xlsx"
    xlsx.value.save_as(sheet)
    assert "shop.customers" in [
        row[0] for row in load_workbook(sheet)["Record of processing"].iter_rows(values_only=True)
    ]

    page.get_by_label("Period").fill("2026-Q4")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download evidence pack").click()
    assert download.value.suggested_filename == "evidence-2026-Q4.zip"
    pack = tmp_path / "evidence-2026-Q4.zip"
    download.value.save_as(pack)
    checked = evidence.verify(pack)
    assert checked.ok, checked.problems
