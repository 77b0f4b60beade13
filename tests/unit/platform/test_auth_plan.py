"""The Airflow users `make run` ensures: the admin, the audit service user and every team member."""

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
