"""What `make run` sets up around Airflow: its users (admin, audit service, team members) and the Slack connection."""

from __future__ import annotations

import pytest

from scrollintel.config import load_governance
from scrollintel.platform import launcher

pytestmark = pytest.mark.unit

KEYS = {"admin_password": "a", "audit_api_password": "b", "cost_api_password": "c", "team_password": "t"}


def test_every_team_member_gets_an_airflow_user_who_may_answer_a_gate() -> None:
    members = {member.id for team in load_governance().teams.teams for member in team.members}

    users = {user["username"]: user for user in launcher.auth_plan(KEYS)["users"]}  # type: ignore[attr-defined]

    assert members <= set(users)
    assert {users[name]["role"] for name in members} == {"User"}
    assert {users[name]["password"] for name in members} == {"t"}
    assert users[launcher.ADMIN_USER]["role"] == "Admin"


def test_each_service_user_has_a_role_of_its_own_reading_only_what_it_needs() -> None:
    plan = launcher.auth_plan(KEYS)
    users = {user["username"]: user for user in plan["users"]}  # type: ignore[attr-defined]
    roles = {name: {tuple(p) for p in permissions} for name, permissions in plan["roles"].items()}  # type: ignore[attr-defined]

    assert users[launcher.AUDIT_SERVICE_USER]["role"] == launcher.AUDIT_READER_ROLE
    assert users[launcher.COST_SERVICE_USER]["role"] == launcher.COST_READER_ROLE
    assert ("can_read", "Audit Logs") in roles[launcher.AUDIT_READER_ROLE]
    assert not roles[launcher.AUDIT_READER_ROLE] & {("can_read", "DAG Runs"), ("can_read", "Task Instances")}
    assert roles[launcher.COST_READER_ROLE] == {
        ("can_read", "DAGs"),
        ("can_read", "DAG Runs"),
        ("can_read", "Task Instances"),
    }
    assert all(action == "can_read" for permissions in roles.values() for action, _ in permissions)


def test_a_service_role_that_lacks_or_exceeds_its_permissions_is_set_again_by_up() -> None:
    exact = [(role, *permission) for role, permissions in launcher.SERVICE_ROLES.items() for permission in permissions]

    assert launcher.service_roles_in_place(exact)
    # a platform made before the cost user existed: its audit role also read task instances
    older = [row for row in exact if row[0] != launcher.COST_READER_ROLE]
    assert not launcher.service_roles_in_place([*older, (launcher.AUDIT_READER_ROLE, "can_read", "Task Instances")])
    assert not launcher.service_roles_in_place(older)
    assert not launcher.service_roles_in_place([*exact, (launcher.COST_READER_ROLE, "can_edit", "DAGs")])


def test_the_audit_and_cost_readers_each_get_their_own_connection() -> None:
    import json

    env = launcher.airflow_api_env(8080, KEYS)

    audit = json.loads(env["AIRFLOW_CONN_AIRFLOW_API"])
    cost = json.loads(env["AIRFLOW_CONN_AIRFLOW_COST_API"])
    assert (audit["login"], audit["password"]) == (launcher.AUDIT_SERVICE_USER, "b")
    assert (cost["login"], cost["password"]) == (launcher.COST_SERVICE_USER, "c")
    assert audit["port"] == cost["port"] == 8080
    assert env["SCROLLINTEL_AIRFLOW_COST_API_USER"] == launcher.COST_SERVICE_USER


def test_the_slack_connection_and_the_demo_workspace_share_the_token_and_signing_secret() -> None:
    import json

    env = launcher.slack_env("http://127.0.0.1:8080", {"slack_bot_token": "xoxb-t", "slack_signing_secret": "s3"}, 8766)

    connection = json.loads(env["AIRFLOW_CONN_SLACK_API_DEFAULT"])
    assert connection["password"] == env["SCROLLINTEL_SLACK_BOT_TOKEN"] == "xoxb-t"
    assert connection["extra"] == {"base_url": "http://127.0.0.1:8766/api/", "signing_secret": "s3"}
    assert env["SCROLLINTEL_SLACK_SIGNING_SECRET"] == "s3"
    assert env["SCROLLINTEL_SLACK_INTERACTIVITY_URL"] == "http://127.0.0.1:8080/scrollintel/slack/interactivity"
