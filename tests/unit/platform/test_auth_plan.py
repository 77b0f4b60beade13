"""What `make run` sets up around Airflow: its users (admin, audit service, team members) and the Slack connection."""

from __future__ import annotations

import pytest

from scrollintel.config import load_governance
from scrollintel.platform import launcher

pytestmark = pytest.mark.unit

KEYS = {"admin_password": "a", "audit_api_password": "b", "team_password": "t"}


def test_every_team_member_gets_an_airflow_user_who_may_answer_a_gate() -> None:
    members = {member.id for team in load_governance().teams.teams for member in team.members}

    users = {user["username"]: user for user in launcher.auth_plan(KEYS)["users"]}  # type: ignore[attr-defined]

    assert members <= set(users)
    assert {users[name]["role"] for name in members} == {"User"}
    assert {users[name]["password"] for name in members} == {"t"}
    assert users[launcher.ADMIN_USER]["role"] == "Admin"


def test_the_slack_connection_and_the_demo_workspace_share_the_token_and_signing_secret() -> None:
    import json

    env = launcher.slack_env("http://127.0.0.1:8080", {"slack_bot_token": "xoxb-t", "slack_signing_secret": "s3"}, 8766)

    connection = json.loads(env["AIRFLOW_CONN_SLACK_API_DEFAULT"])
    assert connection["password"] == env["SCROLLINTEL_SLACK_BOT_TOKEN"] == "xoxb-t"
    assert connection["extra"] == {"base_url": "http://127.0.0.1:8766/api/", "signing_secret": "s3"}
    assert env["SCROLLINTEL_SLACK_SIGNING_SECRET"] == "s3"
    assert env["SCROLLINTEL_SLACK_INTERACTIVITY_URL"] == "http://127.0.0.1:8080/scrollintel/slack/interactivity"
