"""The demo Slack workspace as an approver uses it in the e2e tests: read a channel, press a button.

Shared by the modules that answer approval gates (schema changes, model promotion).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from scrollintel.platform import launcher

#: Slack user ids of the members who press buttons (governance/teams.yaml).
SLACK_USERS = {
    "dp-engineer": "U01DPENG",
    "dp-lead": "U01DPLEAD",
    "an-lead": "U02ANLEAD",
    "ml-lead": "U03MLLEAD",
}
APPROVE, REJECT = "scrollintel_approve", "scrollintel_reject"


def slack_url() -> str:
    """The running platform's demo Slack workspace."""
    return f"http://{launcher.HOST}:{launcher.platform_ports(launcher.layout())['slack']}"


def wait(what: str, check: Callable[[], Any], timeout: float = 300.0, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` and the last answer."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def messages(slack: str) -> dict[str, list[dict[str, Any]]]:
    """Every channel's messages, by channel name."""
    return httpx.get(f"{slack}/demo/messages", timeout=10).json()["channels"]  # type: ignore[no-any-return]


def request_message(slack: str, channel: str, task_id: str) -> dict[str, Any] | None:
    """The (non-ephemeral) request of the gate ``task_id`` in ``channel``, if posted."""
    for message in messages(slack).get(channel, []):
        if not message["ephemeral"] and task_id in json.dumps(message["blocks"]):
            return message
    return None


def press(slack: str, message: dict[str, Any], user: str, action: str) -> None:
    """``user`` presses the button ``action`` of ``message``, as Slack would post the interaction."""
    button = next(
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action
    )
    form = {
        "channel": message["channel"],
        "ts": message["ts"],
        "user": SLACK_USERS[user],
        "action_id": action,
        "value": button["value"],
    }
    assert httpx.post(f"{slack}/demo/press", data=form, timeout=30).status_code == 303
