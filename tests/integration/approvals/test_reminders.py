"""Reminders before a request expires: due ones posted once in their Slack threads, from the ledger's record.

A real migrated warehouse holds the ledger; the requests are the entries an approval gate writes;
the reminders go through slack-sdk to the demo Slack workspace.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from slack_sdk import WebClient

from scrollintel import audit, db, migrate
from scrollintel.approvals import reminders
from scrollintel.approvals.slack import ApprovalMessage, RequestIdentity, SlackNotifier
from scrollintel.audit import settings as audit_settings
from scrollintel.audit import storage
from tests.integration.approvals.conftest import SECRET, TOKEN, free_port, serve

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def ledger(pg_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated warehouse whose ledger ``audit.record`` writes to."""
    url = str(pg_server.create_database(f"remind_{secrets.token_hex(3)}"))
    migrate.upgrade(url)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    audit_settings.configure(database_url=url)
    yield url
    audit_settings.configure(database_url=None)
    storage.dispose_engines()


@pytest.fixture
def slack_client() -> Iterator[tuple[str, WebClient]]:
    from scrollintel.demo.slack_workspace import create_slack_workspace

    port = free_port()
    app = create_slack_workspace(
        bot_token=TOKEN,
        signing_secret=SECRET,
        interactivity_url="http://127.0.0.1:9/unused",
        public_url=f"http://127.0.0.1:{port}",
    )
    with serve(app, port) as url:
        yield url, WebClient(token=TOKEN, base_url=f"{url}/api/")


def _request(client: WebClient, task_id: str, *, timeout: timedelta, answered: str | None = None) -> None:
    """What a gate writes: the request, where it was posted, and (maybe) its outcome."""
    identity = RequestIdentity("ingest_shop", "manual__1", task_id, -1)
    deadline = NOW + timedelta(minutes=30) if timeout > timedelta(hours=1) else NOW + timeout
    message = ApprovalMessage(
        identity=identity,
        subject="schema_change",
        summary=f"{task_id}: columns changed",
        requested_by="dp-engineer",
        deadline=deadline,
        task_url="http://airflow/task",
        approvals_url="http://airflow/scrollintel/approvals",
    )
    posted = SlackNotifier(client).post_request("#data-platform", message)
    key = {"dag_id": "ingest_shop", "run_id": "manual__1", "task_id": task_id, "map_index": -1, "try_number": 1}
    common = {**key, "subject": "schema_change"}
    requested = {**common, "summary": message.summary, "requester": "dp-engineer", "deadline": deadline.isoformat()}
    audit.record("approval.requested", "approval:schema_change", requested, at=deadline - timeout)
    audit.record("approval.notified", "approval:schema_change", {**common, "messages": [[posted.channel, posted.ts]]})
    if answered:
        audit.record(f"approval.{answered}", "approval:schema_change", common)


def _thread_replies(url: str) -> list[dict[str, Any]]:
    messages = httpx.get(f"{url}/demo/messages").json()["channels"]["data-platform"]
    return [m for m in messages if m.get("thread_ts")]


def test_a_due_request_is_reminded_once_in_its_thread_and_the_ledger_says_so(
    ledger: str, slack_client: tuple[str, WebClient]
) -> None:
    url, client = slack_client
    _request(client, "customers_schema_change", timeout=timedelta(days=1))  # 30 minutes left of a day: due
    _request(client, "orders_schema_change", timeout=timedelta(hours=1), answered="granted")  # answered
    _request(client, "products_schema_change", timeout=timedelta(days=2) + timedelta(hours=20))  # 30 min of ~3 days
    notifier = SlackNotifier(client)

    assert reminders.send_reminders(ledger, notifier=notifier, now=NOW) == 2
    assert reminders.send_reminders(ledger, notifier=notifier, now=NOW) == 0  # once

    replies = _thread_replies(url)
    assert len(replies) == 2 and all("Still waiting for an answer" in m["blocks"][0]["text"]["text"] for m in replies)
    with psycopg.connect(ledger.replace(db.DRIVER, "postgresql")) as conn:
        reminded = conn.execute(
            "SELECT details::jsonb ->> 'task_id' FROM governance.audit_entry WHERE action = 'approval.reminded' "
            "ORDER BY 1"
        ).fetchall()
    assert reminded == [("customers_schema_change",), ("products_schema_change",)]


def test_a_request_with_plenty_of_time_left_is_not_reminded_yet(
    ledger: str, slack_client: tuple[str, WebClient]
) -> None:
    url, client = slack_client
    _request(client, "customers_schema_change", timeout=timedelta(days=1))

    # 30 minutes left at NOW: at NOW - 6 h there were 6.5 hours left (more than a quarter of a day)
    assert reminders.send_reminders(ledger, notifier=SlackNotifier(client), now=NOW - timedelta(hours=6)) == 0
    assert _thread_replies(url) == []
    # past the deadline the scheduler expires it: no reminder either
    assert reminders.send_reminders(ledger, notifier=SlackNotifier(client), now=NOW + timedelta(hours=1)) == 0
