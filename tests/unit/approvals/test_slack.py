"""Slack side of approvals without a network: signatures, payload parsing, button values, Block Kit, user mapping."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from scrollintel.approvals.slack import (
    APPROVE_ACTION,
    REJECT_ACTION,
    ApprovalMessage,
    InvalidInteraction,
    RequestIdentity,
    SlackAnswer,
    column_diff_table,
    outcome_blocks,
    parse_interactivity,
    reminder_blocks,
    request_blocks,
    sign,
    task_url,
    verify_signature,
)

pytestmark = pytest.mark.unit

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_800_000_000
IDENTITY = RequestIdentity("ingest_shop", "manual__2026-11-01T09:00:00+00:00", "approve_schema", -1)


def payload(**changes: Any) -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a press of Approve."""
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U01DPLEAD", "username": "dp-lead", "team_id": "T0DEMO"},
        "container": {"type": "message", "message_ts": "1800000000.000100", "channel_id": "C123"},
        "channel": {"id": "C123", "name": "data-platform"},
        "response_url": "https://hooks.slack.com/actions/T0/1/abc",
        "actions": [{"type": "button", "action_id": APPROVE_ACTION, "value": IDENTITY.to_value()}],
    }
    body.update(changes)
    return body


def form(body: Any) -> bytes:
    return urlencode({"payload": json.dumps(body)}).encode()


# -- signatures ----------------------------------------------------------------------------------


def test_a_body_signed_with_the_secret_verifies() -> None:
    body = form(payload())
    headers = sign(SECRET, body, NOW)
    assert verify_signature(SECRET, body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"], now=NOW)


def test_slacks_documented_example_verifies() -> None:
    """The example of Slack's "Verifying requests from Slack" page."""
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert verify_signature(SECRET, body, "1531420618", signature, now=1531420618 + 10)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body_suffix", "now"),
    [
        pytest.param(None, "good", b"", NOW, id="no timestamp"),
        pytest.param(str(NOW), None, b"", NOW, id="no signature"),
        pytest.param(str(NOW), "good", b"&x=1", NOW, id="body changed after signing"),
        pytest.param(str(NOW), "v1", b"", NOW, id="version prefix v1="),
        pytest.param(str(NOW), "upper", b"", NOW, id="hex in upper case"),
        pytest.param(str(NOW), "good", b"", NOW + 301, id="replayed after 301 s"),
        pytest.param(str(NOW), "good", b"", NOW - 301, id="301 s in the future"),
        pytest.param("not-a-number", "good", b"", NOW, id="non-integer timestamp"),
        pytest.param("9" * 400, "good", b"", NOW, id="huge timestamp"),
        pytest.param(" 1800000000", "good", b"", NOW, id="padded timestamp"),
        pytest.param("\uff11" + "\uff10" * 9, "good", b"", NOW, id="full-width digits"),
        pytest.param(str(NOW), "v0=é" + "0" * 63, b"", NOW, id="non-ASCII signature"),
        pytest.param(str(NOW), "v0=" + "0" * 5000, b"", NOW, id="huge signature"),
        pytest.param(str(NOW), "", b"", NOW, id="empty signature"),
    ],
)
def test_anything_else_is_refused_without_raising(
    timestamp: str | None, signature: str | None, body_suffix: bytes, now: int
) -> None:
    body = form(payload())
    good = sign(SECRET, body, NOW)["X-Slack-Signature"]
    given = {"good": good, "v1": "v1=" + good[3:], "upper": "v0=" + good[3:].upper()}.get(signature or "", signature)
    assert verify_signature(SECRET, body + body_suffix, timestamp, given, now=now) is False


def test_the_window_is_300_seconds_both_ways() -> None:
    body = form(payload())
    signature = sign(SECRET, body, NOW)["X-Slack-Signature"]
    assert verify_signature(SECRET, body, str(NOW), signature, now=NOW + 300)
    assert verify_signature(SECRET, body, str(NOW), signature, now=NOW - 300)


def test_another_secret_does_not_verify_and_no_secret_refuses() -> None:
    body = form(payload())
    headers = sign(SECRET, body, NOW)
    stamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert not verify_signature("another-secret", body, stamp, signature, now=NOW)
    assert not verify_signature("", body, stamp, signature, now=NOW)


