"""The Slack path against the demo Slack workspace: slack-sdk's WebClient in, signed button presses out."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from scrollintel.approvals import slack
from scrollintel.approvals.decisions import NOT_MAPPED
from scrollintel.approvals.slack import (
    ApprovalMessage,
    RequestIdentity,
    SlackAnswer,
    SlackNotifier,
    outcome_blocks,
    respond,
)
from tests.integration.approvals.conftest import SECRET, TOKEN, Recorder

pytestmark = pytest.mark.integration

IDENTITY = RequestIdentity("ingest_shop", "manual__2026-11-01T09:00:00+00:00", "approve_schema", -1)
MESSAGE = ApprovalMessage(
    identity=IDENTITY,
    subject="schema_change",
    summary="shop.customers gained the column loyalty_tier",
    requested_by="dp-engineer",
    deadline=datetime(2026, 11, 3, 9, tzinfo=UTC),
    task_url="http://127.0.0.1:8080/dags/ingest_shop",
    approvals_url="http://127.0.0.1:8080/scrollintel/approvals",
    column_changes=[{"kind": "added", "column": "loyalty_tier", "old_type": None, "new_type": "text"}],
)


def client(workspace: str, token: str = TOKEN) -> WebClient:
    return WebClient(token=token, base_url=f"{workspace}/api/")


def history(workspace: str, channel: str) -> list[dict[str, Any]]:
    return list(client(workspace).conversations_history(channel=channel)["messages"])


def test_the_notifier_posts_updates_and_reminds_through_webclient(workspace: str) -> None:
    notifier = SlackNotifier(client(workspace))

    posted = notifier.post_request("#data-platform", MESSAGE)

    assert posted.channel.startswith("C")
    [message] = history(workspace, posted.channel)
    assert message["ts"] == posted.ts
    assert [b["type"] for b in message["blocks"]][-1] == "actions"

    notifier.post_outcome(posted, MESSAGE, "approved", decided_by="dp-lead", comment="ok")
    [message] = history(workspace, posted.channel)
    assert "actions" not in [b["type"] for b in message["blocks"]]
    assert "dp-lead" in json.dumps(message["blocks"])
    assert message["text"].startswith("Approved by dp-lead")

    reminder = notifier.post_reminder(posted, MESSAGE)
    newest = history(workspace, posted.channel)[0]
    assert (newest["ts"], newest["thread_ts"]) == (reminder.ts, posted.ts)
    notifier.tell(posted.channel, "U01DPLEAD", "only for you")


@pytest.mark.parametrize(
    ("token", "error"), [("xoxb-wrong", "invalid_auth"), ("", "not_authed")], ids=["wrong token", "no token"]
)
def test_a_wrong_token_is_refused_as_slack_refuses_it(workspace: str, token: str, error: str) -> None:
    with pytest.raises(SlackApiError) as raised:
        client(workspace, token).chat_postMessage(channel="#data-platform", text="hi")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == error


def test_unknown_channel_and_message_are_slack_errors(workspace: str) -> None:
    web = client(workspace)
    with pytest.raises(SlackApiError, match="channel_not_found"):
        web.chat_postMessage(channel="#nowhere", text="hi")
    with pytest.raises(SlackApiError, match="message_not_found"):
        web.chat_update(channel="#data-platform", ts="1.000001", text="hi")
    assert web.auth_test()["user_id"] == "U0SCROLLBOT"
    assert web.users_info(user="U01DPLEAD")["user"]["name"] == "dp-lead"


def test_the_slack_connection_gives_the_client_and_the_signing_secret(
    workspace: str, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    extra = {"base_url": f"{workspace}/api/", "signing_secret": SECRET}
    conn = json.dumps({"conn_type": "slack", "password": TOKEN, "extra": extra})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", conn)
    monkeypatch.setattr(slack, "_secret_cache", {})

    assert SlackNotifier().client.auth_test()["ok"]
    assert slack.signing_secret() == SECRET


def _press(workspace: str, posted: Any, user: str, action_id: str) -> httpx.Response:
    return httpx.post(
        f"{workspace}/demo/press",
        data={
            "user": user,
            "channel": posted.channel,
            "ts": posted.ts,
            "action_id": action_id,
            "value": IDENTITY.to_value(),
        },
        timeout=10,
    )


def test_a_press_on_the_page_reaches_the_handler_and_the_answer_replaces_the_message(
    workspace: str, recorder: Recorder
) -> None:
    posted = SlackNotifier(client(workspace)).post_request("#data-platform", MESSAGE)

    def decide(answer: SlackAnswer) -> None:
        assert answer.response_url is not None
        blocks = outcome_blocks(MESSAGE, "approved", decided_by="dp-lead")
        respond(answer.response_url, "Approved by dp-lead", ephemeral=False, blocks=blocks)

    recorder.then = decide

    response = _press(workspace, posted, "U01DPLEAD", slack.APPROVE_ACTION)

    assert response.status_code == 303
    [answer] = recorder.wait_for(1)
    assert answer == SlackAnswer(
        slack_user_id="U01DPLEAD",
        choice="Approve",
        dag_id=IDENTITY.dag_id,
        run_id=IDENTITY.run_id,
        task_id=IDENTITY.task_id,
        map_index=-1,
        response_url=answer.response_url,
        channel_id=posted.channel,
        message_ts=posted.ts,
    )
    state = httpx.get(f"{workspace}/demo/messages").json()
    [press] = state["presses"]
    assert press["status"] == 200
    assert press["seconds"] < 3
    for _ in range(100):
        [message] = history(workspace, posted.channel)
        if message["text"] == "Approved by dp-lead":
            break
        httpx.get(f"{workspace}/health")
    assert message["text"] == "Approved by dp-lead"
    assert "actions" not in [b["type"] for b in message["blocks"]]
    page = httpx.get(f"{workspace}/?as=U01DPLEAD").text
    assert "Approved" in page


def test_a_slack_user_not_mapped_to_an_airflow_user_is_told_and_nothing_changes(
    workspace: str, recorder: Recorder, web_app: Any
) -> None:
    from scrollintel.web.routes.slack import answer_handler

    web_app.dependency_overrides.pop(answer_handler)  # the platform's handler: scrollintel.approvals.decisions
    posted = SlackNotifier(client(workspace)).post_request("#data-platform", MESSAGE)

    assert _press(workspace, posted, "U0OUTSIDER", slack.REJECT_ACTION).status_code == 303

    for _ in range(200):
        messages = httpx.get(f"{workspace}/demo/messages").json()["channels"]["data-platform"]
        if any(m["ephemeral"] for m in messages):
            break
    [note] = [m for m in messages if m["ephemeral"]]
    assert note["text"] == NOT_MAPPED.format(slack_user="U0OUTSIDER")
    assert note["user"] == "U0OUTSIDER"
    assert recorder.answers == []


def test_the_page_lists_messages_with_their_buttons_and_the_demo_users(workspace: str) -> None:
    SlackNotifier(client(workspace)).post_request("#data-platform", MESSAGE)

    page = httpx.get(f"{workspace}/?as=U01DPLEAD").text

    assert "loyalty_tier" in page
    assert page.count('action="/demo/press"') == 2
    assert "dp-lead (U01DPLEAD) → Airflow user dp-lead" in page
    assert "U0OUTSIDER" in page


def test_a_slow_slack_takes_the_message_at_once_and_answers_late(workspace: str) -> None:
    latency = f"{workspace}/demo/latency"
    assert httpx.post(latency, json={"method": "chat.nothing", "seconds": 1}).status_code == 400
    assert httpx.post(latency, json={"method": "chat.postMessage", "seconds": 99}).status_code == 400
    assert httpx.post(latency, content=b"{").status_code == 400
    set_to = httpx.post(f"{workspace}/demo/latency", json={"method": "chat.postMessage", "seconds": 1.5})
    assert set_to.json() == {"latency": {"chat.postMessage": 1.5}}
    seen_while_waiting: list[int] = []

    def watch() -> None:
        time.sleep(0.7)
        seen_while_waiting.append(len(history(workspace, "#ml-models")))

    watcher = threading.Thread(target=watch)
    before = len(history(workspace, "#ml-models"))
    started = time.monotonic()
    watcher.start()
    try:
        client(workspace).chat_postMessage(channel="#ml-models", text="slow")
    finally:
        httpx.post(f"{workspace}/demo/latency", json={"method": "chat.postMessage", "seconds": 0})
    watcher.join()
    assert time.monotonic() - started >= 1.5
    assert seen_while_waiting == [before + 1]  # visible (and pressable) before the sender hears back
    started = time.monotonic()
    client(workspace).chat_postMessage(channel="#ml-models", text="fast again")
    assert time.monotonic() - started < 1.0
