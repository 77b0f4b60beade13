"""The schema_change approval gate on the running platform, answered in Slack, on the page, or not at all.

One ``ingest_shop`` run, triggered by a data engineer after four shop tables each gained a column
(the source's contract is frozen):

- ``customers`` is approved in the demo Slack workspace, in the known race window: Slack is made
  slow to answer ``chat.postMessage``, so the gate's task is still running in its notifier while
  its request is already visible; the requester and 50 concurrent presses by both approvers come
  then. The requester is refused, one decision is recorded, and only after the task parked and
  settled (Airflow fails a task resumed while its parking worker is still exiting);
- ``products`` is rejected in Slack;
- ``subscriptions`` expires (its deadline moved into the past, as if a day went by);
- ``orders`` is approved on the Approvals page in headless Chromium, with a comment (screenshots
  saved; without Chromium the page's form is posted over HTTP instead).

Then the raw tables, the contracts, the ledger and the Slack messages say exactly that. The
columns that did not land (rejected, expired, or left unanswered by a failed test) are dropped again
afterwards, so the other modules' runs of ``ingest_shop`` are not blocked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest

from scrollintel import db
from scrollintel.approvals.decisions import SETTLE_S
from scrollintel.demo import drift
from scrollintel.platform import launcher
from scrollintel.warehouse import raw_table_name
from tests.e2e.conftest import RunningPlatform, wait_for_json
from tests.e2e.demo_slack import SLACK_USERS, messages, press, request_message, slack_url, wait

pytestmark = pytest.mark.e2e

DAG_ID = "ingest_shop"
REQUESTER = "dp-engineer"
APPROVED, REJECTED, EXPIRED, ON_PAGE = "customers", "products", "subscriptions", "orders"
COLUMNS = {APPROVED: "loyalty_tier", REJECTED: "eco_label", EXPIRED: "promo_code", ON_PAGE: "gift_wrap"}
PAGE_COMMENT = "checked with the shop team"
CLICKS = 50
#: How long the demo Slack takes to answer chat.postMessage while the approved gate is pressed.
SLOW_SLACK_S = 8.0


def _sql(url: str) -> str:
    return url.replace(db.DRIVER, "postgresql")


def _client(platform: RunningPlatform, user: str, password: str) -> httpx.Client:
    token = httpx.post(f"{platform.url}/auth/token", json={"username": user, "password": password}, timeout=30)
    token.raise_for_status()
    return httpx.Client(
        base_url=platform.url, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=30
    )


def _states(client: httpx.Client, run_id: str) -> dict[str, str | None]:
    tasks = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 100}).json()
    return {task["task_id"]: task["state"] for task in tasks["task_instances"]}


@pytest.fixture(scope="module")
def slack(platform: RunningPlatform) -> str:
    return slack_url()


def _slow_slack(slack: str, seconds: float) -> None:
    answer = httpx.post(f"{slack}/demo/latency", json={"method": "chat.postMessage", "seconds": seconds}, timeout=10)
    answer.raise_for_status()


@pytest.fixture(scope="module")
def drifted(platform: RunningPlatform) -> Iterator[None]:
    """A first load (contract version 1), then a new column in three shop tables; the unapproved ones go after."""
    with platform.client() as admin:
        wait_for_json(admin, f"/api/v2/dags/{DAG_ID}", lambda d: d.get("dag_id") is not None)
        run = admin.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None}).json()["dag_run_id"]
        final = wait_for_json(
            admin, f"/api/v2/dags/{DAG_ID}/dagRuns/{run}", lambda r: r.get("state") in ("success", "failed"), 400
        )
        assert final["state"] == "success", _states(admin, run)
    for table, column in COLUMNS.items():
        assert drift.add_column(db.database_url("shop"), table, column) == drift.ROWS
    yield
    _slow_slack(slack_url(), 0)
    with platform.client() as admin:  # a run left waiting (a failed test) must not hold up the other modules' runs
        for run in admin.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"state": "running"}).json()["dag_runs"]:
            admin.patch(f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
    with psycopg.connect(_sql(db.warehouse_url())) as conn:  # approved columns are in raw; a failed test approved none
        landed = {
            (table, column)
            for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'raw'"
            )
        }
    with psycopg.connect(_sql(db.database_url("shop"))) as conn:
        for table, column in COLUMNS.items():
            if (raw_table_name("shop", table), column) not in landed:  # else ingest_shop would ask again
                conn.execute(f'ALTER TABLE public.{table} DROP COLUMN IF EXISTS "{column}"')


def _answer_on_the_page(platform: RunningPlatform, password: str, task_id: str, slack: str) -> None:
    """An approver sees the request in the demo Slack workspace and in Airflow's Required Actions, then opens the
    Approvals page from the Airflow menu, writes a comment and presses Approve (a screenshot of each)."""
    from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, open_from_menu

    if CHROMIUM is None:  # the same form, posted as the page would (the browser test says loudly it did not run)
        with _client(platform, "an-lead", password) as approver:
            page_html = approver.get("/scrollintel/approvals").text
            assert task_id in page_html and "Approve" in page_html
            fields = {"dag_id": DAG_ID, "task_id": task_id, "choice": "Approve", "comment": PAGE_COMMENT}
            run_id = page_html.split('name="run_id" value="', 1)[1].split('"', 1)[0]
            answer = approver.post("/scrollintel/approvals/answer", data={**fields, "run_id": run_id, "map_index": -1})
            assert answer.status_code == 303 and "recorded" in answer.headers["location"], answer.text
        return
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(platform.url + "/")
            page.wait_for_url("**/auth/login/**", timeout=30_000)
            page.fill("input[name=username]", "an-lead")
            page.fill("input[name=password]", password)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(platform.url + "/", timeout=30_000)
            table = task_id.removesuffix("_schema_change")
            page.goto(f"{slack}/?as={SLACK_USERS['an-lead']}")
            expect(page.get_by_text(f"shop.{table}: the source table's columns changed").first).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "18-demo-slack-request.png"), full_page=True)
            page.goto(f"{platform.url}/required_actions")
            expect(page.get_by_text(f"Schema change: shop.{table}").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(SCREENSHOTS / "19-required-actions.png"))
            page.goto(platform.url + "/")
            open_from_menu(page, "Approvals", "/plugin/scrollintel-approvals")
            frame = page.frame_locator("iframe").first
            card = frame.locator("article.si-approval", has_text=f"shop.{table}:")
            expect(card).to_be_visible(timeout=30_000)
            card.locator("input[name=comment]").fill(PAGE_COMMENT)
            page.screenshot(path=str(SCREENSHOTS / "20-approvals-pending.png"))
            card.get_by_role("button", name="Approve").click()
            expect(frame.locator(".si-flash")).to_have_text("Approve recorded.", timeout=30_000)
            page.screenshot(path=str(SCREENSHOTS / "21-approvals-approved.png"))
        finally:
            browser.close()


def _ledger(action_prefix: str, run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with psycopg.connect(_sql(db.warehouse_url())) as conn:
        rows = conn.execute(
            "SELECT action, actor, details FROM governance.audit_entry WHERE action LIKE %s ORDER BY seq",
            (action_prefix + "%",),
        ).fetchall()
    found = [(action, actor, json.loads(details)) for action, actor, details in rows]
    return [row for row in found if row[2].get("run_id") == run_id]


def test_a_schema_change_is_approved_rejected_or_expires_through_the_gate(
    platform: RunningPlatform, slack: str, drifted: None
) -> None:
    password = launcher.platform_secrets(launcher.layout())["team_password"]
    _slow_slack(slack, SLOW_SLACK_S)
    with _client(platform, REQUESTER, password) as engineer:
        run_id = engineer.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None}).json()["dag_run_id"]
    gate = {table: f"{table}_schema_change" for table in COLUMNS}

    # The approved gate is answered as soon as its request shows in Slack: its task is still running (in the
    # slow chat.postMessage), the window in which an answer can beat the task's wait.
    customers = wait(
        "the customers request in #data-platform",
        lambda: request_message(slack, "data-platform", gate[APPROVED]),
    )
    hitl = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{gate[APPROVED]}/-1/hitlDetails"
    with platform.client() as admin:
        assert admin.get(hitl).json()["task_instance"]["state"] == "running"
    started = time.monotonic()
    press(slack, customers, REQUESTER, "scrollintel_approve")  # separation of duties: refused by Airflow
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(
            pool.map(
                lambda i: press(slack, customers, ("dp-lead", "an-lead")[i % 2], "scrollintel_approve"),
                range(CLICKS),
            )
        )
    _slow_slack(slack, 0)
    with platform.client() as admin:  # while the task runs towards its wait, no answer is recorded
        seen = []
        while (detail := admin.get(hitl).json())["task_instance"]["state"] == "running":
            seen.append(detail["response_received"])
            time.sleep(0.2)
        assert seen and not any(seen), "an answer was recorded while the task was still running"
    refused = wait(
        "the requester's ephemeral refusal",
        lambda: [m for m in messages(slack)["data-platform"] if m["ephemeral"] and m["user"] == SLACK_USERS[REQUESTER]],
    )
    assert "not an approver" in refused[0]["text"]
    with platform.client() as admin:
        wait(
            "the approved load to start",
            lambda: _states(admin, run_id).get(f"{APPROVED}_approved_load") in ("queued", "running", "success"),
            every=0.2,
        )
        resumed = time.monotonic() - started
        print(f"approve -> rerun scheduled: {resumed:.1f} s")

        products = wait("the products request", lambda: request_message(slack, "analytics", gate[REJECTED]))
        press(slack, products, "an-lead", "scrollintel_reject")
        wait("the orders request to wait", lambda: _states(admin, run_id).get(gate[ON_PAGE]) == "awaiting_input")
        _answer_on_the_page(platform, password, gate[ON_PAGE], slack)
        wait("the subscriptions request to wait", lambda: _states(admin, run_id).get(gate[EXPIRED]) == "awaiting_input")
        with psycopg.connect(_sql(db.database_url("airflow"))) as conn:  # a day goes by
            conn.execute(
                "UPDATE task_instance SET trigger_timeout = now() - interval '1 second' "
                "WHERE dag_id = %s AND run_id = %s AND task_id = %s",
                (DAG_ID, run_id, gate[EXPIRED]),
            )
        final = wait_for_json(
            admin, f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", lambda r: r.get("state") in ("success", "failed"), 400
        )
        states = _states(admin, run_id)
        details = admin.get("/api/v2/dags/~/dagRuns/~/hitlDetails", params={"limit": 100}).json()["hitl_details"]

    assert final["state"] == "success", states
    for table in COLUMNS:
        assert states[table] == "failed" and states[gate[table]] == "success", states
    assert states[f"{APPROVED}_approved_load"] == states[f"{ON_PAGE}_approved_load"] == "success"
    assert states[f"{REJECTED}_approved_load"] == states[f"{EXPIRED}_approved_load"] == "skipped"
    answered = {d["task_instance"]["task_id"]: d for d in details if d["task_instance"]["dag_run_id"] == run_id}
    assert answered[gate[APPROVED]]["responded_by_user"]["name"] in ("dp-lead", "an-lead")
    opened, decided = (
        datetime.fromisoformat(answered[gate[APPROVED]][key].replace("Z", "+00:00"))
        for key in ("created_at", "responded_at")
    )
    assert (decided - opened).total_seconds() >= SETTLE_S - 0.5  # the parking worker had time to go
    assert answered[gate[REJECTED]]["chosen_options"] == ["Reject"]
    assert answered[gate[EXPIRED]]["responded_by_user"] is None and answered[gate[EXPIRED]]["chosen_options"] == [
        "Reject"
    ]

    # exactly one decision per request, one ledger entry each, by name
    ledger = _ledger("approval.", run_id)
    outcomes = sorted((action, details["task_id"]) for action, _, details in ledger)
    assert outcomes == sorted(
        [
            *(("approval.requested", gate[table]) for table in COLUMNS),
            *(("approval.notified", gate[table]) for table in COLUMNS),  # posted to Slack (reminders go there)
            ("approval.granted", gate[APPROVED]),
            ("approval.rejected", gate[REJECTED]),
            ("approval.expired", gate[EXPIRED]),
            ("approval.granted", gate[ON_PAGE]),
        ]
    )
    on_page = next(d for action, _, d in ledger if action == "approval.granted" and d["task_id"] == gate[ON_PAGE])
    assert on_page["responded_by"] == "an-lead" and on_page["comment"] == PAGE_COMMENT
    requested = {
        details["task_id"]: (actor, details) for action, actor, details in ledger if action == "approval.requested"
    }
    assert requested[gate[APPROVED]][0] == REQUESTER and requested[gate[APPROVED]][1]["approvers"] == [
        "dp-lead",
        "an-lead",
    ]

    # the approved column landed with its rows; the others changed nothing
    with psycopg.connect(_sql(db.warehouse_url())) as conn:
        gold = conn.execute("SELECT count(*) FROM raw.shop__customers WHERE loyalty_tier = 'gold'").fetchone()
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
                "AND table_name IN ('shop__products', 'shop__subscriptions')"
            )
        }
        versions: dict[str, int] = dict(
            conn.execute(
                "SELECT resource, max(version) FROM governance.ingest_schema_version "
                "WHERE source = 'shop' GROUP BY resource"
            ).fetchall()
        )
    assert gold == (drift.ROWS,)
    assert not {COLUMNS[REJECTED], COLUMNS[EXPIRED]} & columns
    assert versions[APPROVED] == 2 and versions[REJECTED] == versions[EXPIRED] == 1

    # the Slack messages show each outcome instead of the buttons
    texts = {task: (request_message(slack, "data-platform", gate[task]) or {}).get("text", "") for task in COLUMNS}
    assert texts[APPROVED].startswith("Approved by ") and texts[REJECTED].startswith("Rejected by an-lead")
    assert texts[ON_PAGE].startswith("Approved by an-lead")
    outcome = json.dumps((request_message(slack, "data-platform", gate[APPROVED]) or {}).get("blocks"))
    assert COLUMNS[APPROVED] in outcome and REQUESTER in outcome  # the outcome still shows the diff and who asked
    assert texts[EXPIRED].startswith("Expired")