def test_the_real_clock_is_used_by_default() -> None:
    body = form(payload())
    headers = sign(SECRET, body)
    assert verify_signature(SECRET, body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    old = sign(SECRET, body, int(time.time()) - 400)
    assert not verify_signature(SECRET, body, old["X-Slack-Request-Timestamp"], old["X-Slack-Signature"])


# -- payloads -------------------------------------------------------------------------------------


def test_a_press_of_approve_is_parsed() -> None:
    answer = parse_interactivity(form(payload()))
    assert answer == SlackAnswer(
        slack_user_id="U01DPLEAD",
        choice="Approve",
        dag_id=IDENTITY.dag_id,
        run_id=IDENTITY.run_id,
        task_id=IDENTITY.task_id,
        map_index=-1,
        response_url="https://hooks.slack.com/actions/T0/1/abc",
        channel_id="C123",
        message_ts="1800000000.000100",
    )
    assert answer.identity == IDENTITY


def test_reject_and_optional_fields() -> None:
    body = payload(actions=[{"action_id": REJECT_ACTION, "value": IDENTITY.to_value()}])
    for key in ("response_url", "channel", "container"):
        body.pop(key)
    answer = parse_interactivity(form(body))
    assert (answer.choice, answer.response_url, answer.channel_id, answer.message_ts) == ("Reject", None, None, None)


MALFORMED: dict[str, bytes] = {
    "empty body": b"",
    "not a form": b"\xff\xfe",
    "JSON body": json.dumps(payload()).encode(),
    "two payloads": form(payload()) + b"&" + form(payload()),
    "payload not JSON": b"payload=%7Bnot-json",
    "payload a list": form([payload()]),
    "payload a string": form("block_actions"),
    "deeply nested": b"payload=" + b"%5B" * 100_000,
    "other type": form(payload(type="view_submission")),
    "no user": form(payload(user=None)),
    "user id a number": form(payload(user={"id": 7})),
    "empty user id": form(payload(user={"id": ""})),
    "no actions": form(payload(actions=[])),
    "actions an object": form(payload(actions={"action_id": APPROVE_ACTION})),
    "action a string": form(payload(actions=["approve"])),
    "another button": form(payload(actions=[{"action_id": "other", "value": IDENTITY.to_value()}])),
    "no value": form(payload(actions=[{"action_id": APPROVE_ACTION}])),
    "value not JSON": form(payload(actions=[{"action_id": APPROVE_ACTION, "value": "dag|run|task"}])),
    "value of 3 parts": form(payload(actions=[{"action_id": APPROVE_ACTION, "value": '["d","r","t"]'}])),
    "map_index a string": form(payload(actions=[{"action_id": APPROVE_ACTION, "value": '["d","r","t","0"]'}])),
    "map_index a bool": form(payload(actions=[{"action_id": APPROVE_ACTION, "value": '["d","r","t",true]'}])),
    "map_index below -1": form(payload(actions=[{"action_id": APPROVE_ACTION, "value": '["d","r","t",-2]'}])),
    "empty dag_id": form(payload(actions=[{"action_id": APPROVE_ACTION, "value": '["","r","t",-1]'}])),
    "response_url not http": form(payload(response_url="file:///etc/passwd")),
    "response_url a number": form(payload(response_url=5)),
    "channel a string": form(payload(channel="C123")),
    "message_ts a number": form(payload(container={"message_ts": 1.5})),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_anything_but_a_press_of_our_buttons_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidInteraction):
        parse_interactivity(body)


# -- button values and messages ---------------------------------------------------------------------


def test_button_value_round_trips_and_is_compact() -> None:
    mapped = RequestIdentity("d", 'r|with,odd"chars', "t", 3)
    assert RequestIdentity.from_value(mapped.to_value()) == mapped
    assert IDENTITY.to_value() == '["ingest_shop","manual__2026-11-01T09:00:00+00:00","approve_schema",-1]'
    longest = RequestIdentity("d" * 250, "r" * 250, "t" * 250, 2**31 - 1)
    assert len(longest.to_value()) <= 2000
    with pytest.raises(ValueError, match="2000"):
        RequestIdentity("d", "\u0001" * 400, "t").to_value()  # escaped as \\u0001: six characters each


def message(**changes: Any) -> ApprovalMessage:
    fields: dict[str, Any] = {
        "identity": IDENTITY,
        "subject": "schema_change",
        "summary": "shop.customers gained a column <loyalty_tier>",
        "requested_by": "dp-engineer",
        "deadline": datetime(2026, 11, 3, 9, tzinfo=UTC),
        "task_url": task_url("http://localhost:8080", IDENTITY),
        "approvals_url": "http://localhost:8080/scrollintel/approvals",
        "column_changes": [
            {"kind": "added", "column": "loyalty_tier", "old_type": None, "new_type": "text", "compatible": True},
            {"kind": "type_changed", "column": "zip", "old_type": "integer", "new_type": "text", "compatible": True},
        ],
    }
    fields.update(changes)
    return ApprovalMessage(**fields)


def test_a_request_has_the_content_the_links_and_two_buttons_carrying_the_identity() -> None:
    blocks = request_blocks(message())
    text = json.dumps(blocks)
    assert blocks[0]["type"] == "header"
    assert "&lt;loyalty_tier&gt;" in text  # escaped for mrkdwn
    assert "dp-engineer" in text
    assert "<!date^1793696400^" in text
    assert "http://localhost:8080/dags/ingest_shop/runs/manual__2026-11-01T09%3A00%3A00%2B00%3A00/tasks/" in text
    assert "/scrollintel/approvals|Approvals page>" in text
    actions = [block for block in blocks if block["type"] == "actions"]
    assert len(actions) == 1
    buttons = actions[0]["elements"]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [
        (APPROVE_ACTION, "Approve"),
        (REJECT_ACTION, "Reject"),
    ]
    assert {RequestIdentity.from_value(b["value"]) for b in buttons} == {IDENTITY}


def test_the_column_diff_is_a_table() -> None:
    table = column_diff_table(message().column_changes)
    lines = table.strip("`\n").splitlines()
    assert lines[0].split() == ["change", "column", "before", "after"]
    assert lines[1].split() == ["added", "loyalty_tier", "—", "text"]
    assert lines[2].split() == ["type", "zip", "integer", "text"]


@pytest.mark.parametrize("outcome", ["approved", "rejected", "expired"])
def test_an_outcome_keeps_the_content_and_drops_the_buttons(outcome: Any) -> None:
    blocks = outcome_blocks(
        message(), outcome, decided_by="dp-lead", decided_at=datetime(2026, 11, 2, tzinfo=UTC), comment="fine"
    )
    text = json.dumps(blocks)
    assert not [block for block in blocks if block["type"] == "actions"]
    assert "loyalty_tier" in text
    assert ("dp-lead" in text) is (outcome != "expired")
    assert ">fine" in text


def test_a_reminder_names_the_deadline() -> None:
    assert "<!date^1793696400^" in json.dumps(reminder_blocks(message()))


def test_a_mapped_task_links_to_its_index() -> None:
    assert task_url("http://a/", RequestIdentity("d", "r", "t", 2)) == "http://a/dags/d/runs/r/tasks/t/mapped/2"


# -- Slack users in teams.yaml --------------------------------------------------------------------------


def test_the_shipped_teams_map_slack_users_to_members() -> None:
    from scrollintel.config.loader import load_governance

    teams = load_governance().teams
    assert teams.member_for_slack_user("U01DPLEAD") == "dp-lead"
    assert teams.member_for_slack_user("U0OUTSIDER") is None


def test_a_slack_user_mapped_to_two_airflow_users_is_refused() -> None:
    from pydantic import ValidationError

    from scrollintel.config.teams import TeamsConfig

    owners = dict.fromkeys(
        ("ingestion", "transform", "quality", "ml", "lineage", "audit", "approvals", "cost", "compliance", "platform"),
        "a",
    )
    team = {"id": "a", "name": "A", "slack_channel": "#a"}
    members = [{"id": "x", "role": "lead", "slack_user": "U111"}, {"id": "y", "role": "lead", "slack_user": "U111"}]
    with pytest.raises(ValidationError, match="U111 is mapped to both 'x' and 'y'"):
        TeamsConfig.model_validate({"teams": [{**team, "members": members}], "owners": owners})
    with pytest.raises(ValidationError, match="not a Slack user id"):
        TeamsConfig.model_validate(
            {"teams": [{**team, "members": [{"id": "x", "role": "lead", "slack_user": "dp lead"}]}], "owners": owners}
        )
